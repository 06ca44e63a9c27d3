"""Connecting -> Connected: the first sessions pull the QuickBooks lists we match against.

Terms and the chart of accounts come whole (they are small; the General tab needs
them); items (every kind) and customers come in iterator pages, all four in parallel so
each round trip with QuickBooks carries as much as it can. The account reads
"Connecting" until all four lists are in, then "Connected".

A session that dies half-way leaves the unfinished pulls in the outbox; the next
session carries on (an items pull restarts its list, since QuickBooks iterators die with
the session) and never asks again for a list already finished.

A pull QuickBooks refuses for good (personal data not allowed, permission denied, ...)
would otherwise leave the account "Connecting" forever with the reason only in the
outbox: the account shows the refusal as its error, every contact with QuickBooks asks for
that list again (the person may have fixed the permission meanwhile), and the error
clears once every list has come through.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from .. import backends, outbox
from ..operations import ListName, OperationKind
from ..store.models import (
    Account,
    ConnectionStatus,
    OperationState,
    OutboxOperation,
    QbAccount,
    QbTaxCode,
    QbTerms,
    utcnow,
)
from . import pulls

INITIAL_PREFIX = "initial:"
WHOLE_LISTS = ((OperationKind.SYNC_TERMS, ListName.TERMS, QbTerms), (OperationKind.SYNC_ACCOUNTS, ListName.ACCOUNTS,
               QbAccount))
PAGED_LISTS = ((OperationKind.SYNC_ITEMS, ListName.ITEMS), (OperationKind.SYNC_CUSTOMERS, ListName.CUSTOMERS))
# Whole lists only some QuickBooks hold (``Backend.optional_lists``): pulled beside terms and accounts,
# never waited for before "Connected".
OPTIONAL_LISTS = ((OperationKind.SYNC_TAX_CODES, ListName.TAX_CODES, QbTaxCode),)
# The lists every account needs before it is Connected (matching compares against them).
REQUIRED_LISTS = (ListName.TERMS, ListName.ACCOUNTS, ListName.ITEMS, ListName.CUSTOMERS)
WHOLE_LIST_PRIORITY = 10
PAGED_LIST_PRIORITY = 20
PULL_KINDS = {kind.value: list_name for kind, list_name, _model in (*WHOLE_LISTS, *OPTIONAL_LISTS)} | {
    kind.value: list_name for kind, list_name in PAGED_LISTS
}
LIST_REFUSED = "list_refused"  # Account.error_code while a list pull stands refused


def start_initial_sync(db: Session, account: Account) -> None:
    """Queue the four initial pulls once (a repeat is a no-op), and the backend's optional lists; Connecting."""
    now = utcnow()
    for kind, list_name, _model in (*WHOLE_LISTS, *offered_lists(account)):
        pulls.cursor(db, account.id, list_name)
        outbox.enqueue(db, account.id, kind.value, {}, dedupe_key=INITIAL_PREFIX + kind.value,
                       priority=WHOLE_LIST_PRIORITY)
    for kind, list_name in PAGED_LISTS:
        pull = pulls.new_pull(db, account, list_name, pulls.INITIAL, now)
        outbox.enqueue(db, account.id, kind.value, pull.to_payload(), dedupe_key=INITIAL_PREFIX + kind.value,
                       priority=PAGED_LIST_PRIORITY)
    account.status = ConnectionStatus.CONNECTING.value


def offered_lists(account: Account) -> tuple[tuple[OperationKind, ListName, type], ...]:
    """The optional whole lists the account's QuickBooks holds (see OPTIONAL_LISTS)."""
    offered = backends.for_account(account).optional_lists
    return tuple(entry for entry in OPTIONAL_LISTS if entry[1] in offered)


def _whole_list_done(db: Session, account_id: int, kind: OperationKind) -> bool:
    state = db.scalar(select(OutboxOperation.state).where(
        OutboxOperation.account_id == account_id, OutboxOperation.dedupe_key == INITIAL_PREFIX + kind.value))
    return state == OperationState.DONE.value


