"""Retention: exchange-log entries and finished Web Connector sessions older than the retention period go.

Every Web Connector run writes log entries (one per call even when there is nothing to do), so
without pruning the log grows by hundreds of rows per account per day. Pruning deletes in
batches of :data:`BATCH_SIZE` rows, one short transaction each: a Web Connector call waiting
for the same tables (SQLite's single writer, PostgreSQL's locks) waits for one batch at most.

Login throttle rows go a day after their last failure (unless still locked): a count starts again
after one lockout window without a failure, so such a row holds nothing, and without this anyone
trying made-up logins from many addresses would grow the table for ever.

A session is kept, however old, while an outbox operation still needs it: an operation that
is sent or unconfirmed, or must be looked up before it is sent again (``verify_first``), names
its session and request id, which is how a late answer is matched to exactly that set.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, or_, select

from .store.db import Store, log_failure
from .store.models import (DesktopSend, ExchangeLogEntry, LoginThrottle, OperationState, OutboxOperation, SessionState,
                           WebConnectorSession, utcnow)

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
PRUNE_EVERY_SECONDS = 3600
# Far beyond any lockout window (Settings.login_lockout_seconds): such a throttle row counts nothing.
THROTTLE_FORGOTTEN_AFTER = dt.timedelta(days=1)
# Operations whose exactly-once look-up may still need the session that carried them.
_UNSETTLED_STATES = (OperationState.SENT.value, OperationState.UNCONFIRMED.value)


@dataclass(frozen=True)
class PruneResult:
    """What a prune removed (or, with ``dry_run``, would remove)."""

    cutoff: dt.datetime
    log_entries: int
    sessions: int
    sessions_kept: int  # finished and old enough, but still referenced by an unsettled operation
    login_throttles: int
    dry_run: bool

    def as_json(self) -> dict:
        data = asdict(self)
        data["cutoff"] = self.cutoff.isoformat()
        return data


def _old_entries(cutoff: dt.datetime):
    return ExchangeLogEntry.at < cutoff


def _needed_by_an_operation():
    return (
        select(OutboxOperation.id)
        .join(DesktopSend, DesktopSend.outbox_id == OutboxOperation.id)
        .where(
            DesktopSend.session_id == WebConnectorSession.id,
            or_(OutboxOperation.state.in_(_UNSETTLED_STATES), OutboxOperation.verify_first.is_(True)),
        )
        .exists()
    )


def _forgotten_throttles(now: dt.datetime):
    return (LoginThrottle.last_failed_at < now - THROTTLE_FORGOTTEN_AFTER,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now))


def _finished_before(cutoff: dt.datetime):
    return (WebConnectorSession.state != SessionState.OPEN.value, WebConnectorSession.closed_at < cutoff)


def prune(
    store: Store, retention: dt.timedelta, *, now: dt.datetime | None = None, dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PruneResult:
    """Delete log entries and finished sessions older than ``retention``, ``batch_size`` rows per transaction."""
    now = now or utcnow()
    cutoff = now - retention
    with store.begin() as db:
        kept = db.scalar(select(func.count()).where(*_finished_before(cutoff), _needed_by_an_operation())) or 0
        if dry_run:
            entries = db.scalar(select(func.count()).where(_old_entries(cutoff))) or 0
            sessions = db.scalar(select(func.count()).where(*_finished_before(cutoff), ~_needed_by_an_operation())) or 0
            throttles = db.scalar(select(func.count()).select_from(LoginThrottle).where(*_forgotten_throttles(now))) or 0
            return PruneResult(cutoff, entries, sessions, kept, throttles, dry_run=True)
    with store.begin() as db:  # a small table, only ever written by failed logins: one statement
        throttles = db.execute(delete(LoginThrottle).where(*_forgotten_throttles(now))).rowcount
    entries = _delete_in_batches(
        store, ExchangeLogEntry, select(ExchangeLogEntry.id).where(_old_entries(cutoff)).order_by(ExchangeLogEntry.id),
        batch_size,
    )
    sessions = _delete_in_batches(
        store, WebConnectorSession,
        select(WebConnectorSession.id).where(*_finished_before(cutoff), ~_needed_by_an_operation()).order_by(WebConnectorSession.id),
        batch_size,
    )
    result = PruneResult(cutoff, entries, sessions, kept, throttles, dry_run=False)
    log.info("pruned %d exchange-log entries and %d sessions older than %s (%d old sessions kept for unsettled operations)",
             entries, sessions, cutoff.isoformat(), kept)
    return result


def _delete_in_batches(store: Store, model, ids_query, batch_size: int) -> int:
    """Delete the rows ``ids_query`` selects, ``batch_size`` per transaction; how many went.

    The ids are chosen and deleted in the same transaction, so a row that stopped qualifying
    (a session an operation has just started to reference) is judged again each batch. On
    PostgreSQL the chosen rows are locked and rows another pruner holds are skipped: several
    processes pruning at once take disjoint batches instead of deadlocking on the same rows.
    """
    total = 0
    while True:
        with store.begin() as db:
            ids = list(db.scalars(ids_query.limit(batch_size).with_for_update(skip_locked=True)))
            if ids:
                db.execute(delete(model).where(model.id.in_(ids)))
        total += len(ids)
        if len(ids) < batch_size:
            return total


class Pruner:
    """Prunes every :data:`PRUNE_EVERY_SECONDS` in a daemon thread of ``serve``.

    Several processes may each run one: deletes of the same rows only find less to do.
    """

    def __init__(self, store: Store, retention: dt.timedelta, interval_seconds: float = PRUNE_EVERY_SECONDS):
        self.store = store
        self.retention = retention
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="qbwc-bridge retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                prune(self.store, self.retention)
            except Exception:  # a database hiccup must not end pruning for the life of the process
                log_failure(log, "pruning old exchange-log entries and sessions failed; trying again in %d s",
                            self.interval_seconds)
            self._stop.wait(self.interval_seconds)
