"""QuickBooks Online token refreshes: N worker processes on one company, every access token expiring.

The fake Intuit serves in this process (real HTTP on loopback); it rotates the refresh token
on every refresh and refuses (and counts) any reuse of a rotated one, as Intuit does after
its grace period. One company is connected, then N processes each ask for an access token
R times; before each round they meet at a barrier and ask "as of" a moment one hour later
than the round before, so every round all N find the token expiring at once and race to
refresh it. Counted: refreshes at Intuit (the ideal is R, one per round), refresh-token
reuses (must be 0), errors, and the wall time of a round (all N served).
Run: .venv/bin/python bench/bench_token_refresh.py [--processes 8] [--rounds 20] [--no-sqlite] [--no-postgres]
"""
from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge.backends.online.connection import access_token, finish_connect, start_connect  # noqa: E402
from qbwc_bridge.config import Settings  # noqa: E402
from qbwc_bridge.fake_qbo import FakeIntuit, serve  # noqa: E402
from qbwc_bridge.services.accounts import create_account  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account, utcnow  # noqa: E402
from tests.support.postgres import PostgresServer, ThrowawayPostgres, find_pg_bin_dir  # noqa: E402

REALM = "9130350000000001"
CLIENT_ID, CLIENT_SECRET = "bench-app", "bench-secret"


def _environ(database_url: str, data_dir: Path, intuit_url: str) -> dict[str, str]:
    return {
        "QBWC_BRIDGE_DATABASE_URL": database_url, "QBWC_BRIDGE_DATA_DIR": str(data_dir),
        "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
        "QBWC_BRIDGE_QBO_CLIENT_ID": CLIENT_ID, "QBWC_BRIDGE_QBO_CLIENT_SECRET": CLIENT_SECRET,
        "QBWC_BRIDGE_QBO_API_BASE": intuit_url, "QBWC_BRIDGE_QBO_AUTHORIZE_URL": intuit_url + "/connect/oauth2",
        "QBWC_BRIDGE_QBO_TOKEN_URL": intuit_url + "/oauth2/v1/tokens/bearer",
        "QBWC_BRIDGE_QBO_REVOKE_URL": intuit_url + "/v2/oauth2/tokens/revoke",
    }  # fmt: skip


def _connect(settings: Settings, store: Store) -> int:
    """One Online account connected to the fake's company, as the callback leaves it."""
    with store.begin() as db:
        account_id = create_account(db, "Bench Online", "online").account_id
        url = start_connect(db, settings, db.get(Account, account_id))
    parts = urlsplit(url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    back = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", data={**form, "realm": REALM,
                      "decision": "approve"}, timeout=30).headers["Location"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(back).query).items()}
    finish_connect(store, settings, code=query["code"], state=query["state"], realm_id=query["realmId"])
    return account_id


def _worker(environ: dict[str, str], account_id: int, rounds: int, start_iso: str, barrier, results) -> None:
    settings = Settings.from_env(environ)
    store = Store.from_settings(settings)
    start, errors, tokens = dt.datetime.fromisoformat(start_iso), 0, set()
    for round_number in range(rounds):
        barrier.wait(120)
        try:
            tokens.add(access_token(store, settings, account_id, now=start + dt.timedelta(hours=round_number)))
        except Exception:  # counted and reported: the figure to watch
            errors += 1
    store.dispose()
    results.put((errors, len(tokens)))


def measure(database_url: str, data_dir: Path, processes: int, rounds: int) -> dict:
    intuit = FakeIntuit()
    intuit.add_company(REALM, "Bench Company")
    with serve(intuit) as fake:
        environ = _environ(database_url, data_dir, fake.url)
        settings = Settings.from_env(environ)
        intuit.register_app(CLIENT_ID, CLIENT_SECRET, [settings.qbo_redirect_uri])
        store = Store.from_settings(settings)
        upgrade(store)
        account_id = _connect(settings, store)
        store.dispose()
        context = multiprocessing.get_context("spawn")
        barrier, results = context.Barrier(processes + 1), context.Queue()
        start = (utcnow() + dt.timedelta(hours=1)).isoformat()
        workers = [context.Process(target=_worker, args=(environ, account_id, rounds, start, barrier, results))
                   for _ in range(processes)]
        for worker in workers:
            worker.start()
        round_seconds = []
        for _ in range(rounds):  # this process joins each barrier too, to time the rounds
            began = time.perf_counter()
            barrier.wait(120)
            round_seconds.append(time.perf_counter() - began)
        answers = [results.get(timeout=300) for _ in workers]
        for worker in workers:
            worker.join(60)
    return {
        "refreshes": intuit.refresh_count, "reuses": len(intuit.refresh_token_reuses),
        "errors": sum(errors for errors, _ in answers), "round_p50_ms": statistics.median(round_seconds[1:]) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if not args.no_sqlite:
            url = f"sqlite:///{tmp}/bench.sqlite3"
            results.append(("SQLite", measure(url, tmp / "sqlite", args.processes, args.rounds)))
        if not args.no_postgres:
            with ThrowawayPostgres(find_pg_bin_dir()) as pg:
                server = PostgresServer(pg.base_url)
                url = server.create_database("bench")
                results.append(("PostgreSQL", measure(url, tmp / "pg", args.processes, args.rounds)))
                server.dispose()
    print(f"{args.processes} processes x {args.rounds} rounds, every access token expiring each round "
          f"(ideal: {args.rounds} refreshes, 0 reuses, 0 errors)")
    for database, figures in results:
        print(f"  {database:10} refreshes {figures['refreshes']:4}  refresh-token reuses {figures['reuses']}  "
              f"errors {figures['errors']}  round p50 {figures['round_p50_ms']:.1f} ms (barrier to barrier)")


if __name__ == "__main__":
    main()
