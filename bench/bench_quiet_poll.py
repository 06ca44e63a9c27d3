"""A quiet Web Connector poll (authenticate → "none"), in process: qbwc-bridge vs a bare spyne service.

bench_soap_sessions.py measures over HTTP, where polls come in a tight loop: each is within 5 s
of the last, so the contact time and its log entry are not written again. A real Web Connector
polls every few minutes, and each of its polls writes both. This bench calls the WSGI apps
directly (no HTTP, no other process), on SQLite and on a throwaway PostgreSQL, and moves the
service's clock between calls:
- tight loop: the clock stands still (what bench_soap_sessions.py measures);
- real polls: the clock moves 6 s per call, past the 5 s precision of the contact time, so
  every poll writes it and its log entry (the account's whole lists fall due after an hour,
  so the run stays well inside it).
Printed per call: milliseconds (best of the rounds), statements, and the ratio of the bare
service's time to ours (the rate ratio bench_soap_sessions.py prints, without HTTP).
Run: .venv/bin/python bench/bench_quiet_poll.py [--calls 150] [--rounds 3] [--no-postgres]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from bench.bare_spyne_server import app as bare_app  # noqa: E402
from bench.bench_soap_sessions import TNS, connected  # noqa: E402
from qbwc_bridge.backends.desktop.web_connector import CONTACT_PRECISION  # noqa: E402
from qbwc_bridge.config import Settings  # noqa: E402
from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import utcnow  # noqa: E402
from qbwc_bridge.web.app import create_app  # noqa: E402
from tests.integration.soap_helpers import envelope  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

POLL_STEP = CONTACT_PRECISION + dt.timedelta(seconds=1)


def authenticate_call(app, path: str, username: str, password: str):
    """A function posting one authenticate to ``app`` (a WSGI callable) and checking it answered "none"."""
    client = Client(app)
    body = envelope("authenticate", strUserName=username, strPassword=password)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{TNS}authenticate"'}

    def call() -> None:
        answer = client.post(path, data=body, headers=headers)
        assert answer.status_code == 200 and b">none<" in answer.data, answer.data[:400]

    return call


def best_ms(call, calls: int, rounds: int, before_each=None) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            if before_each:
                before_each()
            call()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1000


def measure_bridge(database_url: str, tmp: Path, calls: int, rounds: int) -> dict[str, tuple[float, int]]:
    settings = Settings.from_env({"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "b" * 40,
                                  "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_RUN_EVERY_MINUTES": "1440"})
    store = Store(database_url)
    try:
        upgrade(store)
        with store.begin() as db:
            account = create_account(db, "Quiet Co", "desktop")
            connected(db, account.account_id)
        app = create_app(settings, store)
        clock = {"now": utcnow()}
        app.web_connector.clock = lambda: clock["now"]
        call = authenticate_call(app, "/qbwc", account.wc_username, account.wc_password)
        for _ in range(20):  # the first contact plans in full; then warm up
            call()
        statements: list[str] = []
        event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

        def counted(before_each=None) -> int:
            statements.clear()
            if before_each:
                before_each()
            call()
            return len([s for s in statements if s.split(None, 1)[0].upper() not in ("BEGIN", "COMMIT")])

        def tick() -> None:
            clock["now"] += POLL_STEP

        results = {"tight loop": (best_ms(call, calls, rounds), counted())}
        results["real polls"] = (best_ms(call, calls, rounds, before_each=tick), counted(tick))
        return results
    finally:
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    if (args.calls * args.rounds + 1) * POLL_STEP >= dt.timedelta(hours=1):  # the real polls move it
        sys.exit("--calls x --rounds would move the clock past the hour after which whole lists fall due")
    logging.disable(logging.WARNING)
    bare = authenticate_call(bare_app, "/", "idle", "x")
    bare()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        tmp = Path(tmp)
        rows = [("SQLite", measure_bridge(f"sqlite:///{tmp}/quiet.sqlite3", tmp, args.calls, args.rounds))]
        if not args.no_postgres:
            pg = stack.enter_context(ThrowawayPostgres(find_pg_bin_dir()))
            server = PostgresServer(pg.base_url)
            stack.callback(server.dispose)
            rows.append(("PostgreSQL", measure_bridge(server.create_database("quiet"), tmp, args.calls, args.rounds)))
        bare_ms = best_ms(bare, args.calls, args.rounds)
    print(f"authenticate → none, in process (no HTTP), best of {args.rounds} rounds of {args.calls} calls")
    print(f"{'server':38} {'ms/call':>8} {'statements':>10} {'bare/ours':>10}")
    print(f"{'bare spyne (constants)':38} {bare_ms:8.3f} {'-':>10} {1:10.2f}x")
    for database, results in rows:
        for mode, (ms, statements) in results.items():
            print(f"{'qbwc-bridge on ' + database + ', ' + mode:38} {ms:8.3f} {statements:10d} {bare_ms / ms:10.2f}x")


if __name__ == "__main__":
    main()
