"""/api/v1 packed orders and their invoices: the event BlueTrace sends, and where each invoice stands.

Field names here are a public contract (BlueTrace's backend and the Invoices tab read
them): they are only ever added to.
"""
from __future__ import annotations

from flask import Blueprint, request

from ...services import invoices
from .base import PAGE_QUERY, api_route, component, json_body, page_args

_TEXT = {"type": ["string", "null"]}
_AMOUNT = {
    "type": ["string", "number"],
    "description": 'A decimal, as a string ("12.50") or a JSON number (read exactly); up to 5 decimal places',
}
ADDRESS = component(
    "OrderAddress",
    {
        "type": ["object", "null"],
        "description": "Only non-blank lines are kept. Each line is at most 41 characters in QuickBooks, the city 31: "
        "longer text blocks the invoice with an Action naming it.",
        "properties": {
            key: {"type": ["string", "null"], "maxLength": 200}
            for key in ("line1", "line2", "line3", "line4", "line5", "city", "state", "postal_code", "country")
        },
    },
)
PACKED_ORDER = component(
    "PackedOrder",
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["order_number", "customer_id", "packed_at", "lines"],
        "properties": {
            "order_number": {
                "type": ["string", "integer"], "maxLength": 100,
                "description": "Becomes the invoice number (RefNumber). QuickBooks keeps 11 characters: a longer "
                "number keeps its last 11 (separators at the cut dropped); the full number is always in the Memo.",
            },
            "customer_id": {"type": ["string", "integer"], "maxLength": 100, "description": "BlueTrace customer id"},
            "packed_at": {
                "type": "string",
                "description": "ISO 8601 date or date-time; the invoice date is its calendar date as written",
            },
            "po_number": {**_TEXT, "maxLength": 100, "description": "QuickBooks keeps 25 characters"},
            "memo": {**_TEXT, "maxLength": 4000, "description": "Added to the invoice Memo after the order reference"},
            "ship_address": ADDRESS,
            "bill_address": {**ADDRESS, "description": "Optional; else the BlueTrace customer's billing address"},
            "lines": {
                "type": "array",
                "minItems": 1,
                "maxItems": invoices.MAX_LINES,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["item_id", "quantity", "unit_price"],
                    "properties": {
                        "item_id": {"type": ["string", "integer"], "maxLength": 100},
                        "quantity": {**_AMOUNT, "description": "More than 0; " + _AMOUNT["description"]},
                        "unit_price": {**_AMOUNT, "description": "The invoice line's rate; " + _AMOUNT["description"]},
                        "description": {**_TEXT, "maxLength": 4000, "description": "Else QuickBooks uses the item's"},
                    },
                },
            },
        },
    },
)
INVOICE = component(
    "Invoice",
    {
        "type": "object",
        "required": ["order_id", "status", "quickbooks", "action", "error", "attempts", "updated_at"],
        "properties": {
            "order_id": {"type": "string"},
            "order_number": {"type": "string"},
            "customer_id": {"type": "string"},
            "packed_at": {"type": "string"},
            "total": {"type": "string", "description": "Sum of quantity x unit price, to the cent"},
            "status": {
                "enum": list(invoices.STATUSES),
                "description": "waiting (the bridge is creating a missing customer or item), blocked (action says "
                "what to fix), queued, sent (the Web Connector holds it), unconfirmed (its answer was lost: the bridge "
                "looks it up in QuickBooks before anything is resent), created, failed (action says what to do), deleted "
                "(created, then deleted in QuickBooks: never re-created by itself; retry creates it again)",
            },
            "quickbooks": {
                "type": "object",
                "required": ["txn_id", "ref_number"],
                "properties": {"txn_id": _TEXT, "ref_number": _TEXT},
                "description": "The invoice in QuickBooks, once created",
            },
            "action": {**_TEXT, "description": "What a person must do; one fix per line"},
            "error": {**_TEXT, "description": "What went wrong, in plain words (QuickBooks' own message included)"},
            "attempts": {"type": "integer", "description": "Requests sent to QuickBooks for this invoice"},
            "received_at": {"type": "string", "format": "date-time"},
            "updated_at": {"type": "string", "format": "date-time"},
            "quickbooks_total": {
                **_TEXT, "description": "The invoice's total as QuickBooks holds it now (a person may have edited it "
                "there); null until the invoice is created"},
            "balance": {**_TEXT, "description": "What is still owed in QuickBooks; null until the invoice is created"},
            "paid": {
                "enum": [*invoices.PAID_STATUSES, None],
                "description": "fully (nothing owed), partly, or not; null until the invoice is created, and for a "
                "voided invoice. Read back from QuickBooks at each incremental pull (every few minutes)",
            },
            "voided": {"type": "boolean", "description": "The invoice was voided in QuickBooks (it stays, at zero)"},
            "total_difference": {
                **_TEXT, "description": "quickbooks_total minus total, when someone edited the invoice in QuickBooks; "
                "null when they agree"},
        },
    },
)
INVOICE_PAGE = component(
    "InvoicePage",
    {
        "type": "object",
        "required": ["invoices", "page", "page_size", "total", "pages", "counts"],
        "properties": {
            "invoices": {"type": "array", "items": INVOICE},
            "page": {"type": "integer", "minimum": 1},
            "page_size": {"type": "integer", "minimum": 1},
            "total": {"type": "integer", "description": "Orders matching the filter"},
            "pages": {"type": "integer", "minimum": 1},
            "counts": {
                "type": "object",
                "description": "Orders per status in the whole account, and total",
                "additionalProperties": {"type": "integer"},
            },
        },
    },
)


