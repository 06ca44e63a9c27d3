"""Packed orders become QuickBooks invoices: when one may go out, what it says, where it stands.

**Rules.** An invoice goes out only when invoice creation is on (General tab), the
order's customer is matched to a QuickBooks customer and every line's item is matched
to a QuickBooks item. Otherwise the order is *blocked* and its Action names the exact
fix ("Item ABC-12 has no match in QuickBooks — ..."). While the bridge itself is
creating a missing customer or item in QuickBooks the order is *waiting* (nothing for a
person to do). A tax code chosen on the General tab (where the company takes one) must
still be an active one of the company. :func:`on_matches_changed` re-evaluates blocked and
waiting orders, so they go out by themselves once a match is made, creation is switched on
or a tax code is chosen. The rules are
checked again just before a request is built, so a match removed after the order was
queued blocks it instead of sending a stale reference.

**Content** (:func:`invoice_request`, a :class:`~qbwc_bridge.operations.NewInvoice` each
backend writes in its QuickBooks' terms):

* the customer = the matched customer; the date = the calendar date of ``packed_at`` as
  BlueTrace wrote it (the packer's local date when it carries an offset);
* the number = the order number, shortened by each backend with :func:`invoice_number` to
  what its QuickBooks keeps, or none when the General tab lets QuickBooks number invoices
  (its number comes back and is kept on the order); the full order number always stays in
  the note;
* the PO number, the billing address (the BlueTrace customer's when the order has none),
  the shipping address (the order's);
* terms: none when the QuickBooks customer has its own terms — QuickBooks then applies
  the customer's *current* terms, which a stale copy of them could not guarantee — else
  the General tab's default terms;
* lines: item, description, Decimal quantity and unit price; the note starts with
  :func:`memo_marker` ("BlueTrace order SO-1001 (order id ...) #token") followed by the
  order's own memo; ``guid`` = :func:`external_guid`, a UUID5 of the account's FileID and
  the order id. Marker and GUID let the exactly-once reconciliation recognise our own
  invoice in QuickBooks.

Text a QuickBooks cannot store (too long, a character it cannot hold) is refused by its
backend with a ``DataError`` naming the field; the order is then blocked with that Action.

**Status** follows the order's outbox operation (:func:`follow`): pending = queued, sent,
unconfirmed, done = created, failed = failed (or blocked when a person can fix the data).
"""
from __future__ import annotations

import datetime as dt
import enum
import logging
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from decimal import Decimal

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from .. import backends, outbox
from ..domain import InvoiceNumbering, InvoiceStatus, IssueType, PendingAction
from ..errors import DataError
from ..operations import TAX_CODE_NEEDED, FoundInvoice, InvoiceLine, NewInvoice, OperationKind, address, line_amount
from ..store.models import (
    Account,
    BtCustomer,
    BtItem,
    OperationState,
    OutboxOperation,
    PackedOrder,
    QbCustomer,
    QbItem,
    QbTaxCode,
    QbTerms,
)
from ..webhooks import events as webhook_events

log = logging.getLogger(__name__)

OPERATION_KIND = OperationKind.INVOICE_ADD.value
_GUID_NAMESPACE = uuid.UUID("6f1c2a4e-8d5b-5c1e-9a57-3b0d6c2e4f81")  # qbwc-bridge invoices
_CHUNK = 500  # ids per IN (...) query
_MAX_LISTED = 5  # fixes listed in one Action before "and N more"

REPORT_TO_SUPPORT = (
    "Nothing in your data causes this: report it to BlueTrace support with the order number. "
    "The invoice is not sent again until then."
)
UNCONFIRMED_TEXT = (
    "The answer from QuickBooks never arrived: the bridge looks for this invoice in QuickBooks before sending "
    "anything again."
)
# Order statuses that a match or setting change may release.
REEVALUATED = (InvoiceStatus.BLOCKED.value, InvoiceStatus.WAITING.value)


# -- identity of an invoice in QuickBooks ------------------------------------------------------


