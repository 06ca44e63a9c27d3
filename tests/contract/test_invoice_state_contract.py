"""Our invoices as QuickBooks holds them after we created them: paid, voided, edited (issue 16 item 3).

A bookkeeper records a payment, voids an invoice or edits its lines in QuickBooks; the next
incremental pull reads the invoices modified there and keeps their state on the order. Every
backend that can tell runs these (Desktop, memory, Online).
"""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from qbwc_bridge.domain import InvoiceStatus
from qbwc_bridge.operations import OperationKind
from qbwc_bridge.services import catalog, invoices
from qbwc_bridge.services.invoice_view import invoice_view
from qbwc_bridge.store.models import OutboxOperation, PackedOrder, WebhookDelivery
from qbwc_bridge.webhooks.endpoints import put_endpoint
from qbwc_bridge.webhooks.sealed_secret import SecretBox

from tests.contract.stories import connected, order_status, send_order
from tests.contract.worlds import World


@pytest.fixture
def world(world: World) -> World:
    if not world.tells_invoice_changes:
        pytest.skip(f"the {world.kind} backend does not report invoice changes yet")
    return world


def created_order(world: World, order_id: str = "o-1", number: str = "SO-1001") -> None:
    """A matched customer and item, and one order of 2 x 9.99 (19.98) created in QuickBooks."""
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-1", "name": "Widget one"})
    send_order(world, order_id, number, "c-1", "i-1")
    world.run()
    assert order_status(world, order_id).status == InvoiceStatus.CREATED.value


def view(world: World, order_id: str = "o-1") -> dict:
    with world.store.begin() as db:
        return invoice_view(db.get(PackedOrder, (world.account_id, order_id)))


def settle(world: World) -> None:
    world.later(minutes=5)  # the customers' incremental pull falls due, and the invoice-state pull with it
    world.run()


def paid_events(world: World) -> list[str | None]:
    """The ``invoice.paid`` deliveries recorded for BlueTrace's webhook, oldest first: each one's ``paid``."""
    with world.store.begin() as db:
        bodies = db.scalars(select(WebhookDelivery.body).where(
            WebhookDelivery.account_id == world.account_id, WebhookDelivery.type == "invoice.paid")
            .order_by(WebhookDelivery.id))
        return [json.loads(body)["data"]["paid"] for body in bodies]


def test_a_payment_recorded_in_quickbooks_shows_as_paid_partly_then_fully(world):
    connected(world, invoice_creation=True)
    with world.store.begin() as db:  # BlueTrace listens for payments (delivery itself: tests/integration/test_webhooks)
        put_endpoint(db, world.account_id, {"url": "http://localhost:9/hook", "events": ["invoice.paid"]},
                     SecretBox("contract"))
    created_order(world)
    fresh = view(world)
    assert (fresh["paid"], fresh["balance"], fresh["voided"], fresh["quickbooks_total"]) == (
        "not", "19.98", False, "19.98")
    world.later(minutes=1)
    world.record_payment("SO-1001", Decimal("5.00"))
    settle(world)
    partly = view(world)
    assert (partly["paid"], partly["balance"], partly["total_difference"]) == ("partly", "14.98", None)
    assert paid_events(world) == ["partly"]
    with world.store.begin() as db:
        assert isinstance(db.get(PackedOrder, (world.account_id, "o-1")).qb_balance, Decimal)
    world.later(minutes=1)
    world.record_payment("SO-1001", Decimal("14.98"))
    settle(world)
    fully = view(world)
    assert (fully["paid"], fully["balance"], fully["status"]) == ("fully", "0.00", InvoiceStatus.CREATED.value)
    assert paid_events(world) == ["partly", "fully"]  # once per payment, whatever the pulls' overlap read again
    with world.store.begin() as db:
        kinds = list(db.scalars(select(OutboxOperation.kind).where(OutboxOperation.account_id == world.account_id)))
    assert OperationKind.SYNC_INVOICE_CHANGES.value in kinds


def test_a_voided_invoice_shows_voided(world):
    connected(world, invoice_creation=True)
    created_order(world)
    world.later(minutes=1)
    world.void_invoice("SO-1001")
    settle(world)
    voided = view(world)
    assert (voided["voided"], voided["paid"], voided["balance"], voided["status"]) == (
        True, None, "0.00", InvoiceStatus.CREATED.value)


def test_an_invoice_whose_total_was_edited_in_quickbooks_shows_the_difference(world):
    connected(world, invoice_creation=True)
    created_order(world)
    world.later(minutes=1)
    world.change_invoice_quantity("SO-1001", Decimal("3"))  # 3 x 9.99 = 29.97 instead of 19.98
    settle(world)
    edited = view(world)
    assert (edited["total"], edited["quickbooks_total"], edited["total_difference"], edited["balance"],
            edited["paid"]) == ("19.98", "29.97", "9.99", "29.97", "not")


def test_an_invoice_created_again_after_a_deletion_starts_unpaid(world):
    if not world.notices_deletions:
        pytest.skip(f"the {world.kind} backend does not report deletions yet")
    connected(world, invoice_creation=True)
    created_order(world)
    world.later(minutes=1)
    world.record_payment("SO-1001", Decimal("5.00"))
    settle(world)
    assert view(world)["paid"] == "partly"
    world.delete_invoice("SO-1001")
    settle(world)
    assert view(world)["status"] == InvoiceStatus.DELETED.value
    with world.store.begin() as db:
        invoices.retry_invoice(db, world.account_id, "o-1")
    world.run()
    again = view(world)
    assert (again["status"], again["paid"], again["balance"], again["quickbooks_total"]) == (
        InvoiceStatus.CREATED.value, "not", "19.98", "19.98")