def initial_complete(db: Session, account: Account) -> bool:
    """Whether all four lists have been pulled once (their cursors say so); optional lists are not waited for."""
    return all(pulls.initial_done(db, account.id, name) for name in REQUIRED_LISTS)


def _latest_pulls(db: Session, account_id: int) -> list[Row]:
    """The newest pull of each list (the one that says how that list stands) as a row: its id, kind,
    state and error message. Every authenticate with work and every answer asks; loading whole
    operations to read these cost more than the statement."""
    return list(db.execute(_LATEST_PULLS, {"account_id": account_id}))


# Built once: every authenticate and every answer asks.
_LATEST_PULLS = (select(OutboxOperation.id, OutboxOperation.kind, OutboxOperation.state, OutboxOperation.error_message)
                 .where(OutboxOperation.id.in_(
                     select(func.max(OutboxOperation.id))
                     .where(OutboxOperation.account_id == bindparam("account_id"), OutboxOperation.kind.in_(PULL_KINDS))
                     .group_by(OutboxOperation.kind))))


def retry_refused_pulls(db: Session, account: Account) -> list[Row]:
    """At the start of a contact with QuickBooks: ask again for every list it refused last time.

    Returns how the newest pull of each list stands now, for :func:`refresh_connection_status`."""
    latest = _latest_pulls(db, account.id)
    refused = [row.id for row in latest if row.state == OperationState.FAILED.value]
    if not refused:
        return latest
    for operation_id in refused:
        outbox.requeue(db.get(OutboxOperation, operation_id))
    return _latest_pulls(db, account.id)  # as they stand now (the unit of work flushes first)


def _show_refusals(db: Session, account: Account, now: dt.datetime, latest: list[Row] | None) -> bool:
    """Put a refused pull on the account as its error; clear that error once every list came through.

    Returns whether a refusal is showing. While a refused list is being asked for again,
    the error stays: it clears only when no pull is failed or still on its way.
    """
    if latest is None:
        latest = _latest_pulls(db, account.id)
    refused = [op for op in latest if op.state == OperationState.FAILED.value]
    if refused:
        op = min(refused, key=lambda o: o.id)
        list_name = PULL_KINDS[op.kind].value
        if account.error_code != LIST_REFUSED or account.error_at is None:
            account.error_at = now  # since when it has been refused, not when we last looked
        account.status = ConnectionStatus.ERROR.value
        account.error_code = LIST_REFUSED
        account.error_action = backends.for_account(account).list_refused_action
        account.status_message = (
            f"QuickBooks refused to send its {list_name} list: {op.error_message or 'no reason given'} "
            f"{account.error_action}"
        )
        return True
    if account.error_code != LIST_REFUSED:
        return False
    if any(op.state != OperationState.DONE.value for op in latest):
        return True  # asked again, no answer yet: keep saying why
    account.error_code = account.status_message = account.error_action = None
    account.status = ConnectionStatus.CONNECTING.value
    return False


def refresh_connection_status(db: Session, account: Account, latest: list[Row] | None = None) -> None:
    """Mark terms and accounts done once their pulls are; Connecting becomes Connected when all four are.

    A list QuickBooks refused shows as the account's error instead (see the module docstring).
    ``latest``: the newest pull of each list when the caller has just read them (``schedule.plan``)
    and queued none since; read here otherwise.
    """
    now = utcnow()
    done = pulls.lists_done(db, account.id)  # one read; once in, a list's cursor is only read when it is not
    for kind, list_name, model in (*WHOLE_LISTS, *offered_lists(account)):
        if list_name.value not in done and _whole_list_done(db, account.id, kind):
            state = pulls.cursor(db, account.id, list_name)
            state.initial_done = True
            state.records_seen = state.total_hint = db.scalar(
                select(func.count()).select_from(model).where(model.account_id == account.id))
            state.updated_at = now
            done.add(list_name.value)
    if _show_refusals(db, account, now, latest):
        return
    if account.status == ConnectionStatus.CONNECTING.value and all(name.value in done for name in REQUIRED_LISTS):
        account.status = ConnectionStatus.CONNECTED.value
        account.status_message = None