def invoice_number(order_number: str, max_length: int) -> str:
    """The invoice number QuickBooks shows for a BlueTrace order number, in at most ``max_length`` characters.

    Short numbers are used as they are (surrounding spaces trimmed). Longer numbers keep their
    **last** characters, because order numbers grow at the end and share their prefix
    ("SO-2024-000123" becomes "2024-000123" in 11), minus any separators the cut leaves at the
    front. Two long numbers can therefore share an invoice number; QuickBooks allows that, the
    note always holds the full number, and our marker tells the invoices apart in a look-up.
    """
    text = order_number.strip()
    if len(text) <= max_length:
        return text
    cut = text[-max_length:]
    return cut.lstrip(" -_/.#:") or cut


def external_guid(account: Account, order_id: str) -> uuid.UUID:
    """Our ExternalGUID for an order: the same on every attempt, different for every account and order."""
    return uuid.uuid5(_GUID_NAMESPACE, f"{account.file_id.strip('{}').lower()}/{order_id}")


def memo_marker(account: Account, order: PackedOrder) -> str:
    """The start of every invoice Memo we write; finding it in QuickBooks means the invoice is ours.

    It ends with a token of the account and the order (from the ExternalGUID), so an invoice another
    BlueTrace account wrote into the same company file (order ids restart in a new account) is not ours.
    """
    return f"BlueTrace order {order.order_number} (order id {order.order_id}) #{account_token(account, order.order_id)}"


def account_token(account: Account, order_id: str) -> str:
    """Ten hex digits proper to this account and order: the memo marker's proof where ExternalGUID is missing."""
    return external_guid(account, order_id).hex[:10]


def memo_for(account: Account, order: PackedOrder) -> str:
    """Marker first (free text is cut at QuickBooks' limit from the end), then the order's memo."""
    extra = order.payload.get("memo")
    return f"{memo_marker(account, order)} - {extra}" if extra else memo_marker(account, order)


# -- what stops an invoice ---------------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    """One reason an order cannot go out yet. ``waiting``: the bridge is fixing it itself."""

    field: str  # the order field (or setting) it is about: "customer_id", "lines[2].item_id"
    action: str
    waiting: bool = False


class InvoiceBlocked(DataError):
    """Raised when a request is built for an order the rules no longer let out."""

    def __init__(self, order: PackedOrder, blockers: Sequence[Blocker]):
        text = action_text(blockers)
        super().__init__(text, record=f"order {order.order_number}", field=blockers[0].field, action=text)
        self.blockers = list(blockers)


@dataclass
class Catalog:
    """The BlueTrace records and QuickBooks mirror rows a set of orders refers to, loaded in bulk."""

    customers: dict[str, BtCustomer]
    items: dict[str, BtItem]
    qb_customers: dict[str, QbCustomer]
    qb_items: dict[str, QbItem]
    terms: dict[str, QbTerms]
    tax_codes: dict[str, QbTaxCode] = field(default_factory=dict)  # the account's chosen one, when mirrored

    @classmethod
    def load(cls, db: Session, account: Account, orders: Iterable[PackedOrder]) -> Catalog:
        orders = list(orders)
        catalog = cls({}, {}, {}, {}, {})
        customer_ids = sorted({order.payload["customer_id"] for order in orders})
        item_ids = sorted({line["item_id"] for order in orders for line in order.payload["lines"]})
        for start in range(0, len(customer_ids), _CHUNK):
            keys = {"account_id": account.id, "keys": customer_ids[start : start + _CHUNK],
                    "terms_id": account.default_terms_id}  # fmt: skip
            for customer, mirrored, terms in db.execute(_CUSTOMERS, keys):
                catalog.customers[customer.customer_id] = customer
                if mirrored is not None:
                    catalog.qb_customers[mirrored.list_id] = mirrored
                if terms is not None:
                    catalog.terms[terms.list_id] = terms
        for start in range(0, len(item_ids), _CHUNK):
            keys = {"account_id": account.id, "keys": item_ids[start : start + _CHUNK]}
            for item, mirrored in db.execute(_ITEMS, keys):
                catalog.items[item.item_id] = item
                if mirrored is not None:
                    catalog.qb_items[mirrored.list_id] = mirrored
        tax_code = db.get(QbTaxCode, (account.id, account.tax_code_id)) if account.tax_code_id else None
        if tax_code is not None:
            catalog.tax_codes[tax_code.list_id] = tax_code
        return catalog


