"""The database away for a moment (down, restarting, read-only): clean 503s, and recovery by itself.

Found by bench/drill_faults.py: with PostgreSQL stopped, every Web Connector call was
spyne's ``500 soap:Server "Internal Error"``, the API a 500 ``internal`` and /healthz an
HTML 500 page; with the database read-only for a moment, the pooled connections stayed
read-only after it was writable again, so authenticate failed until the processes restarted.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time

import pytest
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from qbwc_bridge.config import Settings
from qbwc_bridge.retention import Pruner
from qbwc_bridge.store.db import PING_AFTER_IDLE_SECONDS, Store
from qbwc_bridge.store.migrate import upgrade
from qbwc_bridge.web.app import create_app
from qbwc_bridge.webhooks.deliverer import Deliverer
from qbwc_bridge.webhooks.sealed_secret import SecretBox
from qbwc_bridge.worker import Worker
from tests.integration.conftest import make_tenant
from tests.integration.soap_helpers import SOAP_NS, envelope, post
from tests.support.live_server import LiveServer
from tests.support.network import free_loopback_port

pytestmark = pytest.mark.timeout(120)


def _settings(database_url: str, tmp_path) -> Settings:
    return Settings.from_env({"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(tmp_path),
                              "QBWC_BRIDGE_SECRET_KEY": "u" * 40, "QBWC_BRIDGE_PUBLIC_URL": "http://localhost:8080"})


def _authenticate(url: str, username: str, password: str) -> requests.Response:
    return post(url + "/qbwc", "authenticate", envelope("authenticate", strUserName=username, strPassword=password))


def _assert_unavailable_fault(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    assert "Server.Unavailable</faultcode>" in response.text, response.text
    assert "unavailable for a moment" in response.text and "Traceback" not in response.text


def test_a_database_that_does_not_answer_gets_503s_not_500s(tmp_path):
    nowhere = f"postgresql+psycopg://bridge@127.0.0.1:{free_loopback_port()}/bridge?connect_timeout=2"
    settings = _settings(nowhere, tmp_path)
    store = Store.from_settings(settings)
    try:
        with LiveServer(create_app(settings, store)) as server:
            _assert_unavailable_fault(_authenticate(server.url, "bt-anyone", "secret"))
            health = requests.get(server.url + "/healthz", timeout=10)
            assert (health.status_code, health.json()["status"]) == (503, "unavailable")
            api = requests.post(server.url + "/api/v1/orders/o-1/packed", data="{}", timeout=10,
                                headers={"Authorization": "Bearer " + "t" * 43, "Content-Type": "application/json"})
            assert api.status_code == 503 and api.json()["error"]["code"] == "unavailable", api.text
            assert api.headers["Retry-After"] == "30"
            admin = requests.post(server.url + "/admin/login", data={"email": "a@b.c", "password": "x"}, timeout=10)
            assert admin.status_code in (400, 503), admin.status_code  # the CSRF check may refuse first
    finally:
        store.dispose()


@contextlib.contextmanager
def _served_on_postgresql(postgres_url: str, tmp_path, tenant_name: str):
    """The bridge served on the test's PostgreSQL database with one tenant whose pool is warmed, and a
    connection to the server's maintenance database to act on it from outside: (server, tenant, admin, name)."""
    settings = _settings(postgres_url, tmp_path)
    store = Store.from_settings(settings)
    upgrade(store)
    tenant = make_tenant(store, tenant_name)
    admin = sa.create_engine(make_url(postgres_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with LiveServer(create_app(settings, store)) as server:
            assert _authenticate(server.url, tenant.username, tenant.password).status_code == 200  # pool warmed
            yield server, tenant, admin, make_url(postgres_url).database
    finally:
        admin.dispose()
        store.dispose()


def _drop_connections(admin, database: str) -> int:
    with admin.connect() as connection:
        return connection.exec_driver_sql(f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          f"WHERE datname = '{database}' AND pid <> pg_backend_pid()").scalar()


def test_a_database_read_only_for_a_moment_is_a_503_and_recovers_without_a_restart(postgres_url, tmp_path):
    with _served_on_postgresql(postgres_url, tmp_path, "Read Only Supply") as (server, tenant, admin, database):
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
        _drop_connections(admin, database)
        _assert_unavailable_fault(_authenticate(server.url, tenant.username, tenant.password))
        api = requests.post(f"{server.url}/api/v1/orders/o-1/packed", timeout=10, data=json.dumps({}),
                            headers={"Authorization": f"Bearer {tenant.account.api_token}",
                                     "Content-Type": "application/json"})
        assert api.status_code in (422, 503), api.text  # refused as invalid before a write, or 503
        with admin.connect() as connection:  # writable again; the server's connections are kept
            connection.exec_driver_sql(f'ALTER DATABASE "{database}" RESET default_transaction_read_only')
        # A pooled connection opened while the database was read-only stays so: its first write is one
        # more 503, and empties the pool. The call after that is served.
        first = _authenticate(server.url, tenant.username, tenant.password)
        assert first.status_code in (200, 503), first.text
        answer = first if first.status_code == 200 else _authenticate(server.url, tenant.username, tenant.password)
        assert answer.status_code == 200, answer.text
        assert f"{{{SOAP_NS}}}Fault" not in answer.text


def test_pooled_connections_lost_while_resting_are_replaced_before_use(postgres_url, tmp_path):
    """A database restarted (or its connections dropped) while the server rested: no call fails for it.
    Pooled connections are checked before use once they rested PING_AFTER_IDLE_SECONDS (store/db.py)."""
    with _served_on_postgresql(postgres_url, tmp_path, "Resting Supply") as (server, tenant, admin, database):
        assert _drop_connections(admin, database) >= 1
        time.sleep(PING_AFTER_IDLE_SECONDS + 0.2)
        for _ in range(3):
            answer = _authenticate(server.url, tenant.username, tenant.password)
            assert answer.status_code == 200, answer.text


def _nowhere(tmp_path) -> tuple[Settings, Store]:
    settings = _settings(f"postgresql+psycopg://bridge@127.0.0.1:{free_loopback_port()}/bridge?connect_timeout=2",
                         tmp_path)
    return settings, Store.from_settings(settings)


def _one_plain_line(caplog, expected: str) -> None:
    """What was logged while the database was away: a warning saying so, and no traceback anywhere (it
    is not our bug, and a restart of PostgreSQL would fill the log with them)."""
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert not [record for record in warnings if record.exc_info], [record.getMessage() for record in warnings]
    assert [record.getMessage() for record in warnings if expected in record.getMessage()], \
        [record.getMessage() for record in warnings]
    assert all("the database is unavailable" in record.getMessage() for record in warnings), \
        [record.getMessage() for record in warnings]


def test_a_web_connector_call_with_the_database_away_logs_one_line_not_a_traceback(tmp_path, caplog):
    settings, store = _nowhere(tmp_path)
    try:
        with LiveServer(create_app(settings, store)) as server:
            caplog.set_level(logging.WARNING)
            _assert_unavailable_fault(_authenticate(server.url, "bt-anyone", "secret"))
    finally:
        store.dispose()
    _one_plain_line(caplog, "authenticate: answered 503")


def _logged_once(caplog) -> None:
    """Wait until a background loop has failed once and said so (it then sleeps its long poll interval)."""
    deadline = time.monotonic() + 20
    while not [record for record in caplog.records if record.levelno >= logging.WARNING]:
        assert time.monotonic() < deadline, "the loop logged nothing"
        time.sleep(0.02)


def _one_round(run_forever, caplog) -> None:
    stop = threading.Event()
    thread = threading.Thread(target=run_forever, args=(stop,))
    thread.start()
    try:
        _logged_once(caplog)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_background_loops_with_the_database_away_log_one_line_each_not_a_traceback(tmp_path, caplog):
    settings, store = _nowhere(tmp_path)
    caplog.set_level(logging.WARNING)
    try:
        def due(db, now):
            return db.execute(sa.text("SELECT 1")).all() and []  # the database asked, as the real one asks it

        _one_round(Worker(store, due=due, drive=lambda *args: None, poll_seconds=60).run_forever, caplog)
        _one_plain_line(caplog, "the worker could not look for due work")
        caplog.clear()
        _one_round(Deliverer(store, SecretBox(settings.secret_key), poll_seconds=60).run_forever, caplog)
        _one_plain_line(caplog, "the webhook deliverer could not look for due events")
        caplog.clear()
        pruner = Pruner(store, dt.timedelta(days=30), interval_seconds=60)
        pruner.start()
        try:
            _logged_once(caplog)
        finally:
            pruner.stop()
        _one_plain_line(caplog, "pruning old exchange-log entries and sessions failed")
    finally:
        store.dispose()
