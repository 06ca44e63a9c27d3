"""Records deleted or merged away in QuickBooks: out of the mirror, re-match, tell the orders.

Any backend that learns of deletions (Desktop: ListDeletedQuery / TxnDeletedQuery beside
each incremental pull) hands them here as a :class:`~qbwc_bridge.operations.Gone`.

* **Items and customers** leave the mirror: the row is deleted, not flagged, because a
  record QuickBooks no longer holds can be neither matched nor referenced on an invoice,
  and every reader of the mirror (matching, suggestions, the Items/Customers tabs, the
  invoice rules) would otherwise need to learn a new flag. A merge in QuickBooks is the
  merged-away record deleted with its references moved to the survivor, so the same path
  serves both; the BlueTrace records matched to a gone record are re-matched at once -
  onto the survivor when it carries the same key, else the *not found* issue with its
  resolution, which names the record that went. A pinned match (a person's pick, our
  creation) to a gone record is not kept: matching keeps a pin only while its QuickBooks
  record exists. Automatic creation does not re-create what someone just deleted: such a
  record waits for a person's Create in QuickBooks (see :mod:`.records`).
* **Our invoices** deleted in QuickBooks: the order shows *deleted* with an action. It is
  never created again by itself (a person may have deleted it on purpose, e.g. a
  duplicate they entered by hand); Retry is the person's choice to create it again.
  ``invoice.deleted`` is recorded in the same unit of work.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from .. import outbox
from ..operations import Deletable, Gone, ListName
from ..store.models import Account, OperationState, OutboxOperation
from ..webhooks import events as webhook_events
from . import invoices, records
from .facts import SIDES

log = logging.getLogger(__name__)

CHUNK = 500  # ids per IN (...): well inside every database's parameter limit
DELETED_CODE = "deleted_in_quickbooks"
DELETED_ERROR = "This invoice was deleted in QuickBooks after the bridge created it."
DELETED_ACTION = (
    "If it was deleted by mistake, click Create it again (Invoices tab) to create it in QuickBooks again.\n"
    "If it should stay deleted, leave it: the bridge does not create it again by itself."
)
LISTS = {Deletable.ITEMS: ListName.ITEMS, Deletable.CUSTOMERS: ListName.CUSTOMERS}


def apply(db: Session, account: Account, gone: Gone) -> list[str]:
    """Apply what QuickBooks reports gone. Returns the ids that concerned us (mirrored, or our invoices)."""
    if gone.subject is Deletable.INVOICES:
        return invoices_deleted(db, account, gone.ids)
    return records_gone(db, account, LISTS[gone.subject], gone.ids)


def records_gone(db: Session, account: Account, list_name: ListName, ids: tuple[str, ...] | list[str]) -> list[str]:
    """Drop deleted or merged-away QuickBooks records from the mirror and re-match what was matched to them."""
    side = SIDES[list_name]
    model = side.qb_model
    wanted = sorted(set(ids))
    held: list[str] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        names = dict(db.execute(select(model.list_id, model.full_name).where(
            model.account_id == account.id, model.list_id.in_(chunk))).all())
        held += sorted(names)
        # Said on the records that were matched to one (re-matching keeps it while they stay unmatched):
        # their issue names what went, and automatic creation leaves them to a person.
        for row in db.scalars(select(side.model).where(side.model.account_id == account.id,
                                                       side.model.qb_list_id.in_(chunk))):
            row.issue_detail = {**(row.issue_detail or {}),
                                "gone": {"list_id": row.qb_list_id, "name": names.get(row.qb_list_id, row.qb_list_id)}}
        db.execute(delete(model).where(model.account_id == account.id, model.list_id.in_(chunk))
                   .execution_options(synchronize_session="fetch"))
    db.flush()
    if held:
        log.info("account %s: %s QuickBooks %s(s) deleted or merged away: %s", account.id, len(held), side.noun,
                 ", ".join(held[:10]))
    # Re-matched even when none was mirrored: a record matched to one (a mirror restored from an
    # older backup) must not stay matched to something QuickBooks no longer holds.
    records.rematch(db, account, side, (), wanted)
    return held


def invoices_deleted(db: Session, account: Account, txn_ids: tuple[str, ...] | list[str]) -> list[str]:
    """Our invoices deleted in QuickBooks: their orders show it, with the choice to create them again.

    Returns the order ids marked.
    """
    marked: list[str] = []
    for order in invoices.created_orders(db, account.id, txn_ids):
        op = db.get(OutboxOperation, order.operation_id) if order.operation_id else None
        if op is not None and op.state == OperationState.DONE.value:
            # Failed rather than done, so that Retry (a person's choice) can queue it again.
            outbox.fail(op, DELETED_CODE, DELETED_ERROR)
        if op is not None:
            # Creating it again is a new write: under the old request id QuickBooks Online would answer
            # with the deleted invoice instead of creating one.
            op.request_id = None
        invoices.mark_deleted(order, action=DELETED_ACTION, error=DELETED_ERROR, code=DELETED_CODE)
        # In this unit of work, once: only a created invoice is marked, so the overlap's repeat finds none.
        webhook_events.record_invoice(db, order, webhook_events.EventType.INVOICE_DELETED)
        marked.append(order.order_id)
    if marked:
        log.info("account %s: invoices of orders %s were deleted in QuickBooks", account.id, ", ".join(marked[:10]))
    return marked