def _with_mirror(model, key, mirror):
    """Records of ``model`` by key (an expanding ``keys`` parameter), each with its mirrored QuickBooks row.

    Built once: on the per-invoice path, building and compiling statements costs more than running them.
    """
    return (
        select(model, mirror)
        .outerjoin(mirror, and_(mirror.account_id == model.account_id, mirror.list_id == model.qb_list_id))
        .where(model.account_id == bindparam("account_id"), key.in_(bindparam("keys", expanding=True)))
    )


# The account's default terms (a ``terms_id`` parameter) come with its customers: only an order whose
# customer is known may need them (_terms_blockers), and asking for them apart cost a round trip per order.
_CUSTOMERS = (_with_mirror(BtCustomer, BtCustomer.customer_id, QbCustomer).add_columns(QbTerms)
              .outerjoin(QbTerms, and_(QbTerms.account_id == BtCustomer.account_id,
                                       QbTerms.list_id == bindparam("terms_id"))))  # fmt: skip
_ITEMS = _with_mirror(BtItem, BtItem.item_id, QbItem)


_CUSTOMER_FIX = {
    IssueType.MISSING_EMAIL.value: "Customer {name} has no billing email, so it has no match in QuickBooks — "
    "enter the billing email in BlueTrace, or create it in QuickBooks (Customers tab).",
    IssueType.NOT_FOUND.value: "Customer {name} has no match in QuickBooks — correct its billing email and Re-sync, "
    "or create it in QuickBooks (Customers tab).",
    IssueType.DUPLICATE_NAME.value: "Customer {name} could not be created in QuickBooks because the name is already "
    "used there — rename it here or in QuickBooks (Customers tab).",
    IssueType.DUPLICATE_MATCH.value: "Customer {name} shares its billing email with other customers — pick its "
    "QuickBooks customer (Customers tab).",
    IssueType.CREATE_FAILED.value: "Customer {name} could not be created in QuickBooks — fix what the Customers tab "
    "says and create it again.",
}
_CUSTOMER_UNMATCHED = "Customer {name} has no match in QuickBooks — match it or create it in QuickBooks (Customers tab)."
_ITEM_FIX = {
    IssueType.MISSING_SKU.value: "Item {name} has no SKU, so it has no match in QuickBooks — enter its SKU or create "
    "it in QuickBooks (Items tab).",
    IssueType.NOT_FOUND.value: "Item {name} has no match in QuickBooks — enter its SKU or create it in QuickBooks "
    "(Items tab).",
    IssueType.DUPLICATE_NAME.value: "Item {name} could not be created in QuickBooks because the name is already used "
    "there — rename it here or in QuickBooks (Items tab).",
    IssueType.DUPLICATE_MATCH.value: "Several QuickBooks items carry the SKU of item {name} — pick the right one "
    "(Items tab).",
    IssueType.CREATE_FAILED.value: "Item {name} could not be created in QuickBooks — fix what the Items tab says and "
    "create it again.",
}
_ITEM_UNMATCHED = "Item {name} has no match in QuickBooks — enter its SKU or create it in QuickBooks (Items tab)."


