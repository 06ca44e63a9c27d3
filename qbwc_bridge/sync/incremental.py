"""Every later session: pull what changed in QuickBooks since the last pull, re-match only that.

When the schedule is asked (a pull backend's QuickBooks comes in, a push backend's worker
drives) and a list's last pull is older than its schedule, an incremental pull is queued:
the records modified since the high-water mark minus :data:`~.pulls.OVERLAP`, inactive
ones included (a record made inactive must reach the mirror too). Records already mirrored
with the same QuickBooks id and version are skipped, and only BlueTrace records whose
counterpart changed are re-matched (``pulls.apply_page``). When nothing is due, nothing
is queued.

Terms and accounts are small and change rarely: they are pulled whole, once an hour, and so
are the optional lists a backend offers (Online's sales tax codes). An optional list never
pulled yet (an account connected before the list was known to the bridge) is due at once;
it never holds back the pulls of the others, nor "Connected".

Beside each incremental pull of items (customers), a backend that can tell deletions
(:attr:`~qbwc_bridge.backends.base.Backend.deletion_kinds`) is asked which items
(customers, and our invoices) QuickBooks deleted or merged away since the same moment:
separate operations rather than part of the pull, because a pull is a chain of iterator
pages while a deletions query is one request, and one that fails must not hold back the
modifications (nor they it). :mod:`.deletions` applies them.

Beside each incremental pull of customers, a backend that can tell how invoices stand
(:attr:`~qbwc_bridge.backends.base.Backend.tells_invoice_changes`) is also asked which invoices
QuickBooks modified (paid, voided, edited) since the last such pull: one operation of its own for
the same reasons, starting from its own mark (:func:`.invoice_states.next_since`). Our invoices
are customers' transactions, so they ride with the customers' pace.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import backends, outbox
from ..operations import Deletable, DeletionsPull, InvoiceChangesPull, ListName, OperationKind
from ..store.models import Account, OperationState, OutboxOperation
from . import invoice_states, pulls
from .initial import (
    INITIAL_PREFIX,
    OPTIONAL_LISTS,
    PAGED_LIST_PRIORITY,
    PAGED_LISTS,
    WHOLE_LIST_PRIORITY,
    WHOLE_LISTS,
    initial_complete,
    offered_lists,
)

SCHEDULE_SLACK = dt.timedelta(seconds=15)  # a pull backend's timer (and a worker's wake-up) is not exact
WHOLE_LIST_EVERY = dt.timedelta(hours=1)
WAITING = (*outbox.READY_STATES, OperationState.SENT.value)
PULL_KINDS = {list_name: kind for kind, list_name in PAGED_LISTS} | {
    list_name: kind for kind, list_name, _model in (*WHOLE_LISTS, *OPTIONAL_LISTS)
}
WHOLE_LIST_KINDS = frozenset(kind for kind, _name, _model in (*WHOLE_LISTS, *OPTIONAL_LISTS))
OPTIONAL_LIST_NAMES = frozenset(list_name for _kind, list_name, _model in OPTIONAL_LISTS)
NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)  # "last pulled" of an optional list never pulled: due now
# What QuickBooks deleted is asked with the pull of the list it belongs to; our invoices ride with customers.
DELETIONS = {
    ListName.ITEMS: ((OperationKind.SYNC_ITEM_DELETIONS, Deletable.ITEMS),),
    ListName.CUSTOMERS: ((OperationKind.SYNC_CUSTOMER_DELETIONS, Deletable.CUSTOMERS),
                         (OperationKind.SYNC_INVOICE_DELETIONS, Deletable.INVOICES)),
}
DELETIONS_PRIORITY = PAGED_LIST_PRIORITY - 1  # just before the pages: a merge's survivor then lands on a clean mirror


def queue_incremental_sync(db: Session, account: Account, now: dt.datetime, run_every_minutes: int) -> bool:
    """Queue the pulls that are due for a connected account. Returns whether any was queued."""
    if not initial_complete(db, account):
        return False
    queued = False
    for list_name, due_at in _due_times(db, account, run_every_minutes).items():
        if due_at is None or due_at <= now:
            queued |= queue_pull(db, account, list_name, now)
    return queued


def next_pull_at(db: Session, account: Account, run_every_minutes: int) -> dt.datetime | None:
    """When the next incremental pull falls due (None: the initial sync has not finished)."""
    if not initial_complete(db, account):
        return None
    times = _due_times(db, account, run_every_minutes).values()
    return None if None in times else min(times)


def _due_times(db: Session, account: Account, run_every_minutes: int) -> dict[ListName, dt.datetime | None]:
    """Each list's next pull: items and customers at the schedule's pace, the whole lists hourly."""
    every = dt.timedelta(minutes=run_every_minutes) - SCHEDULE_SLACK
    due: dict[ListName, dt.datetime | None] = {}
    for lists, interval in (([name for _kind, name in PAGED_LISTS], every),
                            ([name for _kind, name, _model in (*WHOLE_LISTS, *offered_lists(account))],
                             WHOLE_LIST_EVERY)):
        for list_name in lists:
            state = pulls.cursor(db, account.id, list_name)
            last = state.updated_at
            if list_name in OPTIONAL_LIST_NAMES and not state.initial_done and not _first_pull_queued(
                    db, account, PULL_KINDS[list_name]):
                last = NEVER
            due[list_name] = None if last is None else last + interval
    return due


def queue_pull(db: Session, account: Account, list_name: ListName, now: dt.datetime) -> bool:
    """Queue an incremental pull of one list unless one is already waiting or the list was never pulled.

    Returns whether a pull was queued.
    """
    if not pulls.initial_done(db, account.id, list_name) and list_name not in OPTIONAL_LIST_NAMES:
        return False
    kind = PULL_KINDS[list_name]
    if _waiting(db, account, kind):
        return False
    if kind in WHOLE_LIST_KINDS:
        # An optional list's first pull carries the initial sync's key, so that its cursor is marked pulled
        # once it is done (``initial.refresh_connection_status``) and it is due hourly from then on.
        first = list_name in OPTIONAL_LIST_NAMES and not pulls.initial_done(db, account.id, list_name)
        outbox.enqueue(db, account.id, kind.value, {}, priority=WHOLE_LIST_PRIORITY,
                       dedupe_key=INITIAL_PREFIX + kind.value if first else None)
        pulls.cursor(db, account.id, list_name).updated_at = now  # whole lists have no page to report back
    else:
        pull = pulls.new_pull(db, account, list_name, pulls.INCREMENTAL, now)
        outbox.enqueue(db, account.id, kind.value, pull.to_payload(), priority=PAGED_LIST_PRIORITY)
        offered = backends.for_account(account).deletion_kinds
        for deletions_kind, subject in DELETIONS[list_name]:
            if deletions_kind in offered and not _waiting(db, account, deletions_kind):
                since = _deletions_since(db, account, deletions_kind, pull.since)
                outbox.enqueue(db, account.id, deletions_kind.value, DeletionsPull(subject, since).to_payload(),
                               priority=DELETIONS_PRIORITY)
        if (list_name is ListName.CUSTOMERS and backends.for_account(account).tells_invoice_changes
                and not _waiting(db, account, invoice_states.KIND)):
            since = invoice_states.next_since(db, account, pull.since)
            outbox.enqueue(db, account.id, invoice_states.KIND.value, InvoiceChangesPull(since).to_payload(),
                           priority=DELETIONS_PRIORITY)
    return True


def _deletions_since(db: Session, account: Account, kind: OperationKind, since: dt.datetime | None) -> dt.datetime | None:
    """Where the next deletions pull starts: with the list's pull, or earlier if the last one failed.

    The list's mark moves on with its pull whether or not the deletions were heard, so a
    deletions pull that failed hands its own start to the next one: nothing deleted meanwhile is missed.
    """
    last = db.scalar(select(OutboxOperation).where(OutboxOperation.account_id == account.id,
                                                   OutboxOperation.kind == kind.value)
                     .order_by(OutboxOperation.id.desc()).limit(1))
    if last is None or last.state != OperationState.FAILED.value:
        return since
    failed_since = DeletionsPull.from_payload(last.payload).since
    return None if failed_since is None or since is None else min(failed_since, since)


def _first_pull_queued(db: Session, account: Account, kind: OperationKind) -> bool:
    """Whether an optional list's first pull was ever queued (at connect, or later for an older account)."""
    return bool(db.scalar(select(func.count()).select_from(OutboxOperation).where(
        OutboxOperation.account_id == account.id, OutboxOperation.dedupe_key == INITIAL_PREFIX + kind.value)))


def _waiting(db: Session, account: Account, kind: OperationKind) -> bool:
    return bool(db.scalar(select(func.count()).select_from(OutboxOperation).where(
        OutboxOperation.account_id == account.id, OutboxOperation.kind == kind.value,
        OutboxOperation.state.in_(WAITING))))
