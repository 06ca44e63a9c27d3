"""The background worker of push backends (QuickBooks Online): drives every company that has work due.

Desktop waits for the Web Connector to call; Online is ours to call, so something must notice
that work is due and do it. A :class:`Worker` asks ``due(db, now)`` which accounts have work,
takes each one's lease (qbwc_bridge.leases) and calls ``drive(store, account_id, lease)``, which
does the account's work and answers when it will next be due (or None). Any number of workers,
threads or processes, may run on one database: the lease lets one at a time drive a company.

- :meth:`Worker.run_once` drains: it drives due accounts until none is due *now*, then returns
  (``qbwc-bridge worker --once``). Work due later never keeps it alive. An account is driven
  again in one drain while ``due`` lists it and its drive answered None or a time already
  reached (more to do at once, say the next batch); answering a later time ends its turn.
- :meth:`Worker.run_forever` drains, sleeps until the earliest next-due time a drive reported
  (at most ``poll_seconds``: work may become due through the API or another process), and
  again, until its stop event is set; setting it wakes the sleep at once.

A drive that raises is logged with its account id and never ends the worker: its lease is
released after whatever it left in flight went the unconfirmed way (leases.abandon). While a
drive runs, a heartbeat thread renews its lease every ``lease_ttl / 4``, so a long initial sync
keeps its company and only a worker that stopped renewing (died, hung, lost the database) for a
whole ``lease_ttl`` is taken over.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from sqlalchemy.orm import Session

from . import leases, logs, metrics
from .leases import Lease, LeaseLost
from .store.db import Store, log_failure
from .store.models import utcnow

log = logging.getLogger(__name__)

Due = Callable[[Session, dt.datetime], list[int]]
Drive = Callable[[Store, int, Lease], dt.datetime | None]

#: How long a worker that stopped renewing keeps its companies. A takeover waits this long after a
#: crash; a worker is taken over only after missing this many seconds of heartbeats (four of them).
LEASE_TTL = dt.timedelta(minutes=2)
#: The longest sleep between drains: work may become due without any drive saying so (an order
#: packed through the API, a person's "Create in QuickBooks", another worker's expired lease).
POLL_SECONDS = 15.0
#: How long stopping ``serve`` waits for a drive under way. One still running after it dies with the
#: process; its lease expires and the next worker takes over through the unconfirmed path.
STOP_WAIT_SECONDS = 30.0


class Worker:
    """Drives the accounts ``due`` names, one lease each; see the module docstring.

    Args:
        store: the database.
        due: ``due(db, now)`` -> ids of the accounts with work due at ``now``.
        drive: ``drive(store, account_id, lease)`` does that work (its own units of work, calling
            leases.hold where operations become sent) and returns when the account is next due.
        on_takeover: ``on_takeover(db, account_id, dead_holder)`` runs in the transaction that takes
            an expired lease, and after a crashed drive; by default in-flight operations become unconfirmed.
        holder: this worker's name in the leases (default: unique per Worker).
        clock: now, as an aware UTC datetime (tests inject one).
        poll_seconds: the longest sleep of :meth:`run_forever`.
        lease_ttl: how long a lease lasts without renewal.
        heartbeat_seconds: how often a running drive's lease is renewed (default ``lease_ttl / 4``).
    """

    def __init__(
        self,
        store: Store,
        *,
        due: Due,
        drive: Drive,
        on_takeover: leases.Takeover = leases.unconfirm_in_flight,
        holder: str | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        poll_seconds: float = POLL_SECONDS,
        lease_ttl: dt.timedelta = LEASE_TTL,
        heartbeat_seconds: float | None = None,
    ):
        self.store = store
        self.due = due
        self.drive = drive
        self.on_takeover = on_takeover
        self.holder = holder or leases.new_holder()
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.lease_ttl = lease_ttl
        self.heartbeat_seconds = lease_ttl.total_seconds() / 4 if heartbeat_seconds is None else heartbeat_seconds

    def run_once(self) -> dt.datetime | None:
        """Drive until nothing is due now; returns when the next work is due, as drives reported (or None)."""
        return self._drain(threading.Event())

    def run_forever(self, stop: threading.Event) -> None:
        """Drain, sleep until the next due time (at most ``poll_seconds``), repeat until ``stop`` is set."""
        while not stop.is_set():
            try:
                next_due = self._drain(stop)
            except Exception:  # the database away for a while must not end the worker for good
                log_failure(log, "the worker could not look for due work; trying again in %g s", self.poll_seconds)
                next_due = None
            wait = self.poll_seconds
            if next_due is not None:
                wait = min(wait, max((next_due - self.clock()).total_seconds(), 0.0))
            stop.wait(wait)

    def _drain(self, stop: threading.Event) -> dt.datetime | None:
        # Accounts driven in this drain and when each said it is next due (the latest answer counts).
        next_due: dict[int, dt.datetime | None] = {}
        # Not again in this drain: accounts another worker holds, ones whose drive crashed, and ones
        # their drive said are next due later (whatever ``due`` says), or a busy, broken or
        # backed-off account would keep the drain from ever returning.
        passed_over: set[int] = set()
        while not stop.is_set():
            with self.store.begin() as db:
                accounts = [account for account in self.due(db, self.clock()) if account not in passed_over]
            if not accounts:
                break
            for account_id in accounts:
                if stop.is_set():
                    break
                driven, when = logs.run_in_fresh_context(self._drive, account_id)
                if driven:
                    next_due[account_id] = when
                if not driven or (when is not None and when > self.clock()):
                    passed_over.add(account_id)
        return min((when for when in next_due.values() if when is not None), default=None)

    def _drive(self, account_id: int) -> tuple[bool, dt.datetime | None]:
        """Drive one account under its lease: (whether it was driven to the end, when it is next due)."""
        logs.bind(account_id=account_id)
        with self.store.begin() as db:
            lease = leases.acquire(db, account_id, self.holder, self.clock(), self.lease_ttl,
                                   on_takeover=self.on_takeover)  # fmt: skip
        if lease is None:
            return False, None
        if lease.took_over_from is not None:
            metrics.WORKER_LEASES.labels(event="taken_over").inc()
            log.warning("account %d: taken over from worker %s, which stopped without releasing it", account_id,
                        lease.took_over_from)
        heartbeat = _Heartbeat(self.store, lease, self.clock, self.heartbeat_seconds)
        heartbeat.start()
        failure: Exception | None = None
        try:
            when = self.drive(self.store, account_id, lease)
        except Exception as exc:  # whatever one company's drive raises, the others go on
            failure = exc
        finally:
            heartbeat.stop()
        if isinstance(failure, LeaseLost):
            metrics.WORKER_LEASES.labels(event="lost").inc()
            log.warning("account %d: another worker took it over during the drive; it carries on from here", account_id)
            return False, None
        if failure is not None:
            metrics.WORKER_DRIVES.labels(outcome="failed").inc()
            log_failure(log, "account %d: driving it failed; its lease is released and anything in flight will be "
                        "looked up in QuickBooks before it is sent again", account_id, error=failure)
            self._abandon(lease)
            return False, None
        metrics.WORKER_DRIVES.labels(outcome="done").inc()
        with self.store.begin() as db:
            leases.release(db, lease)
        return True, when

    def _abandon(self, lease: Lease) -> None:
        try:
            with self.store.begin() as db:
                leases.abandon(db, lease, on_takeover=self.on_takeover)
        except Exception:  # the lease then expires and the next worker's takeover does the same
            log_failure(log, "account %d: could not release the lease after a failed drive; it expires in %s",
                        lease.account_id, self.lease_ttl)


class BackgroundWorker:
    """A :class:`Worker` running forever in a daemon thread of ``serve``, stopped with the server."""

    def __init__(self, worker: Worker, stop_wait_seconds: float = STOP_WAIT_SECONDS):
        self.worker = worker
        self.stop_wait_seconds = stop_wait_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=worker.run_forever, args=(self._stop,), name="qbwc-bridge worker",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the drive under way (waiting at most ``stop_wait_seconds`` for it); at once when idle."""
        self._stop.set()
        self._thread.join(self.stop_wait_seconds)
        if self._thread.is_alive():
            log.warning("the worker's drive did not finish within %g s; its lease will expire and another worker "
                        "will look up what it left in flight", self.stop_wait_seconds)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()


class _Heartbeat:
    """Renews one lease every ``interval`` seconds in a daemon thread while its drive runs."""

    def __init__(self, store: Store, lease: Lease, clock: Callable[[], dt.datetime], interval: float):
        self.store = store
        self.lease = lease
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"qbwc-bridge lease {lease.account_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                with self.store.begin() as db:
                    renewed = leases.renew(db, self.lease, self.clock())
            except Exception:  # a database hiccup: the next beat tries again, well before the lease expires
                log_failure(log, "account %d: renewing the worker's lease failed", self.lease.account_id)
                continue
            if not renewed:
                log.warning("account %d: the worker's lease was taken over; the drive will stop at its next step",
                            self.lease.account_id)
                return