def blockers(account: Account, order: PackedOrder, catalog: Catalog) -> list[Blocker]:
    """Everything that keeps this order's invoice from going out now, in the order a person reads it."""
    found: list[Blocker] = []
    if not account.invoice_creation:
        found.append(
            Blocker(
                "settings.invoice_creation",
                "Invoice creation is off — turn it on in Settings > Integration (General tab); "
                "this invoice then goes out by itself.",
            )
        )
    payload = order.payload
    customer = catalog.customers.get(payload["customer_id"])
    if customer is None:
        found.append(
            Blocker(
                "customer_id",
                f"Customer {payload['customer_id']} is unknown to the bridge: BlueTrace has not sent it — check the "
                "customer in BlueTrace; the invoice goes out once it arrives and is matched (Customers tab).",
            )
        )
    else:
        found.extend(_record_blockers(customer, "customer_id", customer.name, _CUSTOMER_FIX, _CUSTOMER_UNMATCHED,
                                      catalog.qb_customers, "customer", "Customers"))  # fmt: skip
        if not found or found[-1].field != "customer_id":
            found.extend(_terms_blockers(account, customer, catalog))
    found.extend(_tax_code_blockers(account, catalog))
    seen: set[str] = set()
    for index, line in enumerate(payload["lines"]):
        item_id = line["item_id"]
        if item_id in seen:
            continue
        seen.add(item_id)
        field = f"lines[{index}].item_id"
        item = catalog.items.get(item_id)
        if item is None:
            found.append(
                Blocker(
                    field,
                    f"Item {item_id} is unknown to the bridge: BlueTrace has not sent it — check the item in "
                    "BlueTrace; the invoice goes out once it arrives and is matched (Items tab).",
                )
            )
            continue
        found.extend(_record_blockers(item, field, item.sku or item.name, _ITEM_FIX, _ITEM_UNMATCHED, catalog.qb_items,
                                      "item", "Items"))  # fmt: skip
    return found


def _record_blockers(record, field, name, fixes, unmatched, mirror, noun, tab) -> list[Blocker]:
    if record.qb_list_id and record.issue is None:
        mirrored = mirror.get(record.qb_list_id)
        if mirrored is not None and not mirrored.is_active:
            return [
                Blocker(
                    field,
                    f"{noun.capitalize()} {name} is matched to a QuickBooks {noun} that is inactive — make it active in "
                    f"QuickBooks, or match another one ({tab} tab).",
                )
            ]
        return []
    if record.pending == PendingAction.CREATING.value:
        return [Blocker(field, f"Nothing to do: {noun} {name} is being created in QuickBooks; the invoice goes out "
                               "once it exists.", waiting=True)]  # fmt: skip
    if record.pending == PendingAction.RESYNCING.value:
        return [Blocker(field, f"Nothing to do: {noun} {name} is being looked up in QuickBooks again; the invoice "
                               "goes out once it is matched.", waiting=True)]  # fmt: skip
    if (record.issue_detail or {}).get("inactive"):  # the engine found only an inactive counterpart
        return [Blocker(field, f"{noun.capitalize()} {name} matches only an inactive QuickBooks {noun} — make it active "
                               f"in QuickBooks and click Re-sync, or pick another match ({tab} tab).")]  # fmt: skip
    return [Blocker(field, fixes.get(record.issue, unmatched).format(name=name))]


def _terms_blockers(account: Account, customer: BtCustomer, catalog: Catalog) -> list[Blocker]:
    if _customer_terms(customer, catalog) or not account.default_terms_id:
        return []
    terms = catalog.terms.get(account.default_terms_id)
    if terms is not None and terms.is_active:
        return []
    return [
        Blocker(
            "settings.default_terms",
            "The default payment terms chosen in the General tab no longer exist in QuickBooks or are inactive — "
            "choose other terms in Settings > Integration (General tab).",
        )
    ]


def _tax_code_blockers(account: Account, catalog: Catalog) -> list[Blocker]:
    """The chosen tax code must still be an active one of the company, where the company takes one.

    None chosen is not a blocker here: the backend refuses such an invoice where QuickBooks needs a
    tax code, with the Action saying where to choose it (only it knows the company's rule).
    """
    if account.tax_code_id is None or not backends.for_account(account).tax_code_needed(account):
        return []
    tax_code = catalog.tax_codes.get(account.tax_code_id)
    if tax_code is not None and tax_code.is_active:
        return []
    return [
        Blocker(
            "settings.tax_code",
            "The tax code chosen in the General tab no longer exists in QuickBooks or is inactive — choose "
            "another in Settings > Integration (General tab \u2192 Tax code); this invoice then goes out by itself.",
        )
    ]


def _customer_terms(customer: BtCustomer, catalog: Catalog) -> str | None:
    mirrored = catalog.qb_customers.get(customer.qb_list_id or "")
    return mirrored.terms_list_id if mirrored is not None else None


