"""Records deleted or merged in QuickBooks, as the engine promises for any backend that can tell it.

QuickBooks Desktop tells (ListDeletedQuery / TxnDeletedQuery), QuickBooks Online from Change Data
Capture; the in-package memory backend cannot tell, and its world skips these scenarios.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from qbwc_bridge import outbox
from qbwc_bridge.backends.push import DELETIONS
from qbwc_bridge.domain import InvoiceStatus, IssueType, MatchedBy
from qbwc_bridge.operations import Deletable, DeletionsPull, OperationKind
from qbwc_bridge.services import catalog, invoices
from qbwc_bridge.store.models import OperationState, OutboxOperation

from tests.contract.stories import connected, customer, item, order_status, send_order
from tests.contract.worlds import MemoryWorld, World


@pytest.fixture
def world(world: World) -> World:
    if not world.notices_deletions:
        pytest.skip(f"the {world.kind} backend does not report deletions yet")
    return world


def test_a_customer_merged_in_quickbooks_is_rematched_to_the_survivor(world):
    ids = connected(world)
    survivor = world.add_customer("Quay Stores Ltd", "orders@quay.test")
    world.later(minutes=5)
    world.run()
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-q", {"name": "Quay", "billing_email": "orders@quay.test"})
    assert customer(world, "c-q").issue == IssueType.DUPLICATE_MATCH.value
    with world.store.begin() as db:
        catalog.match_customer(db, world.account_id, "c-q", ids["quay"])
    world.merge_customers(ids["quay"], survivor)
    world.later(minutes=5)
    world.run()
    merged = customer(world, "c-q")
    assert (merged.qb_list_id, merged.matched_by, merged.issue) == (survivor, MatchedBy.AUTO.value, None)


def test_an_item_deleted_in_quickbooks_leaves_its_record_not_found(world):
    ids = connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-5", {"sku": "W-5", "name": "Widget five"})
    assert item(world, "i-5").qb_list_id == ids["W-5"]
    world.delete_item(ids["W-5"])
    world.later(minutes=5)
    world.run()
    gone = item(world, "i-5")
    assert (gone.qb_list_id, gone.issue) == (None, IssueType.NOT_FOUND.value)
    assert gone.issue_detail["action"]


def test_our_invoice_deleted_in_quickbooks_is_shown_deleted_and_only_a_person_creates_it_again(world):
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-1", "name": "Widget one"})
    send_order(world, "o-1", "SO-1001", "c-1", "i-1")
    world.run()
    assert order_status(world, "o-1").status == InvoiceStatus.CREATED.value
    world.delete_invoice("SO-1001")
    world.later(minutes=5)
    world.run()
    deleted = order_status(world, "o-1")
    assert deleted.status == InvoiceStatus.DELETED.value and deleted.action
    world.later(minutes=5)
    world.run()
    assert world.invoices() == []
    with world.store.begin() as db:
        invoices.retry_invoice(db, world.account_id, "o-1")
    world.run()
    assert [i.number for i in world.invoices()] == ["SO-1001"]
    assert order_status(world, "o-1").status == InvoiceStatus.CREATED.value


def test_a_push_backend_that_cannot_tell_deletions_is_never_asked_for_them(store, settings):
    world = MemoryWorld(store, settings)
    connected(world)
    with world.store.begin() as db:
        planted = outbox.enqueue(db, world.account_id, OperationKind.SYNC_ITEM_DELETIONS.value,
                                 DeletionsPull(Deletable.ITEMS, None).to_payload())
        planted_id = planted.id
    world.later(minutes=5)  # incremental pulls fall due: none brings a deletions pull with it
    world.run()
    with world.store.begin() as db:
        kinds = set(db.scalars(select(OutboxOperation.kind).where(OutboxOperation.account_id == world.account_id)))
        planted = db.get(OutboxOperation, planted_id)
        assert (planted.state, planted.error_code) == (OperationState.FAILED.value, "not_offered")
    assert OperationKind.SYNC_ITEMS.value in kinds
    assert {kind.value for kind in DELETIONS} & kinds == {OperationKind.SYNC_ITEM_DELETIONS.value}  # the planted
