"""Where each QuickBooks list stands, page by page: the engine's side of every list pull.

A backend pulls pages (Desktop: iterator pages inside Web Connector sessions) and hands
each to :func:`apply_page`, then calls :func:`finish_pull` when QuickBooks has nothing
left. Upserts are idempotent (same ListID + EditSequence = untouched), so a page seen
twice - a restarted pull, an overlapping incremental window - costs nothing.

The high-water mark is QuickBooks' own TimeModified, never our clock, with one
correction: a record changed *while* a long pull ran may sit on a page we had already
read, with a TimeModified older than the newest one we saw. Such a change happened
after the pull started, so it is no older than ``newest - (how long the pull took)``
(a duration on our clock, so clock skew between us and the QuickBooks PC cancels out).
The next incremental pull asks from that point minus :data:`OVERLAP`.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..backends.base import ListName, ListPage, ListPull
from ..store.models import Account, QbCustomer, QbItem, SyncCursor
from . import mirror

log = logging.getLogger(__name__)

OVERLAP = dt.timedelta(minutes=70)
"""How far before the high-water mark incremental pulls start. QuickBooks reports
TimeModified with the wrong UTC offset around daylight-saving changes (a whole hour),
plus ten minutes for clocks and rounding; de-duplication by EditSequence makes the
overlap cheap."""

INITIAL, INCREMENTAL = "initial", "incremental"
PAGED_LISTS = (ListName.ITEMS, ListName.CUSTOMERS)


def cursor(db: Session, account_id: int, list_name: ListName) -> SyncCursor:
    """The list's cursor, created on first use."""
    found = db.get(SyncCursor, (account_id, list_name.value))
    if found is None:
        found = SyncCursor(account_id=account_id, list_name=list_name.value, initial_done=False, records_seen=0)
        db.add(found)
        db.flush()
    return found


def initial_done(db: Session, account_id: int, list_name: ListName) -> bool:
    found = db.get(SyncCursor, (account_id, list_name.value))
    return bool(found and found.initial_done)


def new_pull(db: Session, account: Account, list_name: ListName, mode: str, now: dt.datetime) -> ListPull:
    """A pull of the whole list (initial) or of what changed since the high-water mark minus the overlap."""
    since = None
    if mode == INCREMENTAL:
        mark = cursor(db, account.id, list_name).high_water_mark
        since = None if mark is None else mark - OVERLAP
    return ListPull(list_name, mode, since, now)


def apply_page(db: Session, account: Account, pull: ListPull, page: ListPage, *, restarted: bool) -> mirror.Upserted:
    """Mirror one page; incremental pages re-match the BlueTrace records whose counterpart changed.

    ``restarted``: this page is the first of the pull (or of its restart after the
    QuickBooks session that held the iterator ended), so initial progress counts anew.
    """
    upsert = mirror.upsert_items if pull.list_name is ListName.ITEMS else mirror.upsert_customers
    result = upsert(db, account.id, page.rows)
    if pull.mode == INITIAL:
        state = cursor(db, account.id, pull.list_name)
        state.records_seen = (0 if restarted else state.records_seen) + result.seen
        state.total_hint = state.records_seen + page.remaining
    elif result.changed:
        rematch_changed(db, account, pull.list_name, result.changed)
    return result


def finish_pull(db: Session, account: Account, pull: ListPull, newest: dt.datetime | None, now: dt.datetime) -> None:
    """QuickBooks has nothing more for this pull: move the high-water mark; after the first, match."""
    state = cursor(db, account.id, pull.list_name)
    if newest is not None:
        mark = newest - max(now - pull.started_at, dt.timedelta(0))
        if state.high_water_mark is None or mark > state.high_water_mark:
            state.high_water_mark = mark
    state.updated_at = now
    if pull.mode == INITIAL and not state.initial_done:
        state.initial_done = True
        state.total_hint = state.records_seen
        log.info("account %s: initial %s pull done (%s records)", account.id, pull.list_name.value, state.records_seen)
        rematch_changed(db, account, pull.list_name, None)


def rematch_changed(db: Session, account: Account, list_name: ListName, changed: list[str] | None) -> None:
    """Re-match after QuickBooks records changed (None: the whole list arrived)."""
    from . import customers, items

    module = items if list_name is ListName.ITEMS else customers
    if changed is None:
        module.rematch_all(db, account)
    else:
        module.rematch_for_quickbooks_changes(db, account, changed)


def mirror_counts(db: Session, account_id: int) -> dict[str, int]:
    """How many QuickBooks items and customers the mirror holds (inactive included)."""
    return {
        "qb_items": db.scalar(select(func.count()).select_from(QbItem).where(QbItem.account_id == account_id)),
        "qb_customers": db.scalar(
            select(func.count()).select_from(QbCustomer).where(QbCustomer.account_id == account_id)
        ),
    }