def action_text(found: Sequence[Blocker]) -> str:
    """One Action for a person: each fix on its own line, at most a handful, then a count."""
    lines = [blocker.action for blocker in found[:_MAX_LISTED]]
    if len(found) > _MAX_LISTED:
        lines.append(f"... and {len(found) - _MAX_LISTED} more fixes of the same kind (Items and Customers tabs).")
    return "\n".join(lines)


# -- the InvoiceAdd request --------------------------------------------------------------------


def invoice_request(db: Session, account: Account, order: PackedOrder) -> NewInvoice:
    """The invoice of an order whose invoice may go out now, from the store as it is now.

    Raises:
        InvoiceBlocked: the rules do not let it out (a match, a setting): the Action says why.
    """
    return build_invoice(account, order, Catalog.load(db, account, [order]))


def build_invoice(account: Account, order: PackedOrder, catalog: Catalog) -> NewInvoice:
    """The invoice of ``order`` in the engine's terms, from the records in ``catalog``.

    Raises:
        InvoiceBlocked: the rules do not let it out (a match, a setting): the Action says why.
    """
    found = blockers(account, order, catalog)
    if found:
        raise InvoiceBlocked(order, found)
    payload = order.payload
    customer = catalog.customers[payload["customer_id"]]
    return NewInvoice(
        order_id=order.order_id,
        customer_id=customer.qb_list_id,
        txn_date=packed_date(payload["packed_at"]),
        # Only the explicit choice drops our number: an account not yet flushed (no default applied) keeps it.
        number=None if account.invoice_numbering == InvoiceNumbering.QUICKBOOKS.value else order.order_number,
        marker=memo_marker(account, order),
        note=memo_for(account, order),
        guid=str(external_guid(account, order.order_id)),
        bill_address=address(payload.get("bill_address") or customer.bill_address),
        ship_address=address(payload.get("ship_address")),
        po_number=payload.get("po_number"),
        terms_id=None if _customer_terms(customer, catalog) else account.default_terms_id,
        tax_code_id=account.tax_code_id,
        lines=tuple(
            InvoiceLine(
                item_id=catalog.items[line["item_id"]].qb_list_id,
                description=line.get("description"),
                quantity=Decimal(line["quantity"]),
                unit_price=Decimal(line["unit_price"]),
            )
            for line in payload["lines"]
        ),
    )


def packed_date(packed_at: str) -> dt.date:
    """The calendar date of ``packed_at`` as written (an offset, if any, is the packer's own)."""
    return dt.date.fromisoformat(packed_at[:10])


# -- status ------------------------------------------------------------------------------------


def evaluate(db: Session, account: Account, orders: Sequence[PackedOrder], catalog: Catalog | None = None) -> None:
    """Apply the rules to orders not yet in QuickBooks's hands: block them, or queue their invoice."""
    catalog = catalog or Catalog.load(db, account, orders)
    for order in orders:
        found = blockers(account, order, catalog)
        if found:
            _set(order, *_held(found), error=None)
        else:
            queue(db, order)


def _held(found: Sequence[Blocker]) -> tuple[InvoiceStatus, str, str]:
    """(status, action, code) of an order the rules hold back: waiting only if the bridge is fixing every cause."""
    if all(blocker.waiting for blocker in found):
        return InvoiceStatus.WAITING, action_text(found), "waiting"
    return InvoiceStatus.BLOCKED, action_text([blocker for blocker in found if not blocker.waiting]), "not_ready"


def on_matches_changed(db: Session, account: Account) -> None:
    """Re-evaluate the account's blocked and waiting orders; those now allowed out are queued.

    Called by the matching engine after matches change, and by the settings when invoice
    creation, the default terms or the tax code change. Orders held back after QuickBooks
    refused a reference (status 3140) stay blocked while they would send the same refused
    reference, and those refused for want of a tax code while none is chosen.
    """
    # Locked (PostgreSQL): a concurrent corrected event or Retry of the same order waits, then sees our verdict.
    orders = list(
        db.scalars(
            select(PackedOrder)
            .where(PackedOrder.account_id == account.id, PackedOrder.status.in_(REEVALUATED))
            .order_by(PackedOrder.received_at, PackedOrder.order_id)
            .with_for_update()
        )
    )
    for start in range(0, len(orders), _CHUNK):
        chunk = orders[start : start + _CHUNK]
        catalog = Catalog.load(db, account, chunk)
        ready = [order for order in chunk if not _still_refused(db, account, order, catalog)]
        evaluate(db, account, ready, catalog)


