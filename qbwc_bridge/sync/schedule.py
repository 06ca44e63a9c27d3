"""What an account needs from QuickBooks now, decided by the engine for every backend.

A pull backend asks when its QuickBooks comes in (Desktop: ``authenticate``); a push backend's
worker asks before each drive. Either way the answer is work in the outbox: the initial
sync on first contact, lists QuickBooks refused last time asked for again, and the
incremental pulls that are due. Invoices and creations are queued where they arise
(a packed order, a match, a person's action), so they need nothing here.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Row
from sqlalchemy.orm import Session

from ..store.models import Account, ConnectionStatus
from . import pulls
from .incremental import next_pull_at, queue_incremental_sync
from .initial import retry_refused_pulls, start_initial_sync


def plan(db: Session, account: Account, now: dt.datetime, run_every_minutes: int) -> list[Row] | None:
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


# -- a quiet account: answered without planning ----------------------------------------------------------
# Most contacts find nothing to do; planning one reads the cursors and the newest pulls. After a plan that
# queued nothing, the account keeps when its next pull falls due (``plan_due_at``). Until then, plan() has
# nothing to queue unless something else changed, and each such change is looked for by the caller
# (work queued, a session open) or ends the promise: the account leaving Connected (a refused list, a
# reconnect, a reset), or a session opening (its answers change what plan() finds next).


def remember_quiet(db: Session, account: Account, run_every_minutes: int) -> None:
    """After a contact that found nothing to do: until when :func:`quiet` may answer without planning."""
    connected = account.status == ConnectionStatus.CONNECTED.value
    account.plan_due_at = next_pull_at(db, account, run_every_minutes) if connected else None


def forget_quiet(account: Account) -> None:
    """Something may have changed what plan() finds (a session opened, a late answer came): look in full next time."""
    account.plan_due_at = None


def quiet(status: str, plan_due_at: dt.datetime | None, now: dt.datetime) -> bool:
    """Whether plan() would queue nothing now for an account with this ``status`` and ``plan_due_at``
    (read as columns: the caller answers from one statement). The caller still checks queued work and sessions."""
    return status == ConnectionStatus.CONNECTED.value and plan_due_at is not None and now < plan_due_at
