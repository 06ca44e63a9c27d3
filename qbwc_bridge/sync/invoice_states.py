"""Our invoices as QuickBooks holds them now: paid (fully, partly, not), voided, and their total.

After the bridge creates an invoice, a bookkeeper works on it in QuickBooks: records a payment,
voids it, edits a line. Every backend that can tell (``Backend.tells_invoice_changes``) is asked,
beside each incremental pull of customers, which invoices QuickBooks modified since the last
such pull (:class:`~qbwc_bridge.operations.InvoiceChangesPull`), and answers with each one's
:class:`~qbwc_bridge.operations.InvoiceState`. :func:`apply` keeps the state on the order:

* only invoices we created (an order holding that QuickBooks id, status *created*) are kept;
  every other invoice QuickBooks reports (typed by hand, another application's) is ignored;
* ``qb_total`` is QuickBooks' total, which differs from the order's when a person edited the
  lines: the view shows the difference rather than "correcting" either side;
* ``paid`` is *fully* when nothing is owed, *partly* when some of a non-zero total was paid,
  else *not*; a voided invoice is ``voided`` and never paid;
* ``invoice.paid`` is recorded in the same unit of work each time more of the total is paid
  (partly, then fully: two events); an edit of the total pays nothing and records nothing; the
  same state read again (the pulls overlap) records nothing, nor does a state older than the one
  held (QuickBooks' own modification time).

Where the next pull starts: the newest modification QuickBooks reported minus the list pulls'
overlap (QuickBooks' clock, not ours, as for the lists), or, when nothing was reported yet, where
the customers' pull starts. A failed pull hands its own start to the next one.
"""
from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..domain import PaidStatus
from ..operations import InvoiceChangesPull, InvoiceState, InvoiceStates, OperationKind
from ..store.models import Account, OperationState, OutboxOperation, PackedOrder
from ..webhooks import events as webhook_events
from . import invoices
from .pulls import OVERLAP

log = logging.getLogger(__name__)

CENT = Decimal("0.01")
KIND = OperationKind.SYNC_INVOICE_CHANGES
_NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def paid_status(total: Decimal, balance: Decimal, voided: bool) -> str | None:
    """``fully`` / ``partly`` / ``not``; None for a voided invoice (nothing is owed, and nothing was paid)."""
    if voided:
        return None
    if balance <= 0:
        return PaidStatus.FULLY.value
    if balance < total:
        return PaidStatus.PARTLY.value
    return PaidStatus.NOT.value


def apply(db: Session, account: Account, states: InvoiceStates) -> list[str]:
    """Keep what QuickBooks says of our invoices on their orders. Returns the ids of the orders that changed."""
    # One invoice twice in an answer (paged while it changed): the latest modification counts.
    by_id: dict[str, InvoiceState] = {}
    for state in sorted(states.invoices, key=lambda s: s.modified_at or _NEVER):
        by_id[state.id] = state
    changed = [order.order_id for order in invoices.created_orders(db, account.id, by_id)
               if _keep(order, by_id[order.txn_id])]
    if changed:
        log.info("account %s: QuickBooks changed the invoices of orders %s", account.id, ", ".join(changed[:10]))
    return changed


def _keep(order: PackedOrder, state: InvoiceState) -> bool:
    """Store one invoice's state; records ``invoice.paid`` when a payment changed what is owed."""
    if state.modified_at is not None and order.qb_modified_at is not None and state.modified_at < order.qb_modified_at:
        return False  # an older answer than the state held (read before a later change)
    total, balance = state.total.quantize(CENT), state.balance.quantize(CENT)
    paid = paid_status(total, balance, state.voided)
    before = (order.qb_total, order.qb_balance, order.paid, bool(order.voided))
    if before == (total, balance, paid, state.voided):
        return False  # read again (the pulls overlap): nothing to write, nothing to tell
    order.qb_modified_at = state.modified_at or order.qb_modified_at
    # A payment is more of the total paid (an edit of the total alone moves both, and pays nothing).
    paid_before = Decimal(0) if order.qb_total is None else order.qb_total - order.qb_balance
    paid_more = not state.voided and total - balance > paid_before
    order.qb_total, order.qb_balance, order.paid, order.voided = total, balance, paid, state.voided
    if paid_more:
        webhook_events.record_invoice(object_session(order), order, webhook_events.EventType.INVOICE_PAID)
    return True


def next_since(db: Session, account: Account, fallback: dt.datetime | None) -> dt.datetime | None:
    """Where the next invoice-state pull starts (see the module docstring)."""
    last = db.scalar(select(OutboxOperation).where(OutboxOperation.account_id == account.id,
                                                   OutboxOperation.kind == KIND.value)
                     .order_by(OutboxOperation.id.desc()).limit(1))
    if last is None:
        return fallback
    asked = InvoiceChangesPull.from_payload(last.payload).since
    if last.state == OperationState.FAILED.value:
        return None if asked is None or fallback is None else min(asked, fallback)
    newest = (last.result or {}).get("newest")
    if newest:
        return dt.datetime.fromisoformat(newest) - OVERLAP
    return asked if asked is not None else fallback


def result(states: InvoiceStates, changed: list[str], asked: InvoiceChangesPull) -> dict:
    """The operation's result: counts, and the newest modification seen (where the next pull starts)."""
    newest = states.newest
    if newest is None and asked.since is not None:
        newest = asked.since + OVERLAP  # nothing modified: the next pull asks from the same moment
    return {"invoices": len(states.invoices), "changed": len(changed),
            "newest": newest.isoformat() if newest else None}
