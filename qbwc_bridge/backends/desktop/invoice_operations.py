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
import enum
import logging
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from ... import outbox
from ...errors import DataError
from ...store.models import Account, BtCustomer, BtItem, OutboxOperation, PackedOrder
from ...sync import invoices, resolutions
from ...sync.facts import CUSTOMERS, ITEMS
from .operations import QUICKBOOKS_CLOCK_MARGIN, DesktopOperation, WorkContext
from .qbxml import QbxmlRecord, QbxmlResponse
from .qbxml.text import clean_text
from .record_limits import invoice_data
from .status import Outcome, StatusInfo

log = logging.getLogger(__name__)

LOOKUP_ELEMENTS = ["TxnID", "TxnDate", "RefNumber", "Subtotal", "Memo", "ExternalGUID", "InvoiceLineRet"]
_INVALID_REFERENCE = re.compile(r'QuickBooks (\w+) "([^"]*)"')
_AFTER_FIX = " Then click Retry on the Invoices tab."
_CENT = Decimal("0.01")


class InvoiceAddOperation(DesktopOperation):
    """InvoiceAdd for a packed order; InvoiceQuery first whenever a previous add is unconfirmed."""

    kind = invoices.OPERATION_KIND
    idempotent = False

    # -- out ------------------------------------------------------------------------------
    def build(self, op: OutboxOperation, ctx: WorkContext) -> tuple[str, dict[str, Any]]:
        """Raises: DataError (incl. InvoiceBlocked) when the invoice cannot go out as it is."""
        order = self._order(ctx.db, op)
        if op.verify_first:
            sent = op.payload.get("sent") or _fingerprint(
                invoice_data(invoices.invoice_request(ctx.db, ctx.account, order)), op.created_at)
            since = dt.datetime.fromisoformat(sent["at"]) - QUICKBOOKS_CLOCK_MARGIN
            return "InvoiceQuery", {"customer_list_ids": [sent["customer_list_id"]], "from_modified_date": since,
                                    "include_line_items": True, "include_ret_elements": LOOKUP_ELEMENTS}  # fmt: skip
        data = invoice_data(invoices.invoice_request(ctx.db, ctx.account, order))
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
        op.payload = {**op.payload, "ref_number": data["ref_number"], "sent": _fingerprint(data, ctx.now)}
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
        sent = op.payload.get("sent")
        verdicts = [(record, _verdict(record, ctx.account, order, sent)) for record in response.records]
        ours = [record for record, verdict in verdicts if verdict is Verdict.OURS]
        alike = [record for record, verdict in verdicts if verdict is Verdict.SAME_CONTENT]
        if len(ours) > 1:
            log.error("QuickBooks holds %d invoices of order %s: %s", len(ours), order.order_id,
                      [record.get("TxnID") for record in ours])  # fmt: skip
        if not ours and len(alike) > 1:
            numbers = ", ".join(record.get("RefNumber") or record.get("TxnID") for record in alike)
            invoices.fail(
                order, op, code="ambiguous",
                error=f"QuickBooks holds {len(alike)} invoices for this customer with this order's date, lines and "
                      f"total ({numbers}), none marked as BlueTrace's; the bridge cannot tell which one it created.",
                action="In QuickBooks, keep the one invoice of this order and delete the others (or delete all of "
                       "them to have the bridge create it again)." + _AFTER_FIX,
            )  # fmt: skip
            return
        found = ours or alike
        if found:
            record = found[0]
            log.info("Invoice of order %s was saved before its answer was lost: adopting TxnID %s (%s)",
                     order.order_id, record.get("TxnID"), "marker" if ours else "same date, lines and total")  # fmt: skip
            outbox.succeed(op, {"txn_id": record.get("TxnID"), "ref_number": record.get("RefNumber"), "adopted": True})
        else:
            log.info("Invoice of order %s is not in QuickBooks: sending it again", order.order_id)
            outbox.looked_up(op)
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


class Verdict(enum.Enum):
    """Whose invoice a look-up found: ours (our GUID or marker), not ours, or one with exactly our content."""

    OURS = "ours"
    NOT_OURS = "not_ours"
    SAME_CONTENT = "same_content"


def _verdict(record: QbxmlRecord, account: Account, order: PackedOrder, sent: dict[str, Any] | None) -> Verdict:
    """Is this invoice (of our customer, modified since we sent the Add) the one we sent? See the module docstring."""
    guid = (record.get("ExternalGUID") or "").strip("{}").lower()
    if guid:
        return Verdict.OURS if guid == str(invoices.external_guid(account, order.order_id)) else Verdict.NOT_OURS
    if f"#{invoices.account_token(account, order.order_id)}" in (record.get("Memo") or ""):
        return Verdict.OURS
    if invoices.marked_for_another_order(record.get("Memo")):
        return Verdict.NOT_OURS
    if sent is not None and _same_content(record, sent):
        return Verdict.SAME_CONTENT
    return Verdict.NOT_OURS


def _fingerprint(data: dict[str, Any], at: dt.datetime) -> dict[str, Any]:
    """What an InvoiceAdd carried that a look-up can recognise without our marker (JSON, exact decimals)."""
    lines = [[line["item_list_id"], str(line["quantity"]), str(line["rate"])] for line in data["lines"]]
    total = sum(((line["quantity"] * line["rate"]).quantize(_CENT, ROUND_HALF_UP) for line in data["lines"]), Decimal(0))
    return {"at": at.isoformat(), "customer_list_id": data["customer_list_id"], "txn_date": data["txn_date"].isoformat(),
            "lines": lines, "total": str(total)}  # fmt: skip


def _same_content(record: QbxmlRecord, sent: dict[str, Any]) -> bool:
    """Same date, lines (item, quantity, rate, in order) and total as the Add we sent."""
    if record.get("TxnDate") != sent["txn_date"] or record.decimal("Subtotal") != Decimal(sent["total"]):
        return False
    lines = record.get("InvoiceLineRet") or []
    found = [[(line.get("ItemRef") or {}).get("ListID"), _number(line.get("Quantity")), _number(line.get("Rate"))]
             for line in lines]  # fmt: skip
    wanted = [[item, Decimal(quantity), Decimal(rate)] for item, quantity, rate in sent["lines"]]
    return found == wanted


def _number(text: str | None) -> Decimal | None:
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None


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
