"""The one JSON view of a packed order's invoice (API, Invoices tab, webhook bodies).

Its own module, below :mod:`qbwc_bridge.sync`, because the engine records webhook events
carrying this view in the same unit of work as the change (qbwc_bridge.webhooks.events),
and :mod:`.invoices` (which imports the engine) would make that a circle.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..store.models import PackedOrder


def invoice_view(order: PackedOrder) -> dict[str, Any]:
    """The one JSON shape of an order's invoice (``GET /api/v1/orders/{id}/invoice``, Invoices tab).

    Keys are a public contract: only ever added to.
    """
    payload = order.payload
    total = sum(
        (Decimal(line["quantity"]) * Decimal(line["unit_price"]) for line in payload["lines"]), Decimal("0")
    ).quantize(Decimal("0.01"))
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
    }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
