"""An invoice's trip to QuickBooks Desktop: InvoiceAdd, and exactly once when an answer is lost.

One outbox operation per packed order (kind ``invoice_add``, payload ``{"order_id"}``); the
order's status follows it (:func:`qbwc_bridge.sync.invoices.follow`).

**Exactly once.** An InvoiceAdd whose answer never arrived is *unconfirmed* (``verify_first``):
the Web Connector session was superseded or died, the response was lost, the server restarted,
QBWC reported a connectionError, an HRESULT did not prove that nothing ran, or the answer could
not be read. QuickBooks may have saved it, so it is never simply sent again. The next time it is
ready it travels as an **InvoiceQuery of the customer's invoices modified since the Add was
sent** (with their lines), found by what a bookkeeper cannot lose by editing the invoice:

1. an invoice carrying an ExternalGUID (qbXML 9.0+) is ours exactly when it is our GUID, and
   never when it carries another;
2. else one whose Memo holds our marker with this account's token (an invoice another
   BlueTrace account wrote into the same file, whose order ids restart, has another token);
3. else, the marker edited away below 9.0: one with the date, the lines (item, quantity, rate)
   and the total we sent. Several such invoices cannot be told apart: a person decides.
   An invoice whose Memo carries another order's marker is never adopted for its content.

The look-up never asks by RefNumber, so it works alike when QuickBooks numbers the invoices
(General tab: the Add then carries no RefNumber, and the number adopted is QuickBooks' own).

Only when QuickBooks holds none is the InvoiceAdd sent again. The look-up may be lost too; it
is then repeated (a query is safe to repeat); ``verify_first`` survives every detour (HRESULTs,
locks, backoff) until a look-up has answered.

QuickBooks' answers to an InvoiceAdd:

* 0 → created (TxnID and RefNumber kept);
* 3140 invalid reference → the matches are checked again, and the order is blocked with
  an Action naming the refused customer, item or terms; it stays blocked while it would
  send the same refused reference (a new match, or Retry, releases it);
* 3170/3175/3176/3180 (and HRESULT 0x8004041B, see ``conversation.return_in_flight``) →
  retried later with backoff;
* 3070 (text too long for this QuickBooks) → blocked, naming the field;
* 3000-3039 and HRESULT 0x80040400 → failed, logged as our bug, a plain message shown;
* anything else a person must settle (a feature off, a permission) → failed with
  QuickBooks' explanation and what to do, then Retry.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

from sqlalchemy.orm import Session

from ... import outbox
from ...errors import DataError
from ...store.models import Account, BtCustomer, BtItem, OutboxOperation, PackedOrder
from ...sync import invoices, resolutions
from ...sync.facts import CUSTOMERS, ITEMS
from ...operations import NewInvoice
from . import rows
from .operations import QUICKBOOKS_CLOCK_MARGIN, DesktopOperation, WorkContext
from .qbxml import QbxmlResponse
from .qbxml.text import clean_text
from .record_limits import invoice_data
from .status import Outcome, StatusInfo

log = logging.getLogger(__name__)

LOOKUP_ELEMENTS = ["TxnID", "TxnDate", "RefNumber", "Subtotal", "Memo", "ExternalGUID", "InvoiceLineRet"]
_INVALID_REFERENCE = re.compile(r'QuickBooks (\w+) "([^"]*)"')
_AFTER_FIX = " Then click Retry on the Invoices tab."


class InvoiceAddOperation(DesktopOperation):
    """InvoiceAdd for a packed order; InvoiceQuery first whenever a previous add is unconfirmed."""

    kind = invoices.OPERATION_KIND
    idempotent = False

    # -- out ------------------------------------------------------------------------------
    def build(self, op: OutboxOperation, ctx: WorkContext) -> tuple[str, dict[str, Any]]:
        """Raises: DataError (incl. InvoiceBlocked) when the invoice cannot go out as it is."""
        order = self._order(ctx.db, op)
        if op.verify_first:
            sent = op.payload.get("sent") or _sent(invoices.invoice_request(ctx.db, ctx.account, order), op.created_at)
            since = dt.datetime.fromisoformat(sent["at"]) - QUICKBOOKS_CLOCK_MARGIN
            return "InvoiceQuery", {"customer_list_ids": [sent["customer_list_id"]], "from_modified_date": since,
                                    "include_line_items": True, "include_ret_elements": LOOKUP_ELEMENTS}  # fmt: skip
        spec = invoices.invoice_request(ctx.db, ctx.account, order)
        data = invoice_data(spec)
        # No RefNumber when QuickBooks numbers invoices (General tab): nothing of the order number to check then.
        if data["ref_number"] is not None and not clean_text(
                data["ref_number"], max_length=None, record=f"order {order.order_number}", field="order_number",
                label="order number").strip():  # fmt: skip
            raise DataError(
                f"The order number {order.order_number!r} leaves nothing QuickBooks can show as an invoice number.",
                record=f"order {order.order_number}", field="order_number",
                action="Give the order a number with letters or digits in BlueTrace.",
            )  # fmt: skip
        # What the look-up needs if this answer is lost: sent before QuickBooks can possibly have it.
        op.payload = {**op.payload, "ref_number": data["ref_number"], "sent": _sent(spec, ctx.now)}
        return "InvoiceAdd", data

    def refuse(self, op: OutboxOperation, error: DataError, ctx: WorkContext) -> None:
        order = self._order(ctx.db, op)
        if isinstance(error, invoices.InvoiceBlocked):
            invoices.hold(order, op, error)
            return
        action = (error.action or str(error)) + " Then send the corrected order from BlueTrace; it goes out by itself."
        invoices.block(order, op, code="data", action=action, error=str(error))

    def follow(self, db: Session, op: OutboxOperation) -> None:
        invoices.follow(self._order(db, op), op)

    # -- in -------------------------------------------------------------------------------
    def handle(self, op: OutboxOperation, response: QbxmlResponse, ctx: WorkContext) -> None:
        order = self._order(ctx.db, op)
        if response.rs_type == "InvoiceQueryRs":
            self._looked_up(op, order, response, ctx)
        else:
            self._added(op, order, response, ctx)

    def _added(self, op: OutboxOperation, order: PackedOrder, response: QbxmlResponse, ctx: WorkContext) -> None:
        status = response.status
        if status.outcome in (Outcome.OK, Outcome.WARNING):
            if response.records:
                record = response.records[0]
                outbox.succeed(op, {"txn_id": record.get("TxnID"), "ref_number": record.get("RefNumber")})
            else:  # saved, but QuickBooks did not say as what: look it up before anything else
                outbox.mark_unconfirmed(op)
            invoices.follow(order, op)
            return
        op.verify_first = False  # QuickBooks answered the Add itself: it was not saved
        if status.outcome is Outcome.RETRY:
            outbox.retry_later(op, ctx.now, status.code_text, status.explanation)
            invoices.follow(order, op)
        elif status.code == 3140:
            self._refused_reference(op, order, status, ctx)
        elif status.code == 3070:
            invoices.block(order, op, code=status.code_text, error=_said(status),
                           action=status.action + " Then send the corrected order from BlueTrace.")  # fmt: skip
        elif status.outcome is Outcome.BUG:
            log.error("QuickBooks refused invoice of order %s (operation #%s, request %s) as malformed: %s %s",
                      order.order_id, op.id, op.request_id, status.code_text, status.message)  # fmt: skip
            invoices.fail(order, op, code=status.code_text, action=invoices.REPORT_TO_SUPPORT, error=status.explanation)
        else:
            invoices.fail(order, op, code=status.code_text, action=status.action + _AFTER_FIX, error=_said(status))

    def _looked_up(self, op: OutboxOperation, order: PackedOrder, response: QbxmlResponse, ctx: WorkContext) -> None:
        status = response.status
        if status.outcome is Outcome.RETRY:
            outbox.retry_later(op, ctx.now, status.code_text, status.explanation)
            invoices.follow(order, op)
            return
        if status.outcome not in (Outcome.OK, Outcome.EMPTY, Outcome.NOT_FOUND, Outcome.WARNING):
            invoices.fail(
                order, op, code=status.code_text, error=_said(status),
                action="The bridge could not check whether QuickBooks already holds this invoice, so it will not send "
                       f"it again until it can. {status.action}{_AFTER_FIX}",
            )  # fmt: skip
            return
        # The fingerprint of what went out; an operation of an older bridge without one has only the order's spec.
        sent = op.payload.get("sent")
        content = (invoices.SentContent.from_payload(sent) if sent
                   else invoices.SentContent.of(invoices.invoice_request(ctx.db, ctx.account, order)))
        found = [rows.found_invoice(record) for record in response.records]
        invoices.settle_lookup(order, op, ctx.account, found, content)
        invoices.follow(order, op)

    def _refused_reference(self, op: OutboxOperation, order: PackedOrder, status: StatusInfo, ctx: WorkContext) -> None:
        """3140: block naming what QuickBooks refused, until it changes; have the matching engine look it up again.

        The refused customer or item may have been deleted, merged or made inactive since the
        last sync: a Re-sync asks QuickBooks for it, and the engine's new verdict (which
        releases or re-words the block through ``on_matches_changed``) follows.
        """
        found = _INVALID_REFERENCE.search(status.message or "")
        kind, value = (found.group(1), found.group(2)) if found else ("", "")
        op.result = {"invalid_refs": [value] if value else []}
        invoices.block(order, op, code="3140", error=_said(status),
                       action=_refused_action(ctx.db, ctx.account, order, kind, value))  # fmt: skip
        catalog = invoices.Catalog.load(ctx.db, ctx.account, [order])
        if kind == "Customer":
            for customer in catalog.customers.values():
                if customer.qb_list_id == value:
                    resolutions.request_resync(ctx.db, ctx.account, CUSTOMERS, customer.customer_id)
        elif kind == "Item":
            for item in catalog.items.values():
                if item.qb_list_id == value:
                    resolutions.request_resync(ctx.db, ctx.account, ITEMS, item.item_id)

    def _order(self, db: Session, op: OutboxOperation) -> PackedOrder:
        order = invoices.order_for(db, op)
        if order is None:
            raise DataError(f"The packed order of operation #{op.id} no longer exists.", record=f"operation #{op.id}",
                            field="order_id")  # fmt: skip
        return order


def _sent(spec: NewInvoice, at: dt.datetime) -> dict[str, Any]:
    """What the look-up needs if the answer is lost: whose invoices to ask for and since when, and the content."""
    return {**invoices.SentContent.of(spec).as_payload(), "at": at.isoformat(), "customer_list_id": spec.customer_id}


def _refused_action(db: Session, account: Account, order: PackedOrder, kind: str, value: str) -> str:
    """Name what QuickBooks refused in BlueTrace's terms, after checking the matches again."""
    catalog = invoices.Catalog.load(db, account, [order])
    rechecked = invoices.blockers(account, order, catalog)
    if rechecked:
        return invoices.action_text(rechecked)
    after = ", then match it again; the invoice goes out once the match changes, or click Retry."
    if kind == "Customer":
        customer: BtCustomer | None = catalog.customers.get(order.payload["customer_id"])
        name = customer.name if customer else order.payload["customer_id"]
        return (f"QuickBooks refused customer {name}: it may have been deleted, merged or made inactive in QuickBooks "
                "— check it there (Customers tab)" + after)  # fmt: skip
    if kind == "Item":
        items: list[BtItem] = [item for item in catalog.items.values() if item.qb_list_id == value]
        name = ", ".join(item.sku or item.name for item in items) or value
        return (f"QuickBooks refused item {name}: it may have been deleted, merged or made inactive in QuickBooks "
                "— check it there (Items tab)" + after)  # fmt: skip
    if kind == "Terms":
        return ("QuickBooks refused the default payment terms: they may have been deleted or made inactive — choose "
                "other terms in Settings > Integration (General tab), then click Retry.")  # fmt: skip
    return ("QuickBooks refused a customer, item or terms this invoice refers to — check the order's customer and items "
            "(Customers and Items tabs), then click Retry.")  # fmt: skip


def _said(status: StatusInfo) -> str:
    return f"{status.explanation} QuickBooks said: {status.message}" if status.message else status.explanation
