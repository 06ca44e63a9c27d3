"""The suite's PostgreSQL fixtures: a real server, fresh databases, cleanup on every exit."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

from support.postgres import EXTERNAL_URL_ENV, PostgresServer, ThrowawayPostgres, find_pg_bin_dir

TESTS_DIR = Path(__file__).resolve().parents[1]


def test_two_connections_see_committed_rows_only(postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as setup:
            setup.exec_driver_sql("CREATE TABLE ticket (id integer PRIMARY KEY, owner text NOT NULL)")
        with engine.connect() as writer, engine.connect() as reader:
            writer.exec_driver_sql("INSERT INTO ticket VALUES (1, 'acme')")
            assert reader.exec_driver_sql("SELECT count(*) FROM ticket").scalar_one() == 0
            writer.commit()
            assert reader.exec_driver_sql("SELECT owner FROM ticket").scalars().all() == ["acme"]
    finally:
        engine.dispose()


def test_each_database_starts_empty(postgres_server: PostgresServer):
    first, second = postgres_server.create_database("first"), postgres_server.create_database("second")
    assert first != second
    engines = [sa.create_engine(url) for url in (first, second)]
    try:
        with engines[0].begin() as connection:
            connection.exec_driver_sql("CREATE TABLE only_in_first (id integer)")
        assert sa.inspect(engines[0]).get_table_names() == ["only_in_first"]
        assert sa.inspect(engines[1]).get_table_names() == []
    finally:
        for engine in engines:
            engine.dispose()


def test_database_url_names_the_backend_of_its_param(database_url, request):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar_one() == 1
        assert engine.dialect.name == request.node.callspec.id
    finally:
        engine.dispose()


@pytest.fixture
def pg_bin_dir(postgres_server) -> Path:
    """Server tools for tests that start their own cluster (skipped with an external server)."""
    if os.environ.get(EXTERNAL_URL_ENV):
        pytest.skip(f"{EXTERNAL_URL_ENV} is set: the suite does not start servers")
    return find_pg_bin_dir()


def port_is_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_throwaway_server_stops_and_leaves_nothing_behind(pg_bin_dir):
    with ThrowawayPostgres(pg_bin_dir) as cluster:
        root = cluster.data_dir.parent
        engine = sa.create_engine(cluster.base_url + "postgres")
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW fsync").scalar_one() == "off"
        engine.dispose()
    assert not root.exists()
    assert not port_is_open(cluster.port)


def test_throwaway_server_is_cleaned_up_when_the_process_dies_of_an_error(pg_bin_dir):
    """The atexit guard: a crashed session must not leave a server or files behind."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from support.postgres import ThrowawayPostgres
        cluster = ThrowawayPostgres(Path({str(pg_bin_dir)!r}))
        cluster.start()
        print(cluster.data_dir.parent, cluster.port, flush=True)
        raise RuntimeError("the test session crashed")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(TESTS_DIR)},
    )
    assert "the test session crashed" in result.stderr
    root, port = result.stdout.split()
    assert not Path(root).exists()
    assert not port_is_open(int(port))
