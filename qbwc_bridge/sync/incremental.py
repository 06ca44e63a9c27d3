"""Every later session: pull what changed in QuickBooks since the last pull, re-match only that.

When the Web Connector authenticates and a list's last pull is older than its schedule,
an incremental pull is queued: ItemQuery / CustomerQuery with FromModifiedDate = the
high-water mark minus :data:`~.pulls.OVERLAP`, ActiveStatus All (a record made inactive
must reach the mirror too). Records already mirrored with the same ListID and
EditSequence are skipped, and only BlueTrace records whose counterpart changed are
re-matched (``pulls.apply_page``). When nothing is due the Web Connector hears "none".

Terms and accounts are small and change rarely: they are pulled whole, once an hour.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import outbox
from ..operations import ListName, OperationKind
from ..store.models import Account, OperationState, OutboxOperation
from . import pulls
from .initial import PAGED_LIST_PRIORITY, PAGED_LISTS, WHOLE_LIST_PRIORITY, WHOLE_LISTS, initial_complete

SCHEDULE_SLACK = dt.timedelta(seconds=15)  # the Web Connector's timer is not exact
WHOLE_LIST_EVERY = dt.timedelta(hours=1)
WAITING = (*outbox.READY_STATES, OperationState.SENT.value)
PULL_KINDS = {list_name: kind for kind, list_name in PAGED_LISTS} | {
    list_name: kind for kind, list_name, _model in WHOLE_LISTS
}


def queue_incremental_sync(db: Session, account: Account, now: dt.datetime, run_every_minutes: int) -> bool:
    """Queue the pulls that are due for a connected account. Returns whether any was queued."""
    if not initial_complete(db, account):
        return False
    every = dt.timedelta(minutes=run_every_minutes) - SCHEDULE_SLACK
    queued = False
    for _kind, list_name in PAGED_LISTS:
        if _due(db, account, list_name, now, every):
            queued |= queue_pull(db, account, list_name, now)
    for _kind, list_name, _model in WHOLE_LISTS:
        if _due(db, account, list_name, now, WHOLE_LIST_EVERY):
            queued |= queue_pull(db, account, list_name, now)
    return queued


def _due(db: Session, account: Account, list_name: ListName, now: dt.datetime, every: dt.timedelta) -> bool:
    last = pulls.cursor(db, account.id, list_name).updated_at
    return last is None or now - last >= every


def queue_pull(db: Session, account: Account, list_name: ListName, now: dt.datetime) -> bool:
    """Queue an incremental pull of one list unless one is already waiting or the list was never pulled.

    Returns whether a pull was queued.
    """
    if not pulls.initial_done(db, account.id, list_name):
        return False
    kind = PULL_KINDS[list_name]
    waiting = db.scalar(select(func.count()).select_from(OutboxOperation).where(
        OutboxOperation.account_id == account.id, OutboxOperation.kind == kind.value,
        OutboxOperation.state.in_(WAITING)))
    if waiting:
        return False
    if kind in (OperationKind.SYNC_TERMS, OperationKind.SYNC_ACCOUNTS):
        outbox.enqueue(db, account.id, kind.value, {}, priority=WHOLE_LIST_PRIORITY)
        pulls.cursor(db, account.id, list_name).updated_at = now  # whole lists have no page to report back
    else:
        pull = pulls.new_pull(db, account, list_name, pulls.INCREMENTAL, now)
        outbox.enqueue(db, account.id, kind.value, pull.to_payload(), priority=PAGED_LIST_PRIORITY)
    return True