def _still_refused(db: Session, account: Account, order: PackedOrder, catalog: Catalog) -> bool:
    """QuickBooks refused a reference of this order: keep it blocked while we would send the same one.

    Likewise an order its backend refused for want of a tax code stays blocked until one is chosen:
    sending it again before would only be refused again.
    """
    if order.error_code == TAX_CODE_NEEDED:
        return account.tax_code_id is None
    if order.error_code != "3140" or order.operation_id is None:
        return False
    op = db.get(OutboxOperation, order.operation_id)
    refused = set((op.result or {}).get("invalid_refs", [])) if op is not None else set()
    if not refused:
        return False
    customer = catalog.customers.get(order.payload["customer_id"])
    current = {customer.qb_list_id if customer else None, account.default_terms_id}
    current |= {catalog.items[line["item_id"]].qb_list_id for line in order.payload["lines"] if line["item_id"] in catalog.items}
    return bool(refused & current)


def queue(db: Session, order: PackedOrder) -> OutboxOperation:
    """Put the order's invoice in the outbox (one operation per order, reused after a block).

    The operation is read afresh under a row lock: it is queued again only if it really
    failed, never over a concurrent session that has just sent it.
    """
    op = None
    if order.operation_id:
        op = db.get(OutboxOperation, order.operation_id, with_for_update=True, populate_existing=True)
    if op is None:
        op = outbox.enqueue(db, order.account_id, OPERATION_KIND, {"order_id": order.order_id},
                            dedupe_key=f"invoice:{order.order_id}")  # fmt: skip
        if op is None:  # an operation for this order exists but lost its link: reuse it
            op = db.scalar(
                select(OutboxOperation).where(
                    OutboxOperation.account_id == order.account_id,
                    OutboxOperation.dedupe_key == f"invoice:{order.order_id}",
                )
            )
        order.operation_id = op.id
    if op.state == OperationState.FAILED.value:
        outbox.requeue(op)
    follow(order, op)
    return op


def follow(order: PackedOrder, op: OutboxOperation) -> None:
    """Bring the order's status in step with its operation after the operation moved."""
    order.attempts = op.attempts
    state = op.state
    verifying = op.verify_first
    if state == OperationState.UNCONFIRMED.value or (state == OperationState.PENDING.value and verifying):
        _set(order, InvoiceStatus.UNCONFIRMED, action=None, error=UNCONFIRMED_TEXT, code="unconfirmed")
    elif state == OperationState.PENDING.value:
        # A lock or a busy QuickBooks: say so, but nothing for a person to do yet.
        error = op.error_message if op.not_before else None
        _set(order, InvoiceStatus.QUEUED, action=None, error=error, code=op.error_code if error else None)
    elif state == OperationState.SENT.value:
        _set(order, InvoiceStatus.SENT, action=None, error=UNCONFIRMED_TEXT if verifying else None,
             code="unconfirmed" if verifying else None)  # fmt: skip
    elif state == OperationState.DONE.value:
        result = op.result or {}
        if result.get("txn_id") != order.txn_id:
            # Another invoice than the one whose state is held (created again after a deletion): nothing heard yet.
            order.qb_total = order.qb_balance = order.paid = order.qb_modified_at = None
            order.voided = False
        order.txn_id, order.ref_number = result.get("txn_id"), result.get("ref_number")
        _set(order, InvoiceStatus.CREATED, action=None, error=None, code=None)
    elif state == OperationState.FAILED.value and order.status not in (InvoiceStatus.BLOCKED.value,
                                                                       InvoiceStatus.DELETED.value):
        _set(order, InvoiceStatus.FAILED, action=REPORT_TO_SUPPORT, error=op.error_message, code=op.error_code)