def register(blueprint: Blueprint) -> None:
    """Declare the packed-order and invoice routes on the API blueprint."""

    def packed(db, account_id, order_id):
        view, _created = invoices.record_packed_order(db, account_id, order_id, json_body())
        return view, 202

    api_route(
        blueprint, "POST", "/orders/{order_id}/packed", tag="Invoices", success_status=202,
        summary="An order was packed: create its QuickBooks invoice (exactly once)",
        description="Answers 202 once the event is stored durably. Idempotent per order_id: the same event again "
        "changes nothing and gets the same answer. A different event for the same order is a 409 while its invoice "
        "is queued, on its way or created; while it is blocked or failed, the corrected event replaces the old one.",
        request_schema=PACKED_ORDER, response_schema=INVOICE,
        responses={"409": "A different event was already received for this order"},
    )(packed)

    def invoice(db, account_id, order_id):
        return invoices.get_invoice(db, account_id, order_id)

    api_route(
        blueprint, "GET", "/orders/{order_id}/invoice", tag="Invoices", response_schema=INVOICE,
        summary="Where the invoice of a packed order stands",
    )(invoice)

    def retry(db, account_id, order_id):
        return invoices.retry_invoice(db, account_id, order_id), 202

    api_route(
        blueprint, "POST", "/orders/{order_id}/invoice/retry", tag="Invoices", success_status=202,
        response_schema=INVOICE, responses={"409": "The invoice is not blocked, failed or deleted"},
        summary="Try a blocked or failed invoice again (after fixing what its action said), or create again one "
        "deleted in QuickBooks",
    )(retry)

    def listing(db, account_id):
        page, size = page_args()
        result = invoices.list_invoices(db, account_id, status=request.args.get("status") or None,
                                        paid=request.args.get("paid") or None, page=page, page_size=size)
        return {
            "invoices": [invoices.invoice_view(row) for row in result.rows],
            "page": result.page,
            "page_size": result.page_size,
            "total": result.total,
            "pages": result.pages,
            "counts": invoices.invoice_counts(db, account_id),
        }

    api_route(
        blueprint, "GET", "/invoices", tag="Invoices", response_schema=INVOICE_PAGE,
        summary="The Invoices tab: packed orders and their invoices, newest first",
        query={
            "status": {"enum": list(invoices.STATUSES)},
            "paid": {"enum": list(invoices.PAID_STATUSES),
                     "description": "Created invoices by how much is paid in QuickBooks (voided ones are none of them)"},
            **PAGE_QUERY,
        },
    )(listing)
