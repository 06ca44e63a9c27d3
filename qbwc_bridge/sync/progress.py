"""How far the initial sync has come, for the status API and the admin's "Connecting" bar.

The phase is the first list not yet pulled, in the help article's order (terms,
accounts, items, customers); the percent weighs each list by the share of the work it
usually is (items and customers dwarf the rest), and within a paged list by the records
seen against QuickBooks' own count (``iteratorRemainingCount``). Counts come from the
mirror, so they are true even while a pull restarts.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..operations import ListName
from ..store.models import Account, ConnectionStatus, QbAccount, QbTerms, SyncCursor
from . import pulls

WEIGHTS = {ListName.TERMS: 2, ListName.ACCOUNTS: 3, ListName.ITEMS: 50, ListName.CUSTOMERS: 45}


def connection_progress(db: Session, account: Account) -> dict[str, Any]:
    """``{"phase": "verifying|terms|accounts|items|customers|done", "percent": int, "counts": {...}}``."""
    cursors = {c.list_name: c for c in db.scalars(select(SyncCursor).where(SyncCursor.account_id == account.id))}
    counts = {
        "terms": db.scalar(select(func.count()).select_from(QbTerms).where(QbTerms.account_id == account.id)),
        "accounts": db.scalar(select(func.count()).select_from(QbAccount).where(QbAccount.account_id == account.id)),
        **pulls.mirror_counts(db, account.id),
    }
    done_share = 0.0
    phase = "done"
    for list_name, weight in WEIGHTS.items():
        state = cursors.get(list_name.value)
        if state is not None and state.initial_done:
            done_share += weight
            continue
        if phase == "done":
            phase = list_name.value
        if state is not None and state.total_hint:
            done_share += weight * min(state.records_seen / state.total_hint, 1.0)
    if not cursors or account.status == ConnectionStatus.NOT_CONNECTED.value or (
        phase == ListName.TERMS.value and not account.company_name
    ):
        phase = "verifying"  # no session has verified the company file yet
    percent = 100 if phase == "done" else min(99, int(done_share * 100 / sum(WEIGHTS.values())))
    return {"phase": phase, "percent": percent, "counts": counts}