def hold(order: PackedOrder, op: OutboxOperation, blocked: InvoiceBlocked) -> None:
    """The rules stopped an invoice about to be sent: waiting (the bridge is on it) or blocked."""
    status, action, code = _held(blocked.blockers)
    outbox.fail(op, code, action)
    order.attempts = op.attempts
    _set(order, status, action=action, error=None, code=code)


def block(order: PackedOrder, op: OutboxOperation, *, code: str, action: str, error: str) -> None:
    """A person must change data, a match or a setting; ``op`` is failed and requeued once they have."""
    outbox.fail(op, code, error)
    order.attempts = op.attempts
    _set(order, InvoiceStatus.BLOCKED, action=action, error=error, code=code)


def fail(order: PackedOrder, op: OutboxOperation, *, code: str, action: str, error: str) -> None:
    """QuickBooks refused the invoice and retrying unchanged will not help."""
    outbox.fail(op, code, error)
    order.attempts = op.attempts
    _set(order, InvoiceStatus.FAILED, action=action, error=error, code=code)


def mark_deleted(order: PackedOrder, *, action: str, error: str, code: str) -> None:
    """Our invoice was deleted in QuickBooks: shown as such (its old txn_id kept, to say which one)."""
    _set(order, InvoiceStatus.DELETED, action=action, error=error, code=code)


def _set(order: PackedOrder, status: InvoiceStatus, action: str | None, code: str | None, *, error: str | None) -> None:
    webhook_events.invoice_changing(order)  # the one place an invoice's status changes: its webhook events
    order.status = status.value
    order.action = action
    order.error = error
    order.error_code = code


# -- is an invoice found in QuickBooks ours? -------------------------------------------------------


class Verdict(enum.Enum):
    """Whose invoice a look-up found: ours (our GUID or marker), not ours, or one with exactly our content."""

    OURS = "ours"
    NOT_OURS = "not_ours"
    SAME_CONTENT = "same_content"


@dataclass(frozen=True)
class SentContent:
    """What an invoice write carried that a look-up can recognise without our marker: date, lines, total.

    Every backend keeps it in the operation's payload (``as_payload``) when the write goes out, so
    the look-up after a lost answer compares QuickBooks' invoice with what was *sent*, not with what
    the order says now: a match or price fixed meanwhile must not hide the invoice we did create.
    """

    txn_date: dt.date
    lines: tuple[tuple[str, Decimal, Decimal], ...]  # (item id, quantity, unit price), in order
    total: Decimal  # each line rounded half up to the cent, as QuickBooks rounds a line's amount

    @classmethod
    def of(cls, spec: NewInvoice) -> SentContent:
        lines = tuple((line.item_id, line.quantity, line.unit_price) for line in spec.lines)
        total = sum((line_amount(quantity, price) for _, quantity, price in lines), Decimal(0))
        return cls(spec.txn_date, lines, total)

    def as_payload(self) -> dict[str, Any]:
        """JSON with exact decimals (as text)."""
        return {"txn_date": self.txn_date.isoformat(), "total": str(self.total),
                "lines": [[item, str(quantity), str(price)] for item, quantity, price in self.lines]}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> SentContent:
        """Read :meth:`as_payload` (extra keys, such as a backend's own, are ignored)."""
        return cls(dt.date.fromisoformat(data["txn_date"]),
                   tuple((item, Decimal(quantity), Decimal(price)) for item, quantity, price in data["lines"]),
                   Decimal(data["total"]))


def verdict(found: FoundInvoice, account: Account, order: PackedOrder, sent: SentContent) -> Verdict:
    """Is this invoice the one a lost write saved? Adopt only what is provably ours.

    A stored external id decides alone (ours exactly when it is our GUID: never adopt an invoice
    carrying another); else our marker with this account's token in the note; else the same
    date, lines (item, quantity, price, in order) and total as ``sent``, which a person may have
    to settle when several invoices have it.
    """
    if found.guid:
        ours = str(external_guid(account, order.order_id))
        return Verdict.OURS if found.guid.strip("{}").lower() == ours else Verdict.NOT_OURS
    if f"#{account_token(account, order.order_id)}" in (found.note or ""):
        return Verdict.OURS
    if marked_for_another_order(found.note):
        return Verdict.NOT_OURS
    if found.txn_date == sent.txn_date and found.lines == sent.lines and found.total == sent.total:
        return Verdict.SAME_CONTENT
    return Verdict.NOT_OURS


