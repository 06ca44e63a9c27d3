"""The one JSON view of a packed order's invoice (API, Invoices tab, webhook bodies).

Its own module, below :mod:`qbwc_bridge.sync`, because the engine records webhook events
carrying this view in the same unit of work as the change (qbwc_bridge.webhooks.events),
and :mod:`.invoices` (which imports the engine) would make that a circle.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..domain import InvoiceStatus, PaidStatus
from ..store.models import PackedOrder


def invoice_view(order: PackedOrder) -> dict[str, Any]:
    """The one JSON shape of an order's invoice (``GET /api/v1/orders/{id}/invoice``, Invoices tab).

    Keys are a public contract: only ever added to.
    """
    payload = order.payload
    total = sum(
        (Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in payload["lines"]), Decimal("0")
    ).quantize(Decimal("0.01"))
    qb_total, balance, paid = _state(order, total)
    return {
        "order_id": order.order_id,
        "order_number": order.order_number,
        "customer_id": payload["customer_id"],
        "packed_at": payload["packed_at"],
        "total": format(total, "f"),
        "status": order.status,
        "quickbooks": {"txn_id": order.txn_id, "ref_number": order.ref_number},
        "action": order.action,
        "error": order.error,
        "attempts": order.attempts,
        "received_at": _iso(order.received_at),
        "updated_at": _iso(order.updated_at),
        # How the invoice stands in QuickBooks (sync.invoice_states): None until it is created.
        "quickbooks_total": _money(qb_total),
        "balance": _money(balance),
        "paid": paid,
        "voided": bool(order.voided),
        # QuickBooks' total minus the order's: someone edited the invoice there (None when they agree).
        "total_difference": None if qb_total is None or qb_total == total else _money(qb_total - total),
    }


def _state(order: PackedOrder, total: Decimal) -> tuple[Decimal | None, Decimal | None, str | None]:
    """(QuickBooks' total, balance, paid) of a created invoice; before QuickBooks reports any change, the
    invoice stands as created: our total, all of it owed, not paid. Nothing for an invoice not created."""
    if order.status != InvoiceStatus.CREATED.value:
        return None, None, None
    if order.qb_total is None:
        return total, total, PaidStatus.NOT.value
    return order.qb_total, order.qb_balance, order.paid


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
