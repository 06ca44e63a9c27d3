"""What a list pull brings back: mirror each page, move the high-water mark, re-match.

A backend pulls pages (however its QuickBooks pages a list) and hands
each to :func:`apply_page`, then calls :func:`finish_pull` when QuickBooks has nothing
left. Upserts are idempotent (same QuickBooks id and version = untouched), so a page seen
twice - a restarted pull, an overlapping incremental window - costs nothing. Where the
mark is put, and why, is told in :mod:`.pulls`.
"""
from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session

from ..operations import ListName, ListPage, ListPull
from ..store.models import Account
from . import mirror, pulls, records
from .facts import SIDES

log = logging.getLogger(__name__)


def apply_page(db: Session, account: Account, pull: ListPull, page: ListPage, *, restarted: bool) -> mirror.Upserted:
    """Mirror one page; incremental pages re-match the BlueTrace records whose counterpart changed.

    ``restarted``: this page is the first of the pull (or of its restart after the
    QuickBooks session that held the iterator ended), so initial progress counts anew.
    """
    upsert = mirror.upsert_items if pull.list_name is ListName.ITEMS else mirror.upsert_customers
    result = upsert(db, account.id, page.rows)
    if pull.mode == pulls.INITIAL:
        # Every cursor in one statement, kept for the rest of the call (the other list's page and
        # the progress that follows read theirs too): one SELECT a call where each read its own.
        pulls.load_cursors(db, account.id)
        state = pulls.cursor(db, account.id, pull.list_name)
        state.records_seen = (0 if restarted else state.records_seen) + result.seen
        state.total_hint = state.records_seen + (page.remaining or 0)
    elif result.changed:
        rematch_changed(db, account, pull.list_name, result.changed)
    return result


def finish_pull(db: Session, account: Account, pull: ListPull, newest: dt.datetime | None, now: dt.datetime) -> None:
    """QuickBooks has nothing more for this pull: move the high-water mark; after the first, match."""
    state = pulls.cursor(db, account.id, pull.list_name)
    if newest is not None:
        mark = newest - max(now - pull.started_at, dt.timedelta(0))
        if state.high_water_mark is None or mark > state.high_water_mark:
            state.high_water_mark = mark
    state.updated_at = now
    if pull.mode == pulls.INITIAL and not state.initial_done:
        state.initial_done = True
        state.total_hint = state.records_seen
        log.info("account %s: initial %s pull done (%s records)", account.id, pull.list_name.value, state.records_seen)
        rematch_changed(db, account, pull.list_name, None)


def rematch_changed(db: Session, account: Account, list_name: ListName, changed: list[str] | None) -> None:
    """Re-match after QuickBooks records changed (None: the whole list arrived)."""
    side = SIDES[list_name]
    if changed is None:
        records.rematch(db, account, side)
    else:
        records.rematch(db, account, side, (), list(changed))
