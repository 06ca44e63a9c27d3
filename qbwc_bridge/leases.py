"""Who drives which company: one lease per push account, held by one worker at a time.

A push backend (QuickBooks Online) is driven by worker processes, possibly several on one
PostgreSQL database. Two of them driving one company at once could send one invoice twice, so
a worker drives an account only while it holds that account's row in ``worker_leases``.

The lease is taken atomically, without a read-then-write race:

1. ``INSERT ... ON CONFLICT DO NOTHING``: nobody holds the account, the lease is ours.
2. Otherwise the row is read ``FOR UPDATE SKIP LOCKED`` (PostgreSQL) and updated in the same
   transaction when it is ours already or has expired. The row lock keeps a competing
   acquisition or the holder's renewal out until we commit, and SKIP LOCKED lets a worker pass
   over an account another transaction is renewing or taking this very moment instead of
   queueing behind it: that account is the other worker's to drive. On SQLite the store's
   ``BEGIN IMMEDIATE`` already makes every writing transaction run alone, so the read and the
   write cannot be split by another writer (SQLAlchemy leaves FOR UPDATE out there).

A conditional ``UPDATE ... WHERE expires_at <= now`` alone would be atomic too, but it cannot
tell whose expired lease it replaced, and a takeover must know: the dead holder may have sent
operations whose answers never came (state ``sent``). :func:`unconfirm_in_flight`, called in
the taking transaction before any work, turns them *unconfirmed*, so the engine looks each up
before anything is sent again, never a blind resend.

Fencing: the engine commits an operation's ``sent`` state before its request leaves, and calls
:func:`hold` in that same transaction. ``hold`` renews the lease only if we still hold it, and
the renewal's row lock orders it against a takeover: either our ``sent`` commits first and the
new holder finds it (and looks it up), or the takeover commits first and :class:`LeaseLost` stops
us before we mark or send anything. So a worker marks SENT only what it holds.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from . import outbox
from .store.models import DesktopSend, OperationState, OutboxOperation, WorkerLease

log = logging.getLogger(__name__)

#: ``on_takeover(db, account_id, dead_holder)``: runs inside the taking transaction, before any work.
Takeover = Callable[[Session, int, str], None]
HOLDER_LENGTH = 100


class LeaseLost(Exception):
    """Another worker took this account over (our lease had expired): stop driving it at once."""

    def __init__(self, account_id: int, holder: str):
        super().__init__(f"worker {holder} no longer holds the lease of account {account_id}")
        self.account_id = account_id
        self.holder = holder


@dataclass
class Lease:
    """A worker's right to drive one account until ``expires_at`` (renewed while it works).

    ``took_over_from`` names the dead worker this lease was taken from, if any; ``lost`` turns true
    when a renewal found the lease gone (the engine may check it between steps; :func:`hold` is the
    check that counts).
    """

    account_id: int
    holder: str
    acquired_at: dt.datetime
    expires_at: dt.datetime
    ttl: dt.timedelta
    took_over_from: str | None = None
    lost: bool = False


def new_holder() -> str:
    """A name no other worker has: host, process and a random part (two workers in one process differ)."""
    host = socket.gethostname()[:60]
    return f"{host}:{os.getpid()}:{secrets.token_hex(6)}"[:HOLDER_LENGTH]


def unconfirm_in_flight(db: Session, account_id: int, dead_holder: str) -> None:
    """Every operation a dead worker left in flight for ``account_id`` is looked up before it is sent again.

    Generic on purpose: a look-up is always safe, even for a query, so every ``sent`` operation goes
    the unconfirmed way. Operations inside a Web Connector's message set (a ``desktop_sends`` row
    naming its session) are Desktop's and recovered with that session; a push account has none.
    """
    in_a_desktop_session = (select(DesktopSend.outbox_id)
                            .where(DesktopSend.outbox_id == OutboxOperation.id, DesktopSend.session_id.is_not(None))
                            .exists())
    in_flight = db.scalars(
        select(OutboxOperation)
        .where(OutboxOperation.account_id == account_id, OutboxOperation.state == OperationState.SENT.value,
               ~in_a_desktop_session)
        .with_for_update()
    ).all()  # fmt: skip
    for op in in_flight:
        outbox.mark_unconfirmed(op)
    if in_flight:
        log.warning("account %d: worker %s stopped with %d operation(s) in flight; each is looked up in "
                    "QuickBooks before anything is sent again", account_id, dead_holder, len(in_flight))


def acquire(
    db: Session,
    account_id: int,
    holder: str,
    now: dt.datetime,
    ttl: dt.timedelta,
    *,
    on_takeover: Takeover = unconfirm_in_flight,
) -> Lease | None:
    """The lease of ``account_id`` for ``holder`` until ``now + ttl``, or None while another worker holds it.

    Taking over an expired lease (or one of ``holder``'s own that was never released) calls
    ``on_takeover(db, account_id, dead_holder)`` in this transaction, before the caller can do any
    work. Commit before driving: the lease only protects anyone once others can see it.
    """
    expires_at = now + ttl
    dialect = db.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(WorkerLease)
    taken = db.execute(
        insert.values(account_id=account_id, holder=holder, acquired_at=now, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=["account_id"])
        .returning(WorkerLease.account_id)
    ).scalar()
    if taken is not None:
        return Lease(account_id, holder, now, expires_at, ttl)
    current = db.execute(
        select(WorkerLease.holder, WorkerLease.acquired_at, WorkerLease.expires_at)
        .where(WorkerLease.account_id == account_id)
        .with_for_update(skip_locked=True)
    ).first()
    if current is None:  # being renewed or taken right now, or released since our insert: not ours this time
        return None
    # A row of our own is a drive of ours whose release failed (the database away at that moment):
    # what it left in flight is recovered like a dead worker's.
    if current.holder != holder and current.expires_at > now:
        return None
    db.execute(
        update(WorkerLease)
        .where(WorkerLease.account_id == account_id)
        .values(holder=holder, acquired_at=now, expires_at=expires_at)
    )
    on_takeover(db, account_id, current.holder)
    return Lease(account_id, holder, now, expires_at, ttl, took_over_from=current.holder)


def renew(db: Session, lease: Lease, now: dt.datetime) -> bool:
    """Push the lease's expiry to ``now + ttl`` if we still hold it; False (and ``lease.lost``) if not.

    A lease past its expiry that nobody took over is still ours: nothing happened in between.
    """
    if _extend(db, lease.account_id, lease.holder, now + lease.ttl):
        lease.expires_at = now + lease.ttl
        return True
    lease.lost = True
    return False


def hold(db: Session, lease: Lease, now: dt.datetime) -> None:
    """Renew the lease inside the caller's transaction, or stop: call it where operations become ``sent``.

    Call it first, before the transaction touches any outbox row: a takeover locks the lease row,
    then the outbox rows, and taking them in the same order cannot deadlock with it.

    Raises:
        LeaseLost: another worker took the account over; mark nothing, send nothing.
    """
    if not renew(db, lease, now):
        raise LeaseLost(lease.account_id, lease.holder)


def release(db: Session, lease: Lease) -> bool:
    """Let the account go (another worker may drive it at once); False if it was no longer ours."""
    return db.execute(
        delete(WorkerLease).where(WorkerLease.account_id == lease.account_id, WorkerLease.holder == lease.holder)
    ).rowcount == 1


def abandon(db: Session, lease: Lease, *, on_takeover: Takeover = unconfirm_in_flight) -> bool:
    """Release after a crashed drive, first sending what it left in flight the unconfirmed way.

    The drive raised with operations perhaps ``sent`` and their answers unknown: they get exactly
    what a takeover would give them, in the same transaction as the release. False (and nothing
    touched) when the lease was no longer ours: its new holder has done that already.
    """
    held = db.execute(
        select(WorkerLease.account_id)
        .where(WorkerLease.account_id == lease.account_id, WorkerLease.holder == lease.holder)
        .with_for_update()
    ).first()  # fmt: skip
    if held is None:
        lease.lost = True
        return False
    on_takeover(db, lease.account_id, lease.holder)
    return release(db, lease)


def _extend(db: Session, account_id: int, holder: str, expires_at: dt.datetime) -> bool:
    return db.execute(
        update(WorkerLease)
        .where(WorkerLease.account_id == account_id, WorkerLease.holder == holder)
        .values(expires_at=expires_at)
    ).rowcount == 1
