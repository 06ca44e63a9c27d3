"""The push worker (qbwc_bridge.worker): drains due companies one lease each, never two drivers on one
company, a dead worker taken over through the unconfirmed path, a crashed drive released. SQLite and PostgreSQL.

The drivers here stand in for the engine: they record which worker drove which company, and
whether another was driving it at that moment. Clocks are injected; nothing waits on wall time
except bounded waits for another thread.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select

from qbwc_bridge import leases, outbox
from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.store.models import OperationState, OutboxOperation, WorkerLease
from qbwc_bridge.worker import BackgroundWorker, Worker

T0 = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone.utc)
TTL = dt.timedelta(minutes=2)
# Bounded waits for another thread: generous, reached only when the code under test is broken.
PATIENCE_SECONDS = 20


class Clock:
    def __init__(self, now: dt.datetime = T0):
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, delta: dt.timedelta) -> None:
        self.now += delta


class Work:
    """Units of work per company; a driver doing one unit per drive that records who drove what.

    Like the engine's, a drive may find nothing left to do: another worker did it after this
    one's worker asked what is due.

    ``during(account_id, lease)`` runs in the middle of a drive (while the lease is held). A drive
    answers None while units are left (more to do at once), then ``next_due``.
    """

    def __init__(self, units: dict[int, int], during: Callable | None = None, next_due: dt.datetime | None = None):
        self.units = dict(units)
        self.during = during
        self.next_due = next_due
        self.lock = threading.Lock()
        self.driving: dict[int, str] = {}
        self.drives: list[tuple[int, str]] = []
        self.done: list[tuple[int, str]] = []  # the drives that found a unit of work to do
        self.overlaps: list[tuple[int, str, str]] = []

    def due(self, db, now) -> list[int]:
        with self.lock:
            return [account for account, left in self.units.items() if left > 0]

    def drive(self, store, account_id: int, lease: leases.Lease) -> dt.datetime | None:
        assert lease.account_id == account_id
        with self.lock:
            if account_id in self.driving:
                self.overlaps.append((account_id, self.driving[account_id], lease.holder))
            self.driving[account_id] = lease.holder
            self.drives.append((account_id, lease.holder))
        try:
            if self.during is not None:
                self.during(account_id, lease)
        finally:
            with self.lock:
                self.driving.pop(account_id, None)
                if self.units[account_id] > 0:  # another worker may have done it since this one asked what is due
                    self.units[account_id] -= 1
                    self.done.append((account_id, lease.holder))
                left = self.units[account_id]
        return self.next_due if left == 0 else None


def new_accounts(store, count: int) -> list[int]:
    with store.begin() as db:
        return [create_account(db, f"Online {n}", "online").account_id for n in range(count)]


def lease_rows(store) -> dict[int, str]:
    with store.begin() as db:
        return dict(db.execute(select(WorkerLease.account_id, WorkerLease.holder)).all())


def worker(store, work: Work, holder: str, clock: Clock, **options) -> Worker:
    return Worker(store, due=work.due, drive=work.drive, holder=holder, clock=clock, lease_ttl=TTL, **options)


def sent_operation(store, account_id: int, key: str) -> int:
    with store.begin() as db:
        op = outbox.enqueue(db, account_id, "create_invoice", {"order": key}, dedupe_key=key)
        op.state = OperationState.SENT.value
        return op.id


def state_of(store, op_id: int) -> tuple[str, bool]:
    with store.begin() as db:
        op = db.get(OutboxOperation, op_id)
        return op.state, op.verify_first


def test_run_once_drives_every_due_company_until_nothing_is_due_now_then_returns(store):
    a, b = new_accounts(store, 2)
    later = T0 + dt.timedelta(hours=1)
    work = Work({a: 3, b: 1}, next_due=later)

    assert worker(store, work, "w1", Clock()).run_once() == later  # due later: reported, not waited for
    assert sorted(work.drives) == [(a, "w1")] * 3 + [(b, "w1")]
    assert work.units == {a: 0, b: 0} and lease_rows(store) == {}


def test_a_company_its_drive_says_is_due_later_waits_for_the_next_drain_whatever_due_says(store):
    (a,) = new_accounts(store, 1)
    clock = Clock()
    work = Work({a: 5})
    answers = [clock() + dt.timedelta(minutes=1), clock() + dt.timedelta(minutes=2)]

    def backed_off(store_, account_id, lease):
        work.drive(store_, account_id, lease)
        return answers.pop(0)  # e.g. QuickBooks answered 429: nothing before then

    backing_off = Worker(store, due=work.due, drive=backed_off, holder="w1", clock=clock, lease_ttl=TTL)
    assert backing_off.run_once() == T0 + dt.timedelta(minutes=1)
    assert work.units == {a: 4}
    clock.advance(dt.timedelta(minutes=1))
    assert backing_off.run_once() == T0 + dt.timedelta(minutes=2)
    assert work.units == {a: 3}


def test_run_once_returns_at_once_when_nothing_is_due(store):
    work = Work({})
    assert worker(store, work, "w1", Clock()).run_once() is None
    assert work.drives == []


def test_a_second_worker_passes_over_a_company_the_first_is_driving(store):
    a, b = new_accounts(store, 2)
    clock = Clock()
    seen_by_second: list[list[int]] = []

    def during(account_id, lease):
        if account_id == a and lease.holder == "w1" and not seen_by_second:
            seen_by_second.append(work.due(None, clock()))
            second.run_once()  # the other worker drains while w1 holds a

    work = Work({a: 2, b: 2}, during=during)
    first = worker(store, work, "w1", clock)
    second = worker(store, work, "w2", clock)
    first.run_once()

    assert seen_by_second == [[a, b]]  # a was due for w2 too: only the lease kept it out
    assert work.overlaps == []
    assert {holder for account, holder in work.drives if account == a} == {"w1"}
    assert [holder for account, holder in work.done if account == b] == ["w2", "w2"]
    assert work.units == {a: 0, b: 0}


def test_two_worker_threads_never_drive_one_company_at_once(store):
    accounts = new_accounts(store, 3)

    def during(account_id, lease):
        time.sleep(0.002)  # widen the window another driver would have to slip into

    work = Work({account: 15 for account in accounts}, during=during)
    clock = Clock()
    workers = [worker(store, work, f"w{n}", clock) for n in (1, 2)]
    errors: list[BaseException] = []

    def run(w: Worker) -> None:
        try:
            w.run_once()
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(PATIENCE_SECONDS)
    assert not any(thread.is_alive() for thread in threads) and errors == []
    assert work.overlaps == []
    assert len(work.done) == 45 and set(work.units.values()) == {0}
    assert lease_rows(store) == {}


def test_a_dead_workers_company_is_taken_over_after_its_lease_expires_in_flight_work_unconfirmed_first(store):
    a, b = new_accounts(store, 2)
    in_flight = sent_operation(store, a, "order-1")
    other_company = sent_operation(store, b, "order-2")
    with store.begin() as db:
        assert leases.acquire(db, a, "dead", T0, TTL)  # and never released: the process died
    seen_at_drive: dict[int, tuple[str, bool]] = {}

    def during(account_id, lease):
        if account_id == a:
            seen_at_drive[account_id] = state_of(store, in_flight)

    work = Work({a: 1, b: 1}, during=during)
    clock = Clock(T0 + TTL / 2)
    successor = worker(store, work, "next", clock)
    successor.run_once()
    assert work.drives == [(b, "next")] and work.units[a] == 1  # a's lease still runs: not touched
    assert state_of(store, in_flight) == ("sent", False)

    clock.advance(TTL)
    successor.run_once()
    assert work.drives[1:] == [(a, "next")]
    assert seen_at_drive[a] == ("unconfirmed", True)  # before the drive did anything: look it up, never resend blind
    assert state_of(store, other_company) == ("sent", False)  # b's lease never expired: nothing to recover
    assert lease_rows(store) == {}


def test_a_drive_that_raises_is_logged_its_lease_released_and_the_worker_carries_on(store, caplog):
    a, b = new_accounts(store, 2)
    secret = "refresh-token-value-that-must-not-be-in-our-message"

    def during(account_id, lease):
        if account_id == a:
            with store.begin() as db:  # what the engine does: fenced, SENT committed before the request
                leases.hold(db, lease, T0)
                db.get(OutboxOperation, in_flight).state = OperationState.SENT.value
            raise RuntimeError(secret)

    in_flight = sent_operation(store, a, "order-1")
    with store.begin() as db:
        db.get(OutboxOperation, in_flight).state = OperationState.PENDING.value
    work = Work({a: 2, b: 1}, during=during)
    with caplog.at_level(logging.ERROR, logger="qbwc_bridge.worker"):
        worker(store, work, "w1", Clock()).run_once()

    assert work.drives == [(a, "w1"), (b, "w1")]  # a not again in this drain: a broken company cannot spin it
    assert work.units == {a: 1, b: 0}
    assert lease_rows(store) == {}
    assert state_of(store, in_flight) == ("unconfirmed", True)
    [record] = [r for r in caplog.records if r.name == "qbwc_bridge.worker"]
    assert f"account {a}" in record.getMessage() and secret not in record.getMessage()
    with store.begin() as db:  # released, not left to expire: another worker may take it now
        assert leases.acquire(db, a, "w2", T0, TTL) is not None


def test_a_lease_lost_mid_drive_stops_the_drive_and_is_left_to_its_new_holder(store):
    (a,) = new_accounts(store, 1)
    clock = Clock()
    first_op = sent_operation(store, a, "order-1")
    second_op = sent_operation(store, a, "order-2")
    with store.begin() as db:
        db.get(OutboxOperation, second_op).state = OperationState.PENDING.value

    def during(account_id, lease):
        clock.advance(TTL + dt.timedelta(seconds=1))  # stalled a whole lease long: another worker takes over
        with store.begin() as db:
            assert leases.acquire(db, a, "w2", clock(), TTL).took_over_from == "w1"
        with store.begin() as db:  # the engine's next send: fenced out
            db.get(OutboxOperation, second_op).state = OperationState.SENT.value
            leases.hold(db, lease, clock())

    work = Work({a: 1}, during=during)
    worker(store, work, "w1", clock).run_once()

    assert lease_rows(store) == {a: "w2"}
    assert state_of(store, first_op) == ("unconfirmed", True)  # by w2's takeover
    assert state_of(store, second_op) == ("pending", False)  # never marked sent by a worker that lost the lease


def test_a_long_drive_keeps_its_lease_alive_with_a_heartbeat(store):
    (a,) = new_accounts(store, 1)
    clock = Clock()
    observed: dict[str, object] = {}

    def during(account_id, lease):
        first_expiry = lease.expires_at
        clock.advance(TTL * 3)  # a drive far longer than the lease
        deadline = time.monotonic() + PATIENCE_SECONDS
        while lease.expires_at <= clock() and time.monotonic() < deadline:
            time.sleep(0.005)
        observed["renewed"] = lease.expires_at > first_expiry
        with store.begin() as db:
            observed["taken"] = leases.acquire(db, a, "w2", clock(), TTL)

    work = Work({a: 1}, during=during)
    worker(store, work, "w1", clock, heartbeat_seconds=0.01).run_once()
    assert observed == {"renewed": True, "taken": None}
    assert work.overlaps == [] and lease_rows(store) == {}


class RecordingStop(threading.Event):
    """A stop event whose waits return at once, recorded; set after ``waits`` of them."""

    def __init__(self, waits: int):
        super().__init__()
        self.left = waits
        self.timeouts: list[float] = []

    def wait(self, timeout=None):
        self.timeouts.append(timeout)
        self.left -= 1
        if self.left <= 0:
            self.set()
        return self.is_set()


def test_run_forever_sleeps_until_the_next_due_time_at_most_the_poll_interval(store):
    (a,) = new_accounts(store, 1)
    work = Work({a: 1}, next_due=T0 + dt.timedelta(seconds=5))
    stop = RecordingStop(waits=2)
    worker(store, work, "w1", Clock(), poll_seconds=60).run_forever(stop)
    assert stop.timeouts == [5.0, 60.0]  # after driving a: until a is due; then nothing known: the poll
    assert work.drives == [(a, "w1")]


def test_run_forever_survives_a_failing_look_up_and_stops_at_once_when_told(store):
    (a,) = new_accounts(store, 1)
    work = Work({a: 1})
    calls: list[int] = []

    def flaky_due(db, now):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        return work.due(db, now)

    stop = threading.Event()
    looping = Worker(store, due=flaky_due, drive=work.drive, holder="w1", clock=Clock(), poll_seconds=0.01)
    thread = threading.Thread(target=looping.run_forever, args=(stop,))
    thread.start()
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not work.drives and time.monotonic() < deadline:
        time.sleep(0.005)
    assert work.drives == [(a, "w1")]  # after the failed look-up, it polled again

    sleeper = Worker(store, due=work.due, drive=work.drive, holder="w2", clock=Clock(), poll_seconds=3600)
    sleeper_stop = threading.Event()
    sleeping = threading.Thread(target=sleeper.run_forever, args=(sleeper_stop,))
    sleeping.start()
    stop.set()
    sleeper_stop.set()  # wakes its hour-long sleep
    thread.join(PATIENCE_SECONDS)
    sleeping.join(PATIENCE_SECONDS)
    assert not thread.is_alive() and not sleeping.is_alive()


def test_a_background_worker_drives_in_its_thread_and_stops_with_its_server(store):
    (a,) = new_accounts(store, 1)
    work = Work({a: 1})
    background = BackgroundWorker(worker(store, work, "w1", Clock(), poll_seconds=3600))
    background.start()
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not work.drives and time.monotonic() < deadline:
        time.sleep(0.005)
    assert work.drives == [(a, "w1")] and background.running
    background.stop()  # wakes the hour-long sleep
    assert not background.running
