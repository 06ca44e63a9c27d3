"""Where each QuickBooks list stands: its cursor, the next pull to ask for, the mirror's size.

What a pull brings back is applied by :mod:`.pull_results`, which re-matches and so sits
above matching; this module sits below it (matching asks whether the initial pull is done).

The high-water mark is QuickBooks' own TimeModified, never our clock, with one
correction: a record changed *while* a long pull ran may sit on a page we had already
read, with a TimeModified older than the newest one we saw. Such a change happened
after the pull started, so it is no older than ``newest - (how long the pull took)``
(a duration on our clock, so clock skew between us and the QuickBooks PC cancels out).
The next incremental pull asks from that point minus :data:`OVERLAP`.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ..operations import ListName, ListPull
from ..store.models import Account, QbCustomer, QbItem, SyncCursor

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


def load_cursors(db: Session, account_id: int) -> None:
    """Read the account's cursors in one statement, so the ``db.get`` of each that follows needs none.

    The session's identity map holds unchanged objects only weakly: kept in ``db.info`` for the
    unit of work, the cursors stay there (else each of the dozen ``db.get`` of a plan reads one again).
    """
    loaded = db.info.setdefault("sync_cursors", {})
    if account_id not in loaded:  # once per unit of work: later changes are on these very objects
        loaded[account_id] = list(db.scalars(_CURSORS, {"account_id": account_id}))


_CURSORS = select(SyncCursor).where(SyncCursor.account_id == bindparam("account_id"))


def lists_done(db: Session, account_id: int) -> set[str]:
    """The names of the lists whose initial pull is done, as the unit of work stands (it flushes first)."""
    return set(db.scalars(_LISTS_DONE, {"account_id": account_id}))


_LISTS_DONE = select(SyncCursor.list_name).where(SyncCursor.account_id == bindparam("account_id"),
                                                 SyncCursor.initial_done.is_(True))


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


def mirror_counts(db: Session, account_id: int) -> dict[str, int]:
    """How many QuickBooks items and customers the mirror holds (inactive included)."""
    return {
        "qb_items": db.scalar(select(func.count()).select_from(QbItem).where(QbItem.account_id == account_id)),
        "qb_customers": db.scalar(
            select(func.count()).select_from(QbCustomer).where(QbCustomer.account_id == account_id)
        ),
    }
