"""Packed-order events from BlueTrace, and the invoice each one becomes (API and Invoices tab).

:func:`record_packed_order` stores the event in the caller's unit of work together with
its outbox operation, so the API answers 202 only once both are committed: an accepted
event is never lost. It is idempotent per order id: the same event again changes nothing
and gets the same answer; a *different* event for an order whose invoice is queued, in
QuickBooks' hands or created is a conflict (409) — the invoice may already exist, and
replacing its content silently would make it disagree with QuickBooks. While the invoice
is blocked or failed, QuickBooks holds nothing for the order, so a corrected event
replaces the old one (that is how a too-long PO number is fixed).

"The same event" is decided by the SHA-256 of the event's canonical JSON
(:func:`canonical_hash`): the validated values, keys sorted, numbers as plain decimals, so
``2``, ``2.0`` and ``"2.00"`` are the same quantity and key order or spacing never matter.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..domain import InvoiceStatus, PaidStatus
from ..errors import Conflict, NotFound
from ..store.db import inserted_row
from ..store.models import Account, OutboxOperation, PackedOrder, utcnow
from ..sync import invoices as rules
from . import validation as v
from .catalog import read_address
from .invoice_view import invoice_view
from .pagination import Page, clamp

MAX_LINES = 1000
ORDER_FIELDS = ("order_number", "customer_id", "packed_at", "po_number", "memo", "ship_address", "bill_address", "lines")
LINE_FIELDS = ("item_id", "quantity", "unit_price", "description")
# Limits of what we store; QuickBooks' own (shorter) limits block the invoice with an Action instead.
MAX_PO_NUMBER = 100
MAX_MEMO = 4000
MAX_DESCRIPTION = 4000
# Statuses in which QuickBooks holds nothing for the order, so a corrected event may replace it.
REPLACEABLE = (InvoiceStatus.BLOCKED.value, InvoiceStatus.FAILED.value, InvoiceStatus.WAITING.value)
STATUSES = tuple(status.value for status in InvoiceStatus)
PAID_STATUSES = tuple(paid.value for paid in PaidStatus)
RETRYABLE = (InvoiceStatus.BLOCKED.value, InvoiceStatus.FAILED.value, InvoiceStatus.DELETED.value)


# -- reading the event --------------------------------------------------------------------------


def read_packed_order(payload: Any) -> dict[str, Any]:
    """The validated event in its canonical form: what is stored and hashed.

    Text is trimmed, blanks become null, numbers become plain decimal strings
    (``"2"``, ``"19.99"``). QuickBooks' own limits (RefNumber 11, PO number 25, Latin-1)
    are *not* checked here: the event is accepted and the invoice blocked with an Action.

    Raises:
        validation.InvalidInput: naming the first wrong field (``lines[2].quantity``).
    """
    if not isinstance(payload, Mapping):
        raise v.InvalidInput("body", "must be a JSON object")
    unknown = sorted(set(payload) - set(ORDER_FIELDS))
    if unknown:
        raise v.InvalidInput(unknown[0], f"is not a field of a packed order (known: {', '.join(ORDER_FIELDS)})")
    lines = payload.get("lines")
    if not isinstance(lines, list) or not lines:
        raise v.InvalidInput("lines", "must be a non-empty list of order lines")
    if len(lines) > MAX_LINES:
        raise v.InvalidInput("lines", f"has {len(lines)} lines; at most {MAX_LINES} are allowed")
    order_number = payload.get("order_number")
    if isinstance(order_number, int) and not isinstance(order_number, bool):
        order_number = str(order_number)
    order_number = v.text(order_number, "order_number", max_length=100, required=True)
    if not any(character.isalnum() for character in order_number):
        raise v.InvalidInput("order_number", "must contain a letter or a digit (it becomes the invoice number)")
    return {
        "order_number": order_number,
        "customer_id": _reference(payload.get("customer_id"), "customer_id"),
        "packed_at": _timestamp(payload.get("packed_at"), "packed_at"),
        "po_number": v.text(payload.get("po_number"), "po_number", max_length=MAX_PO_NUMBER),
        "memo": v.text(payload.get("memo"), "memo", max_length=MAX_MEMO, multiline=True),
        "ship_address": read_address(payload.get("ship_address"), "ship_address"),
        "bill_address": read_address(payload.get("bill_address"), "bill_address"),
        "lines": [_line(line, f"lines[{index}]") for index, line in enumerate(lines)],
    }


def _reference(value: Any, field: str) -> str:
    """An id or number from BlueTrace: a non-blank string, or a whole number (kept as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    return v.identifier(value, field)


def _timestamp(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise v.InvalidInput(field, 'is required: an ISO 8601 date or date-time such as "2024-05-01T14:30:00-07:00"')
    text = value.strip()
    try:
        parsed: dt.date = dt.datetime.fromisoformat(text) if len(text) > 10 else dt.date.fromisoformat(text)
    except ValueError:
        raise v.InvalidInput(field, f'is not an ISO 8601 date or date-time: {text[:40]!r}') from None
    return parsed.isoformat()


def _line(line: Any, field: str) -> dict[str, Any]:
    if not isinstance(line, Mapping):
        raise v.InvalidInput(field, "must be an object with item_id, quantity, unit_price and description")
    unknown = sorted(set(line) - set(LINE_FIELDS))
    if unknown:
        raise v.InvalidInput(f"{field}.{unknown[0]}", f"is not a field of an order line (known: {', '.join(LINE_FIELDS)})")
    quantity = v.money(line.get("quantity"), f"{field}.quantity")
    if quantity is None or quantity == 0:
        raise v.InvalidInput(f"{field}.quantity", "is required and must be more than 0")
    price = v.money(line.get("unit_price"), f"{field}.unit_price")
    if price is None:
        raise v.InvalidInput(f"{field}.unit_price", 'is required: a decimal amount such as "12.50"')
    return {
        "item_id": _reference(line.get("item_id"), f"{field}.item_id"),
        "quantity": plain_decimal(quantity),
        "unit_price": plain_decimal(price),
        "description": v.text(line.get("description"), f"{field}.description", max_length=MAX_DESCRIPTION,
                              multiline=True),  # fmt: skip
    }


def plain_decimal(number: Decimal) -> str:
    """One spelling per value: no exponent, no trailing zeros, no negative zero ("2", "19.9")."""
    text = format((number + 0).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def canonical_hash(event: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a validated event (:func:`read_packed_order`)."""
    text = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- recording ----------------------------------------------------------------------------------


def record_packed_order(db: Session, account_id: int, order_id: str, payload: Any) -> tuple[dict[str, Any], bool]:
    """Accept a packed-order event; returns (the invoice view, whether this call created it).

    The caller's unit of work commits the order and its outbox operation together.

    Raises:
        validation.InvalidInput: a field is wrong (the API's 422).
        Conflict: a different event for an order whose invoice is, or may be, in QuickBooks.
        NotFound: the account does not exist.
    """
    order_id = v.identifier(order_id, "order_id")
    event = read_packed_order(payload)
    digest = canonical_hash(event)
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    now = utcnow()
    values = dict(
        account_id=account_id, order_id=order_id, order_number=event["order_number"], payload=event,
        payload_hash=digest, status=InvoiceStatus.WAITING.value, attempts=0, received_at=now, updated_at=now,
    )  # fmt: skip
    # Two requests racing on one order: the database picks one winner, the other replays.
    db.flush()  # as the session's own execute would: a plain INSERT skips the ORM's autoflush
    inserted = db.execute(_ORDER_INSERTS[db.get_bind().dialect.name == "postgresql"], values).first() is not None
    if inserted:
        # The event is plain JSON already (read_packed_order), so it reads back as it was sent.
        order = inserted_row(db, PackedOrder, values)
    else:
        # Locked: a replay racing a replacement, Retry or re-evaluation of the order decides on what is committed.
        order = db.get(PackedOrder, (account_id, order_id), populate_existing=True, with_for_update=True)
        if order.payload_hash == digest:
            return invoice_view(order), False
        if order.status not in REPLACEABLE or _verifying(db, order):
            raise Conflict(
                f"Order {order_id} was already received with different content, and its invoice is {order.status}: "
                "a packed order cannot be changed once its invoice is on its way to QuickBooks."
            )
        order.order_number, order.payload, order.payload_hash = event["order_number"], event, digest
    rules.evaluate(db, account, [order])
    db.flush()  # the answer shows what is stored (updated_at is set on flush)
    return invoice_view(order), inserted


def _order_insert(dialect):
    columns = ("account_id", "order_id", "order_number", "payload", "payload_hash", "status", "attempts", "received_at",
               "updated_at")  # fmt: skip
    table = PackedOrder.__table__
    # A row back means this call inserted it; the row itself is what was sent (inserted_row): reading it
    # back as an ORM entity cost more than the INSERT.
    return (dialect.insert(table).values({name: bindparam(name) for name in columns})
            .on_conflict_do_nothing(index_elements=["account_id", "order_id"]).returning(table.c.order_id))  # fmt: skip


# Built once, the values as parameters: built with its values (the whole event), the INSERT was keyed
# for the statement cache value by value, and that cost more than running it.
_ORDER_INSERTS = {pg: _order_insert(postgresql if pg else sqlite) for pg in (False, True)}


def _verifying(db: Session, order: PackedOrder) -> bool:
    """The bridge still has to check whether QuickBooks holds this order's invoice."""
    op = db.get(OutboxOperation, order.operation_id) if order.operation_id else None
    return op is not None and op.verify_first


def retry_invoice(db: Session, account_id: int, order_id: str) -> dict[str, Any]:
    """Try a blocked or failed invoice again now, or create again one deleted in QuickBooks (the Invoices tab's Retry).

    Raises:
        NotFound: no such order. Conflict: the invoice is not blocked, failed or deleted.
    """
    order = _order(db, account_id, order_id, lock=True)
    if order.status not in RETRYABLE:
        raise Conflict(f"The invoice of order {order_id} is {order.status}: only a blocked, failed or deleted one "
                       "can be retried.")
    if order.status == InvoiceStatus.DELETED.value:
        order.txn_id = order.ref_number = None  # a person chose to create it again: the deleted one is history
    op = db.get(OutboxOperation, order.operation_id) if order.operation_id else None
    if op is not None and op.result:
        op.result = None  # forget the references QuickBooks refused: a person says they are fixed
    if _verifying(db, order):
        rules.queue(db, order)  # look it up in QuickBooks first, whatever the rules say now
    else:
        order.error_code = None
        rules.evaluate(db, db.get(Account, account_id), [order])
    db.flush()
    return invoice_view(order)


# -- reading ------------------------------------------------------------------------------------


def get_invoice(db: Session, account_id: int, order_id: str) -> dict[str, Any]:
    """Raises: NotFound."""
    return invoice_view(_order(db, account_id, order_id))


def _order(db: Session, account_id: int, order_id: str, *, lock: bool = False) -> PackedOrder:
    order = db.get(PackedOrder, (account_id, order_id), with_for_update=lock, populate_existing=lock)
    if order is None:
        raise NotFound(f"No packed order {order_id!r} was received for this account.")
    return order


def list_invoices(
    db: Session, account_id: int, *, status: str | None = None, paid: str | None = None, page: int = 1,
    page_size: int = 50,
) -> Page:
    """One page of the account's orders, newest first; rows are PackedOrder (show with :func:`invoice_view`).

    ``paid`` keeps created invoices that QuickBooks says are paid fully, partly or not (one it has
    not reported on since its creation is not paid); a voided invoice is none of them.

    Raises:
        validation.InvalidInput: ``status`` is not an invoice status, ``paid`` not a paid status.
    """
    page, page_size = clamp(page, page_size)
    where = [PackedOrder.account_id == account_id]
    if status is not None:
        where.append(PackedOrder.status == v.choice(status, "status", STATUSES))
    if paid is not None:
        paid = v.choice(paid, "paid", PAID_STATUSES)
        where += [PackedOrder.status == InvoiceStatus.CREATED.value, PackedOrder.voided.is_(False)]
        # Not reported on since its creation (no state yet): as created, nothing paid.
        where.append(or_(PackedOrder.paid == paid, PackedOrder.paid.is_(None)) if paid == PaidStatus.NOT.value
                     else PackedOrder.paid == paid)
    total = db.scalar(select(func.count()).select_from(PackedOrder).where(*where)) or 0
    rows = db.scalars(
        select(PackedOrder)
        .where(*where)
        .order_by(PackedOrder.received_at.desc(), PackedOrder.order_id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page(rows=list(rows), total=total, page=page, page_size=page_size)


def invoice_counts(db: Session, account_id: int) -> dict[str, int]:
    """How many orders stand in each status (every status present, 0 when none), and ``total``."""
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in db.execute(
        select(PackedOrder.status, func.count()).where(PackedOrder.account_id == account_id).group_by(PackedOrder.status)
    ):
        counts[status] = count
    counts["total"] = sum(counts[status] for status in STATUSES)
    return counts


def look_up_before_resending(db: Session, backup_taken_at: dt.datetime) -> int:
    """After restoring a backup: every invoice not known to be created looks QuickBooks up first.

    A restored outbox holds, as pending, invoices that QuickBooks created after the backup was
    taken (and BlueTrace's replay of the orders packed since adds more of them); sent as they
    are, each would become a second invoice. Marked ``verify_first``, each is first looked up
    among its customer's invoices modified since a day before it was first sent, or, never
    sent here, created; clamping that time to the backup's covers what was sent after it.
    Returns how many operations were marked. Idempotent.
    """
    backup_taken_at = _as_utc(backup_taken_at)
    operations = db.scalars(select(OutboxOperation).where(
        OutboxOperation.kind == rules.OPERATION_KIND, OutboxOperation.state != "done"))  # fmt: skip
    marked = 0
    for op in operations:
        op.verify_first = True
        if _as_utc(op.created_at) > backup_taken_at:
            op.created_at = backup_taken_at
        sent = (op.payload or {}).get("sent")
        if isinstance(sent, dict) and _as_utc(dt.datetime.fromisoformat(sent["at"])) > backup_taken_at:
            op.payload = {**op.payload, "sent": {**sent, "at": backup_taken_at.isoformat()}}
        marked += 1
    return marked


def _as_utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)
