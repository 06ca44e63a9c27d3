"""Live mode: packed → InvoiceAdd in QuickBooks while a Web Connector session idles, against scheduled polls.

The bridge serves in this process (waitress on loopback, SQLite). Two Desktop accounts, each
with its own simulated Web Connector and strict fake QuickBooks talking to it over real HTTP,
run side by side in the same run and get the same packed orders at the same moments (random
gaps, seeded):

- live: live mode on (longer than the run), the Web Connector's real NoOp pause (5 s): after its
  first session's work the session stays open and asks every ~5 s;
- baseline: live mode off, the Web Connector runs on its schedule every ``--poll-minutes``
  (1 by default: the smallest RunEveryNMinutes QBWC's UI offers; the bridge's default is 2).

Latency per order: from the moment its packed event is stored to the moment the fake QuickBooks
has saved its InvoiceAdd. Printed: p50 / p95 / max for both, and baseline ÷ live. Every order
must end as exactly one invoice in its company.
Run: QBWC_BRIDGE_SHARED_DIR=../shared .venv/bin/python bench/bench_live_mode.py [--seconds 180]
     [--gap 4] [--poll-minutes 1] [--pause 5]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from qbwc_bridge.backends.desktop.qwc import render_qwc  # noqa: E402
from qbwc_bridge.backends.desktop.schema import schema_dir  # noqa: E402
from qbwc_bridge.config import Settings, _find_shared_dir  # noqa: E402
from qbwc_bridge.services import invoices  # noqa: E402
from qbwc_bridge.simulator import RequestProcessor, WebConnector  # noqa: E402
from qbwc_bridge.store.db import Store  # noqa: E402
from qbwc_bridge.store.migrate import upgrade  # noqa: E402
from qbwc_bridge.store.models import Account  # noqa: E402
from qbwc_bridge.web.app import create_app  # noqa: E402
from tests.integration.conftest import make_tenant  # noqa: E402
from tests.integration.invoice_world import make_company, ours, seed_matches  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402


class Deliveries:
    """When each order was packed, and when QuickBooks saved its invoice (monotonic seconds)."""

    def __init__(self, company):
        self.company = company
        self.packed: dict[str, float] = {}
        self.delivered: dict[str, float] = {}
        self.lock = threading.Lock()

    def saw_adds(self, at: float) -> None:
        with self.lock:
            for order_id in [o for o in self.packed if o not in self.delivered]:
                if ours(self.company, order_id):
                    self.delivered[order_id] = at

    def latencies(self) -> list[float]:
        return [self.delivered[o] - self.packed[o] for o in self.packed if o in self.delivered]


class TimedQuickBooks(RequestProcessor):
    """The fake QuickBooks, noting the moment each message set with an InvoiceAdd has been applied."""

    def __init__(self, company, schema_folder, deliveries: Deliveries):
        super().__init__(company, schema_folder)
        self.deliveries = deliveries

    def begin_session(self, company_path: str = ""):
        session = super().begin_session(company_path)
        process = session.process

        def timed(request: str):
            result = process(request)
            if "InvoiceAdd" in request:
                self.deliveries.saw_adds(time.monotonic())
            return result

        session.process = timed
        return session


class Side:
    """One account: its tenant, company, Web Connector and deliveries."""

    def __init__(self, name: str, store: Store, settings: Settings, server: LiveServer, shared: Path, data_dir: Path,
                 *, pause: float, live_minutes: int, seed: int):  # fmt: skip
        self.name, self.store = name, store
        self.tenant = make_tenant(store, f"Bench {name}")
        self.account_id = self.tenant.account.account_id
        self.world = seed_matches(store, self.account_id, make_company(items=30, customers=20, seed=seed))
        self.deliveries = Deliveries(self.world.company)
        with store.begin() as db:
            db.get(Account, self.account_id).live_mode_minutes = live_minutes
        port = server.url.rsplit(":", 1)[1]
        qwc = data_dir / f"{name}.qwc"
        with store.begin() as db:
            qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), self.account_id))
        self.connector = WebConnector(TimedQuickBooks(self.world.company, schema_dir(shared), self.deliveries),
                                      password=self.tenant.password, noop_pause=pause,
                                      max_calls_per_session=10**6)  # fmt: skip
        assert self.connector.add_application(str(qwc)).ok
        self.transcripts = []

    def pack(self, order_id: str, rng: random.Random) -> None:
        event = self.world.order(rng, f"SO-{order_id}")
        with self.store.begin() as db:
            invoices.record_packed_order(db, self.account_id, order_id, event)
        with self.deliveries.lock:
            self.deliveries.packed[order_id] = time.monotonic()

    def run_session(self) -> None:
        transcript = self.connector.run_session()
        assert transcript.ok, transcript.to_text()[-3000:]
        self.transcripts.append(transcript)

    def all_delivered(self) -> bool:
        with self.deliveries.lock:
            return len(self.deliveries.delivered) == len(self.deliveries.packed)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=180, help="how long orders are packed")
    parser.add_argument("--gap", type=float, default=4.0, help="mean seconds between packed orders (exponential)")
    parser.add_argument("--poll-minutes", type=float, default=1.0, help="the baseline's Web Connector schedule")
    parser.add_argument("--pause", type=float, default=5.0, help="the Web Connector's NoOp pause (QBWC: ~5 s)")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    shared = Path(os.environ.get("QBWC_BRIDGE_SHARED_DIR") or _find_shared_dir() or "")
    poll = args.poll_minutes * 60
    live_minutes = int((args.seconds + 2 * poll) // 60) + 5  # the live session outlasts the run
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings.from_env({
            "QBWC_BRIDGE_DATABASE_URL": f"sqlite:///{data_dir}/bridge.sqlite3", "QBWC_BRIDGE_DATA_DIR": str(data_dir),
            "QBWC_BRIDGE_SECRET_KEY": "b" * 40, "QBWC_BRIDGE_LOG_LEVEL": "WARNING",
            "QBWC_BRIDGE_RUN_EVERY_MINUTES": str(max(1, round(args.poll_minutes))),
        })  # fmt: skip
        store = Store.from_settings(settings)
        upgrade(store)
        try:
            with LiveServer(create_app(settings, store), threads=8) as server:
                live = Side("live", store, settings, server, shared, data_dir, pause=args.pause,
                            live_minutes=live_minutes, seed=1)  # fmt: skip
                base = Side("baseline", store, settings, server, shared, data_dir, pause=args.pause, live_minutes=0,
                            seed=2)  # fmt: skip
                base.run_session()  # both initial syncs before the clock starts; live's stays open from here
                live_thread = threading.Thread(target=live.run_session, name="live-session")
                live_thread.start()
                time.sleep(3 * args.pause)  # the initial sync is over and the live session idles
                stop = threading.Event()

                def scheduled() -> None:  # QBWC's RunEveryNMinutes: a session every ``poll`` seconds
                    next_run = time.monotonic() + poll
                    while not stop.wait(max(0.0, next_run - time.monotonic())):
                        base.run_session()
                        next_run += poll

                poller = threading.Thread(target=scheduled, name="scheduled-polls")
                poller.start()
                rng = random.Random(args.seed)
                started = time.monotonic()
                number = 0
                while time.monotonic() - started < args.seconds:
                    time.sleep(rng.expovariate(1 / args.gap))
                    number += 1
                    order_rng = random.Random(number)
                    live.pack(f"L{number}", order_rng)
                    base.pack(f"B{number}", random.Random(number))
                deadline = time.monotonic() + 2 * poll + 30
                while not (live.all_delivered() and base.all_delivered()) and time.monotonic() < deadline:
                    time.sleep(0.5)
                stop.set()
                poller.join()
                with store.begin() as db:  # live mode off: the idle session ends at its next ask
                    db.get(Account, live.account_id).live_mode_minutes = 0
                live_thread.join(timeout=4 * args.pause + 30)
        finally:
            store.dispose()
    for side in (live, base):
        missing = [o for o in side.deliveries.packed if o not in side.deliveries.delivered]
        assert not missing, f"{side.name}: never delivered {missing}"
        twice = [o for o in side.deliveries.packed if len(ours(side.world.company, o)) != 1]
        assert not twice, f"{side.name}: not exactly one invoice for {twice}"
    rows = {}
    for side in (live, base):
        values = side.deliveries.latencies()
        rows[side.name] = (statistics.median(values), percentile(values, 0.95), max(values), len(values))
    live_session = live.transcripts[0]
    print(f"live mode, packed → InvoiceAdd saved in QuickBooks; {number} orders per account over {args.seconds:.0f} s "
          f"(mean gap {args.gap} s), same moments for both accounts")
    print(f"{'':34} {'p50':>8} {'p95':>8} {'max':>8} {'orders':>7}")
    print(f"{'live mode (NoOp pause %.1f s)' % args.pause:34} {rows['live'][0]:7.2f}s {rows['live'][1]:7.2f}s "
          f"{rows['live'][2]:7.2f}s {rows['live'][3]:7d}")
    print(f"{'baseline (poll every %g min)' % args.poll_minutes:34} {rows['baseline'][0]:7.2f}s {rows['baseline'][1]:7.2f}s "
          f"{rows['baseline'][2]:7.2f}s {rows['baseline'][3]:7d}")
    print(f"baseline ÷ live: p50 {rows['baseline'][0] / rows['live'][0]:.1f}×, p95 {rows['baseline'][1] / rows['live'][1]:.1f}×")
    print(f"live account: {len(live.transcripts)} session(s), {live_session.noops} NoOp pauses, "
          f"{live_session.round_trips} round trips; baseline: {len(base.transcripts)} scheduled session(s); "
          f"every order exactly one invoice")


if __name__ == "__main__":
    main()
