"""Connecting -> Connected: the first sessions pull the QuickBooks lists we match against.

Terms and the chart of accounts come whole (they are small; the General tab needs
them); items (every kind) and customers come in iterator pages, all four in parallel so
each Web Connector round trip carries as much as it can. The account reads
"Connecting" until all four lists are in, then "Connected".

A session that dies half-way leaves the unfinished pulls in the outbox; the next
session carries on (an items pull restarts its list, since QuickBooks iterators die with
the session) and never asks again for a list already finished.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import outbox
from ..backends.base import ListName, OperationKind
from ..store.models import Account, ConnectionStatus, OperationState, OutboxOperation, QbAccount, QbTerms, utcnow
from . import pulls

INITIAL_PREFIX = "initial:"
WHOLE_LISTS = ((OperationKind.SYNC_TERMS, ListName.TERMS, QbTerms), (OperationKind.SYNC_ACCOUNTS, ListName.ACCOUNTS,
               QbAccount))
PAGED_LISTS = ((OperationKind.SYNC_ITEMS, ListName.ITEMS), (OperationKind.SYNC_CUSTOMERS, ListName.CUSTOMERS))
WHOLE_LIST_PRIORITY = 10
PAGED_LIST_PRIORITY = 20


def start_initial_sync(db: Session, account: Account) -> None:
    """Queue the four initial pulls once (a repeat is a no-op); the status becomes Connecting."""
    now = utcnow()
    for kind, list_name, _model in WHOLE_LISTS:
        pulls.cursor(db, account.id, list_name)
        outbox.enqueue(db, account.id, kind.value, {}, dedupe_key=INITIAL_PREFIX + kind.value,
                       priority=WHOLE_LIST_PRIORITY)
    for kind, list_name in PAGED_LISTS:
        pull = pulls.new_pull(db, account, list_name, pulls.INITIAL, now)
        outbox.enqueue(db, account.id, kind.value, pull.to_payload(), dedupe_key=INITIAL_PREFIX + kind.value,
                       priority=PAGED_LIST_PRIORITY)
    account.status = ConnectionStatus.CONNECTING.value


def _whole_list_done(db: Session, account_id: int, kind: OperationKind) -> bool:
    state = db.scalar(select(OutboxOperation.state).where(
        OutboxOperation.account_id == account_id, OutboxOperation.dedupe_key == INITIAL_PREFIX + kind.value))
    return state == OperationState.DONE.value


def initial_complete(db: Session, account: Account) -> bool:
    """Whether all four lists have been pulled once (their cursors say so)."""
    return all(pulls.initial_done(db, account.id, name) for name in ListName)


def refresh_connection_status(db: Session, account: Account) -> None:
    """Mark terms and accounts done once their pulls are; Connecting becomes Connected when all four are."""
    now = utcnow()
    for kind, list_name, model in WHOLE_LISTS:
        state = pulls.cursor(db, account.id, list_name)
        if not state.initial_done and _whole_list_done(db, account.id, kind):
            state.initial_done = True
            state.records_seen = state.total_hint = db.scalar(
                select(func.count()).select_from(model).where(model.account_id == account.id))
            state.updated_at = now
    if account.status == ConnectionStatus.CONNECTING.value and initial_complete(db, account):
        account.status = ConnectionStatus.CONNECTED.value
        account.status_message = None
