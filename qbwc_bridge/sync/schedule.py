"""What an account needs from QuickBooks now, decided by the engine for every backend.

A pull backend asks when its QuickBooks comes in (Desktop: ``authenticate``); a push backend's
worker asks before each drive. Either way the answer is work in the outbox: the initial
sync on first contact, lists QuickBooks refused last time asked for again, and the
incremental pulls that are due. Invoices and creations are queued where they arise
(a packed order, a match, a person's action), so they need nothing here.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ..store.models import Account, ConnectionStatus, OutboxOperation
from . import pulls
from .incremental import queue_incremental_sync
from .initial import retry_refused_pulls, start_initial_sync


def plan(db: Session, account: Account, now: dt.datetime, run_every_minutes: int) -> list[OutboxOperation] | None:
    """Queue what ``account`` needs now (repeats are no-ops: every queued pull has a dedupe key or a check).

    Returns the newest pull of each list when no pull was queued (so that ``refresh_connection_status``
    need not read them again), else None.
    """
    pulls.load_cursors(db, account.id)  # one statement instead of one per list
    if account.status == ConnectionStatus.NOT_CONNECTED.value:
        start_initial_sync(db, account)
        return None
    # lists changed in QuickBooks since the last pull give this run its work
    latest = retry_refused_pulls(db, account)
    return None if queue_incremental_sync(db, account, now, run_every_minutes) else latest