# What memo_marker writes: the proof that an invoice belongs to one order of one account.
_MARKER = re.compile(r"BlueTrace order .* \(order id .+\) #[0-9a-f]{10}")


def marked_for_another_order(note: str | None) -> bool:
    """Whether a note carries a BlueTrace marker (called when it is not ours: so another order's, or another account's).

    Such an invoice is never adopted for its content: a repeat order (same customer, date, lines and total
    as an earlier one) would otherwise take the earlier order's invoice and be left without its own.
    """
    return bool(note and _MARKER.search(note))


def reconcile(found: Sequence[FoundInvoice], account: Account, order: PackedOrder, sent: SentContent) -> tuple[
        FoundInvoice | None, list[FoundInvoice]]:
    """(the invoice to adopt or None, the look-alikes when several cannot be told apart)."""
    judged = [(invoice, verdict(invoice, account, order, sent)) for invoice in found]
    ours = [invoice for invoice, said in judged if said is Verdict.OURS]
    alike = [invoice for invoice, said in judged if said is Verdict.SAME_CONTENT]
    if len(ours) > 1:
        log.error("QuickBooks holds %d invoices of order %s: %s", len(ours), order.order_id, [i.id for i in ours])
    if ours:
        return ours[0], []
    if len(alike) > 1:
        return None, alike
    return (alike[0] if alike else None), []


AMBIGUOUS_ACTION = ("In QuickBooks, keep the one invoice of this order and delete the others (or delete all of them "
                    "to have the bridge create it again). Then click Retry on the Invoices tab.")


def ambiguous_text(alike: Sequence[FoundInvoice]) -> str:
    numbers = ", ".join(invoice.number or invoice.id for invoice in alike)
    return (f"QuickBooks holds {len(alike)} invoices for this customer with this order's date, lines and total "
            f"({numbers}), none marked as BlueTrace's; the bridge cannot tell which one it created.")


def settle_lookup(order: PackedOrder, op: OutboxOperation, account: Account, found: Sequence[FoundInvoice],
                  sent: SentContent) -> None:
    """What a look-up after a lost invoice write found, settled the same way for every backend.

    Ours → adopted (done, with QuickBooks' id and number); several look-alikes → failed with the
    action for a person (the bridge cannot tell which one it created); nothing → sent again,
    from now on blind-safe. The caller follows the order's status.
    """
    adopted, alike = reconcile(found, account, order, sent)
    if alike:
        fail(order, op, code="ambiguous", error=ambiguous_text(alike), action=AMBIGUOUS_ACTION)
    elif adopted is not None:
        log.info("Invoice of order %s was saved before its answer was lost: adopting %s", order.order_id, adopted.id)
        outbox.succeed(op, {"txn_id": adopted.id, "ref_number": adopted.number, "adopted": True})
    else:
        log.info("Invoice of order %s is not in QuickBooks: sending it again", order.order_id)
        outbox.looked_up(op)


def created_orders(db: Session, account_id: int, txn_ids: Iterable[str]) -> Iterator[PackedOrder]:
    """The account's orders whose created invoice QuickBooks knows by one of ``txn_ids``, row-locked.

    What QuickBooks reports of invoices (deleted, paid, voided, edited) only ever concerns these:
    an invoice we did not create, or one of an order since deleted or failed, is nobody's here.
    """
    wanted = sorted(set(txn_ids))
    for start in range(0, len(wanted), _CHUNK):
        yield from db.scalars(select(PackedOrder).where(
            PackedOrder.account_id == account_id, PackedOrder.txn_id.in_(wanted[start:start + _CHUNK]),
            PackedOrder.status == InvoiceStatus.CREATED.value).with_for_update())


def order_for(db: Session, op: OutboxOperation) -> PackedOrder | None:
    return db.get(PackedOrder, (op.account_id, op.payload["order_id"]))
