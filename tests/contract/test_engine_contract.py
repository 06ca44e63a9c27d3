"""The help article's engine scenarios, written once and run against every backend.

Each test reads as a bookkeeper's story: what QuickBooks holds, what BlueTrace sends, what the
bridge does, and what both sides hold afterwards. Nothing here knows how a backend talks to its
QuickBooks: a scenario that passed for one backend and not another is a backend that does not
keep the engine's contract.
"""
from __future__ import annotations

from sqlalchemy import func, select

from qbwc_bridge.domain import InvoiceStatus, IssueType, MatchedBy
from qbwc_bridge.services import catalog, settings as account_settings
from qbwc_bridge.store.models import QbCustomer, QbItem

from tests.contract.stories import ITEMS, account, connected, customer, item, order_status, send_order

def test_the_initial_sync_reads_every_list_and_ends_connected(world):
    connected(world)
    assert account(world).status == "connected"
    with world.store.begin() as db:
        held = {model.__name__: db.scalar(select(func.count()).select_from(model).where(
            model.account_id == world.account_id)) for model in (QbItem, QbCustomer)}
    assert held == {"QbItem": len(ITEMS), "QbCustomer": 3}


def test_items_match_by_sku_and_customers_by_billing_email_and_each_issue_has_its_fix(world):
    ids = connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-1", "name": "Widget one"})
        catalog.upsert_item(db, world.account_id, "i-9", {"sku": "Z-9", "name": "Zed"})
        catalog.upsert_item(db, world.account_id, "i-0", {"name": "No SKU"})
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Harbor", "billing_email": "AP@harbor.test"})
        catalog.upsert_customer(db, world.account_id, "c-0", {"name": "Walk-in"})
    assert (item(world, "i-1").qb_list_id, item(world, "i-1").matched_by) == (ids["W-1"], MatchedBy.AUTO.value)
    assert item(world, "i-9").issue == IssueType.NOT_FOUND.value
    assert item(world, "i-0").issue == IssueType.MISSING_SKU.value
    assert customer(world, "c-1").qb_list_id == ids["harbor"]
    assert customer(world, "c-0").issue == IssueType.MISSING_EMAIL.value
    with world.store.begin() as db:  # the fix a person picks: the right QuickBooks item by hand
        catalog.match_item(db, world.account_id, "i-9", ids["W-2"])
    assert (item(world, "i-9").qb_list_id, item(world, "i-9").matched_by) == (ids["W-2"], MatchedBy.MANUAL.value)


def test_create_in_quickbooks_creates_once_and_a_duplicate_name_is_renamed(world):
    connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-n", {"sku": "NEW-1", "name": "New widget", "kind": "service"})
        catalog.create_item_in_quickbooks(db, world.account_id, "i-n")
        # A BlueTrace customer whose email QuickBooks does not know, named like a QuickBooks customer.
        catalog.upsert_customer(db, world.account_id, "c-h", {"name": "Harbor Supply", "billing_email": "new@harbor.test"})
        catalog.create_customer_in_quickbooks(db, world.account_id, "c-h")
    world.run()
    assert "NEW-1" in world.item_names()
    assert item(world, "i-n").matched_by == MatchedBy.CREATED.value
    refused = customer(world, "c-h")
    assert refused.issue == IssueType.DUPLICATE_NAME.value and refused.qb_list_id is None
    assert refused.issue_detail["actions"][0]["action"] == "rename"
    with world.store.begin() as db:
        catalog.create_customer_in_quickbooks(db, world.account_id, "c-h", name="Harbor Supply (web)")
    world.run()
    assert customer(world, "c-h").matched_by == MatchedBy.CREATED.value
    assert sorted(world.customer_names()) == ["Harbor Supply", "Harbor Supply (web)", "Lake Traders", "Quay Stores"]


def test_a_lost_answer_to_create_in_quickbooks_creates_the_record_once(world):
    connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-n", {"sku": "NEW-2", "name": "Another", "kind": "service"})
        catalog.create_item_in_quickbooks(db, world.account_id, "i-n")
    world.lose_next_answer()
    world.run()
    assert sorted(world.item_names()).count("NEW-2") == 1
    assert item(world, "i-n").matched_by == MatchedBy.CREATED.value


def test_resync_finds_a_record_added_in_quickbooks_since_the_last_sync(world):
    connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-l", {"sku": "LATE-1", "name": "Late"})
    assert item(world, "i-l").issue == IssueType.NOT_FOUND.value
    late = world.add_item("LATE-1")
    with world.store.begin() as db:
        catalog.resync_item(db, world.account_id, "i-l")
    world.run()
    assert item(world, "i-l").qb_list_id == late


def test_a_change_in_quickbooks_reaches_the_bridge_by_itself(world):
    ids = connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-r", {"sku": "W-9", "name": "Renamed"})
    assert item(world, "i-r").issue == IssueType.NOT_FOUND.value
    world.later(minutes=1)
    world.rename_item(ids["W-2"], "W-9")
    world.later(minutes=5)  # past the schedule: the next run pulls what changed
    world.run()
    assert item(world, "i-r").qb_list_id == ids["W-2"]


def test_a_packed_order_is_blocked_until_its_item_matches_then_becomes_one_invoice(world):
    ids = connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Harbor", "billing_email": "ap@harbor.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-1", "name": "Widget one"})
        catalog.upsert_item(db, world.account_id, "i-9", {"sku": "Z-9", "name": "Zed"})
    send_order(world, "o-1", "SO-1001", "c-1", "i-1", "i-9")
    blocked = order_status(world, "o-1")
    assert blocked.status == InvoiceStatus.BLOCKED.value and "Z-9" in blocked.action
    world.run()
    assert world.invoices() == []
    with world.store.begin() as db:
        catalog.match_item(db, world.account_id, "i-9", ids["W-3"])
    world.run()
    assert [(i.number, i.customer) for i in world.invoices()] == [("SO-1001", "Harbor Supply")]
    assert order_status(world, "o-1").status == InvoiceStatus.CREATED.value


def test_an_invoice_whose_answer_is_lost_is_created_exactly_once(world):
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    send_order(world, "o-7", "SO-1007", "c-1", "i-1")
    world.lose_next_answer()
    world.run()
    found = [i for i in world.invoices() if "(order id o-7)" in i.note]
    assert [(i.number, i.customer) for i in found] == [("SO-1007", "Lake Traders")]
    done = order_status(world, "o-7")
    assert (done.status, done.ref_number) == (InvoiceStatus.CREATED.value, "SO-1007")


def test_when_quickbooks_numbers_invoices_the_invoice_carries_its_number_and_a_lost_answer_gives_one_invoice(world):
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        account_settings.update_settings(db, world.account_id, {"invoice_numbering": "quickbooks"})
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    # A repeat order: the same customer, date, lines and total as the one before it, moments apart.
    send_order(world, "o-7", "SO-1007", "c-1", "i-1")
    world.run()
    send_order(world, "o-8", "SO-1008", "c-1", "i-1")
    world.lose_next_answer()
    world.run()
    for order_id, order_number in (("o-7", "SO-1007"), ("o-8", "SO-1008")):
        found = [i for i in world.invoices() if f"(order id {order_id})" in i.note]
        assert [i.customer for i in found] == ["Lake Traders"], order_id  # exactly one invoice each
        done = order_status(world, order_id)
        assert done.status == InvoiceStatus.CREATED.value
        # QuickBooks' own number, not ours: it comes back and is what the bridge shows.
        assert found[0].number and order_number not in found[0].number
        assert done.ref_number == found[0].number
    assert len({i.number for i in world.invoices()}) == 2
