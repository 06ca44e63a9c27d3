"""The long fuzzing run: the JSON API from its OpenAPI document and /qbwc from generated envelopes.

Against a real `serve` process on SQLite and on a throwaway PostgreSQL. The suite runs a small
slice of the same checks (tests/integration/test_fuzzing.py); this run prints how many requests
each made and how long it took, and stops at the first broken promise with its reproduction.
Run: .venv/bin/python bench/fuzz_api.py [--per-route 200] [--soap 2000]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from tests.support.fuzzing import fuzz_api, fuzz_soap  # noqa: E402
from tests.support.live_server import ServerProcess  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402


def run(label: str, database_url: str, tmp: Path, per_route: int, soap: int) -> None:
    store = Store(database_url)
    upgrade(store)
    with store.begin() as db:
        account = create_account(db, "Fuzz Co", "desktop")
    store.dispose()
    env = {"QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_SECRET_KEY": "f" * 40,
           "QBWC_BRIDGE_DATA_DIR": str(tmp), "QBWC_BRIDGE_LOG_LEVEL": "WARNING"}
    with ServerProcess(env=env) as server:
        started = time.perf_counter()
        api_requests = fuzz_api(server.url, account.api_token, per_route)
        api_seconds = time.perf_counter() - started
        started = time.perf_counter()
        soap_requests = fuzz_soap(server.url + "/qbwc", soap)
        soap_seconds = time.perf_counter() - started
    print(f"{label:<12} API: {api_requests} requests in {api_seconds:.1f} s, 0 failures   "
          f"SOAP: {soap_requests} bodies in {soap_seconds:.1f} s, 0 failures")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-route", type=int, default=200, help="generated cases per API route (each sent twice)")
    parser.add_argument("--soap", type=int, default=2000, help="generated SOAP bodies")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run("SQLite", f"sqlite:///{tmp}/fuzz.sqlite3", Path(tmp), args.per_route, args.soap)
        with ThrowawayPostgres(find_pg_bin_dir()) as cluster:
            server = PostgresServer(cluster.base_url)
            run("PostgreSQL", server.create_database("fuzz"), Path(tmp), args.per_route, args.soap)
            server.dispose()


if __name__ == "__main__":
    main()
