"""Fixtures every test may use. Sub-folders add their own conftest.py."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qbwc_bridge.config import Settings, _find_shared_dir
from support.network import block_outbound_network
from support.postgres import PostgresServer, PostgresUnavailable, open_postgres_server


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared/ reference folder (Intuit's XSDs, WSDLs, recorded traffic)."""
    import os

    explicit = os.environ.get("QBWC_BRIDGE_SHARED_DIR")
    found = Path(explicit) if explicit else _find_shared_dir()
    if found is None or not found.is_dir():
        pytest.skip("shared/ reference folder not found: set QBWC_BRIDGE_SHARED_DIR")
    return found


@pytest.fixture(scope="session")
def qbxml_schema(shared_dir):
    from qbwc_bridge.backends.desktop.schema import load_qbxml_schema, schema_dir

    return load_qbxml_schema(schema_dir(shared_dir))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the PostgreSQL server ``postgres``, so ``-m`` can select it."""
    for item in items:
        if "postgres_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(autouse=True)
def no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests talk to loopback only; anything else fails the test (see support.network)."""
    block_outbound_network(monkeypatch)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (throwaway, or QBWC_BRIDGE_TEST_POSTGRES_URL).

    Skips when PostgreSQL is not installed, except under CI, which must test it.
    """
    try:
        with open_postgres_server() as server:
            yield server
    except PostgresUnavailable as missing:
        if os.environ.get("CI", "").lower() not in {"", "0", "false"}:
            pytest.fail(f"{missing} (CI must run the PostgreSQL tests)", pytrace=False)
        pytest.skip(str(missing))


@pytest.fixture
def postgres_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> str:
    """URL of a new, empty PostgreSQL database for this test alone."""
    return postgres_server.create_database(request.node.name)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database for this test; the test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'qbwc_bridge.sqlite3').as_posix()}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    """An empty data directory (QBWC_BRIDGE_DATA_DIR: secret key, SQLite file) for this test."""
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    return data_dir
