"""Connecting → Connected: the first sessions pull the QuickBooks lists we match against."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import outbox
from ..store.models import Account, ConnectionStatus, OperationState, OutboxOperation

INITIAL_PREFIX = "initial:"
# Terms and accounts first: the General tab needs them, and they are small.
INITIAL_OPERATIONS = (("sync_terms", 10), ("sync_accounts", 10))


def start_initial_sync(db: Session, account: Account) -> None:
    """Queue the initial pulls once; status becomes Connecting."""
    for kind, priority in INITIAL_OPERATIONS:
        outbox.enqueue(db, account.id, kind, {}, dedupe_key=INITIAL_PREFIX + kind, priority=priority)
    account.status = ConnectionStatus.CONNECTING.value


def initial_sync_progress(db: Session, account_id: int) -> tuple[int, int]:
    """(done, total) initial operations."""
    rows = db.execute(
        select(OutboxOperation.state, func.count())
        .where(OutboxOperation.account_id == account_id, OutboxOperation.dedupe_key.like(INITIAL_PREFIX + "%"))
        .group_by(OutboxOperation.state)
    ).all()
    total = sum(count for _, count in rows)
    done = sum(count for state, count in rows if state == OperationState.DONE.value)
    return done, total


def refresh_connection_status(db: Session, account: Account) -> None:
    """Connecting becomes Connected once every initial pull is done."""
    if account.status != ConnectionStatus.CONNECTING.value:
        return
    done, total = initial_sync_progress(db, account.id)
    if total and done == total:
        account.status = ConnectionStatus.CONNECTED.value
        account.status_message = None
