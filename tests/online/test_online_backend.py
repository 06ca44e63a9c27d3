"""The Online backend end to end: the worker drives a company of the fake Intuit over real HTTP.

Each test starts from the contract suite's Online world (connected through Intuit's consent
page, lists synced) and breaks QuickBooks Online the way Intuit can: answers lost after the
write was applied, requestids forgotten, access tokens ending mid-run, a 429 storm, the
authorization withdrawn. Whatever happens, every packed order becomes exactly one invoice.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import unquote_plus

import pytest
from sqlalchemy import select

from qbwc_bridge.domain import InvoiceStatus, IssueType, MatchedBy
from qbwc_bridge.services import catalog, settings as account_settings
from qbwc_bridge.services.accounts import create_account
from qbwc_bridge.services.status import RECONNECT_NEEDED, account_status
from qbwc_bridge.store.models import Account, ExchangeLogEntry, OperationState, OutboxOperation, QboConnection
from qbwc_bridge.token_keys import TokenCipher

from tests.contract.test_engine_contract import account, connected, customer, item, order_status, send_order
from tests.contract.worlds import REALM, OnlineWorld, connect_online
from tests.integration.conftest import settings, store  # noqa: F401  (the fixtures the world stands on)

ORDERS = ("o-1", "o-2", "o-3")


@pytest.fixture
def world(store, settings) -> Iterator[OnlineWorld]:  # noqa: F811
    built = OnlineWorld(store, settings)
    try:
        yield built
    finally:
        built.close()


def with_orders(world: OnlineWorld) -> None:
    """A connected company that creates invoices, one matched customer and item, and three packed orders."""
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    for number, order_id in enumerate(ORDERS, start=1001):
        send_order(world, order_id, f"SO-{number}", "c-1", "i-1")


def one_invoice_per_order(world: OnlineWorld) -> None:
    invoices = world.intuit.invoices(REALM)
    assert sorted(invoice["DocNumber"] for invoice in invoices) == ["SO-1001", "SO-1002", "SO-1003"]
    assert world.intuit.duplicate_doc_numbers(REALM) == {}
    for order_id in ORDERS:
        assert order_status(world, order_id).status == InvoiceStatus.CREATED.value


def invoice_results(world: OnlineWorld) -> list[dict]:
    with world.store.begin() as db:
        return [op.result for op in db.scalars(select(OutboxOperation).where(
            OutboxOperation.account_id == world.account_id, OutboxOperation.kind == "invoice_add",
            OutboxOperation.state == OperationState.DONE.value))]


def test_every_write_answer_lost_after_apply_still_makes_one_invoice_per_order(world):
    with_orders(world)
    world.intuit.inject("lose_answer", rate=1.0, on="write", realm=REALM)
    world.run()
    one_invoice_per_order(world)
    assert world.intuit.faults.fired("lose_answer") == len(ORDERS)  # every invoice write lost its answer
    assert [result["adopted"] for result in invoice_results(world)] == [True] * len(ORDERS)
    assert world.intuit.writes_without_request_id(REALM) == []


def test_a_forgotten_requestid_and_a_lost_answer_are_adopted_by_number_and_marker_not_sent_twice(world):
    with_orders(world)
    world.intuit.inject("lose_answer", times=1, on="write", realm=REALM)
    world.intuit.inject("forget_request_ids", rate=1.0, on="write", realm=REALM)  # Intuit remembers nothing
    world.run()
    one_invoice_per_order(world)
    assert sorted(result.get("adopted", False) for result in invoice_results(world)) == [False, False, True]


def test_an_access_token_ending_mid_run_is_refreshed_once_and_the_work_goes_on(world):
    with_orders(world)
    refreshes = world.intuit.refresh_count
    world.intuit.inject("expire_token", times=1, on="any", realm=REALM)
    world.run()
    one_invoice_per_order(world)
    assert world.intuit.refresh_count == refreshes + 1
    assert world.intuit.refresh_token_reuses == []


def test_a_fresh_token_refused_once_is_retried_later_not_a_reconnect(world):
    # The call's token ends, and so does the one its refresh just gave (bench_qbo's workers, every token
    # ended each 0.5 s: a retry that came after the next tick). The refresh worked, so the authorization
    # is alive: the work waits and goes on; only Intuit refusing the refresh (invalid_grant) needs a person.
    with_orders(world)
    world.intuit.inject("expire_token", times=2, on="any", realm=REALM)
    world.run()
    assert account(world).error_code != RECONNECT_NEEDED
    one_invoice_per_order(world)
    assert world.intuit.refresh_token_reuses == []


def test_a_429_storm_still_finishes_within_ten_concurrent_calls(world):
    with_orders(world)
    world.intuit.inject("throttle", rate=0.6, on="any", realm=REALM)
    world.run()
    one_invoice_per_order(world)
    assert world.intuit.faults.fired("throttle") > len(ORDERS)
    assert 1 <= world.intuit.max_concurrency(REALM) <= 10


def test_invalid_grant_pauses_for_reconnect_then_the_work_resumes_without_duplicates(world):
    with_orders(world)
    world.run()
    send_order(world, "o-4", "SO-1004", "c-1", "i-1")
    world.intuit.disconnect(REALM)  # the company withdrew the app: refreshes answer invalid_grant
    world.intuit.expire_access_tokens(REALM)
    world.run()
    paused = account(world)
    assert paused.error_code == RECONNECT_NEEDED and "Reconnect" in paused.status_message
    assert order_status(world, "o-4").status != InvoiceStatus.CREATED.value
    assert world.run() == 1  # nothing is driven while it waits for a person
    connect_online(world.store, world.settings, world.account_id)
    world.run()
    assert account(world).error_code is None
    assert sorted(i["DocNumber"] for i in world.intuit.invoices(REALM)) == ["SO-1001", "SO-1002", "SO-1003", "SO-1004"]
    assert order_status(world, "o-4").status == InvoiceStatus.CREATED.value


def test_the_exchange_log_keeps_intuit_tid_and_requestid_and_never_a_token(world, caplog):
    caplog.set_level(logging.DEBUG)
    with_orders(world)
    world.intuit.inject("expire_token", times=1, on="any", realm=REALM)  # a refresh: two tokens to look for
    world.run()
    cipher = TokenCipher(world.settings.token_keys)
    with world.store.begin() as db:
        row = db.get(QboConnection, world.account_id)
        secrets = [cipher.decrypt(row.access_token_enc)[0], cipher.decrypt(row.refresh_token_enc)[0]]
        entries = list(db.scalars(select(ExchangeLogEntry).where(ExchangeLogEntry.account_id == world.account_id)))
    logged = "\n".join(f"{entry.summary}\n{entry.body or ''}" for entry in entries)
    assert any("POST" in entry.summary and "requestid" in entry.summary for entry in entries)
    assert all("intuit_tid" in entry.summary for entry in entries)
    assert "intuit_tid -" not in "\n".join(e.summary for e in entries if "HTTP 200" in e.summary)
    for secret in secrets:
        assert secret not in logged and secret not in caplog.text
    assert "Bearer" not in logged and "QBO POST" in caplog.text


def test_items_match_on_the_sku_field_by_default_and_create_in_quickbooks_fills_it(world):
    with world.store.begin() as db:
        assert db.get(Account, create_account(db, "Fresh Online", "online").account_id).item_match_field == "sku"
        db.get(Account, world.account_id).item_match_field = "sku"
    connected(world)
    widget = world.company.add_item("Blue widget", sku="BW-1", income_account="Sales")
    world.later(minutes=5)  # past the schedule: the next run pulls what changed
    world.run()
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-b", {"sku": "bw-1", "name": "Blue widget (BlueTrace)"})
        catalog.upsert_item(db, world.account_id, "i-n", {"sku": "GR-7", "name": "Green widget", "kind": "service"})
        catalog.create_item_in_quickbooks(db, world.account_id, "i-n")
    world.run()
    assert item(world, "i-b").qb_list_id == widget["Id"]
    created = [r for r in world.company.table("Item").rows if r.get("Sku") == "GR-7"]
    assert [r["Name"] for r in created] == ["Green widget"]
    assert (item(world, "i-n").qb_list_id, item(world, "i-n").matched_by) == (created[0]["Id"], MatchedBy.CREATED.value)


def test_a_customer_billed_in_another_currency_is_refused_before_anything_is_sent(world):
    world.company.settings.multicurrency = True
    connected(world, invoice_creation=True)
    world.company.add_customer("Euro Traders", email="ap@euro.test", currency="EUR")
    world.later(minutes=5)
    world.run()
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-e", {"name": "Euro", "billing_email": "ap@euro.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    send_order(world, "o-e", "SO-2001", "c-e", "i-1")
    world.run()
    refused = order_status(world, "o-e")
    assert refused.status == InvoiceStatus.FAILED.value and "EUR" in refused.error
    assert "by hand" in refused.action
    assert world.intuit.invoices(REALM) == []


def test_outside_the_us_invoices_are_refused_naming_the_missing_tax_code_setting(world):
    world.company.settings.country = "GB"
    with_orders(world)
    world.run()
    refused = order_status(world, "o-1")
    assert refused.status == InvoiceStatus.BLOCKED.value and "no tax code is chosen" in refused.error
    assert "General tab \u2192 Tax code" in refused.action
    assert world.intuit.invoices(REALM) == []


def test_a_long_order_number_keeps_its_last_21_characters_as_the_docnumber(world):
    connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    send_order(world, "o-long", "SO2026A000000000123456", "c-1", "i-1")  # 22 characters
    world.run()
    assert [i["DocNumber"] for i in world.intuit.invoices(REALM)] == ["O2026A000000000123456"]
    done = order_status(world, "o-long")
    assert (done.status, done.ref_number) == (InvoiceStatus.CREATED.value, "O2026A000000000123456")


def test_a_company_whose_items_carry_no_sku_gets_a_hint_to_turn_skus_on(world):
    with world.store.begin() as db:
        db.get(Account, world.account_id).item_match_field = "sku"
    ids = connected(world)  # QuickBooks items named W-1..W-5, none with a Sku
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-1", "name": "Widget one"})
        assert "turn on SKUs" in account_status(db, world.account_id)["warning"]
    world.company.update("Item", ids["W-1"], Sku="W-1")
    world.later(minutes=5)
    world.run()
    with world.store.begin() as db:
        assert account_status(db, world.account_id)["warning"] is None
    assert item(world, "i-1").qb_list_id == ids["W-1"]


def test_create_in_quickbooks_makes_an_inventory_item_with_its_asset_account(world):
    asset = world.add_account("Inventory Asset", "Other Current Asset")  # QBO's spelling of the type
    connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-v", {"sku": "INV-1", "name": "Stocked", "kind": "inventory",
                                                          "sales_price": "12.50"})
        catalog.create_item_in_quickbooks(db, world.account_id, "i-v")
    world.run()
    created = [r for r in world.company.table("Item").rows if r["Name"] == "INV-1"]
    assert [(r["Type"], r["AssetAccountRef"]["value"], r["TrackQtyOnHand"]) for r in created] == [
        ("Inventory", asset, True)]
    assert item(world, "i-v").matched_by == MatchedBy.CREATED.value


def test_when_quickbooks_numbers_invoices_its_number_is_kept_and_a_lost_answer_is_adopted_by_marker(world):
    world.company.settings.custom_transaction_numbers = False  # QuickBooks ignores the DocNumber we send
    with_orders(world)
    world.intuit.inject("lose_answer", times=1, on="write", realm=REALM)
    world.intuit.inject("forget_request_ids", rate=1.0, on="write", realm=REALM)
    world.run()
    numbers = sorted(invoice["DocNumber"] for invoice in world.intuit.invoices(REALM))
    assert numbers == ["1001", "1002", "1003"]
    assert sorted(order_status(world, order_id).ref_number for order_id in ORDERS) == numbers
    with world.store.begin() as db:
        sent = [entry.body.split("\n", 1)[0] for entry in db.scalars(select(ExchangeLogEntry).where(
            ExchangeLogEntry.account_id == world.account_id, ExchangeLogEntry.operation == "QBO POST invoice"))]
    assert sent and all('"CustomerRef"' in body and '"DocNumber"' not in body for body in sent)
    # The look-up after the lost answer asks by creation time: no number of ours exists to ask for.
    assert invoice_queries(world) and not any("DocNumber" in query for query in invoice_queries(world))


def test_the_quickbooks_numbering_setting_asks_quickbooks_for_its_next_number_and_never_queries_ours(world):
    # "Custom transaction numbers" on: without AutoDocNumber QuickBooks would leave the invoice unnumbered.
    assert world.company.settings.custom_transaction_numbers
    with world.store.begin() as db:
        account_settings.update_settings(db, world.account_id, {"invoice_numbering": "quickbooks"})
    with_orders(world)
    world.intuit.inject("lose_answer", times=1, on="write", realm=REALM)
    world.intuit.inject("forget_request_ids", rate=1.0, on="write", realm=REALM)
    world.run()
    numbers = sorted(invoice["DocNumber"] for invoice in world.intuit.invoices(REALM))
    assert numbers == ["1001", "1002", "1003"]
    assert sorted(order_status(world, order_id).ref_number for order_id in ORDERS) == numbers
    assert sorted(result.get("adopted", False) for result in invoice_results(world)) == [False, False, True]
    with world.store.begin() as db:
        sent = [entry.body.split("\n", 1)[0] for entry in db.scalars(select(ExchangeLogEntry).where(
            ExchangeLogEntry.account_id == world.account_id, ExchangeLogEntry.operation == "QBO POST invoice"))]
    assert sent and all('"AutoDocNumber":true' in body and '"DocNumber"' not in body for body in sent)
    assert invoice_queries(world) and not any("DocNumber" in query for query in invoice_queries(world))


def invoice_queries(world: OnlineWorld) -> list[str]:
    """The invoice queries the bridge sent QuickBooks, as QuickBooks read them."""
    paths = [unquote_plus(r.path) for r in world.intuit.requests(REALM) if "query" in r.path]
    return [path for path in paths if "FROM Invoice" in path]


def test_a_customer_named_like_a_vendor_is_a_duplicate_name_to_rename(world):
    connected(world)
    world.company.add_vendor("Pier Tools")  # DisplayName is unique across customers, vendors and employees
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-p", {"name": "Pier Tools", "billing_email": "ap@pier.test"})
        catalog.create_customer_in_quickbooks(db, world.account_id, "c-p")
    world.run()
    refused = customer(world, "c-p")
    assert refused.issue == IssueType.DUPLICATE_NAME.value and refused.qb_list_id is None
    assert "Pier Tools" not in world.customer_names()


def test_an_item_made_inactive_in_quickbooks_blocks_the_invoice_with_its_action(world):
    ids = connected(world, invoice_creation=True)
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    world.company.update("Item", ids["W-4"], Active=False)  # made inactive in QuickBooks, not yet pulled
    send_order(world, "o-r", "SO-3001", "c-1", "i-1")
    world.run()
    blocked = order_status(world, "o-r")
    assert blocked.status == InvoiceStatus.BLOCKED.value and "active" in blocked.action
    assert world.intuit.invoices(REALM) == []


def test_an_invoice_dated_in_a_closed_period_fails_with_the_closing_date_to_change(world):
    with_orders(world)
    world.company.settings.closed_through = dt.date(2026, 12, 31)
    world.run()
    closed = order_status(world, "o-1")
    assert closed.status == InvoiceStatus.FAILED.value and "closing date" in closed.action
    assert world.intuit.invoices(REALM) == []


def deletions_pulls(world: OnlineWorld) -> list[tuple[str, str]]:
    with world.store.begin() as db:
        return [(op.kind, op.state) for op in db.scalars(select(OutboxOperation).where(
            OutboxOperation.account_id == world.account_id, OutboxOperation.kind.like("sync_%_deletions")))]


def test_an_item_merged_in_quickbooks_is_rematched_to_the_survivor_carrying_its_sku(world):
    with world.store.begin() as db:
        db.get(Account, world.account_id).item_match_field = "sku"
    connected(world)
    survivor = world.company.add_item("Blue widget", sku="BW-1", income_account="Sales")
    merged = world.company.add_item("Blue widget (old)", sku="BW-1", income_account="Sales")
    world.later(minutes=5)
    world.run()
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-b", {"sku": "BW-1", "name": "Blue widget"})
    assert item(world, "i-b").issue == IssueType.DUPLICATE_MATCH.value
    with world.store.begin() as db:
        catalog.match_item(db, world.account_id, "i-b", merged["Id"])
    world.company.merge("Item", merged["Id"], survivor["Id"])
    world.later(minutes=5)
    world.run()
    rematched = item(world, "i-b")
    assert (rematched.qb_list_id, rematched.matched_by, rematched.issue) == (survivor["Id"], MatchedBy.AUTO.value, None)


def test_a_deletion_is_heard_when_the_lists_last_changed_longer_ago_than_cdc_answers(world):
    ids = connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-5", {"sku": "W-5", "name": "Widget five"})
    world.later(days=40)  # the lists' high-water mark is now older than CDC's 30 days
    world.run()
    world.company.delete("Item", ids["W-5"])
    world.later(minutes=5)
    world.run()
    gone = item(world, "i-5")
    assert (gone.qb_list_id, gone.issue) == (None, IssueType.NOT_FOUND.value)
    pulls = deletions_pulls(world)
    assert pulls and {state for _kind, state in pulls} == {OperationState.DONE.value}


def test_a_deletion_cut_off_a_full_cdc_answer_is_found_by_asking_for_the_ids_we_hold(world):
    ids = connected(world)
    with world.store.begin() as db:
        catalog.upsert_item(db, world.account_id, "i-5", {"sku": "W-5", "name": "Widget five"})
    for number in range(1000):  # a bulk import: CDC's answer is full before it reaches the deletion
        world.company.add_item(f"Bulk {number}", income_account="Sales")
    world.company.delete("Item", ids["W-5"])
    world.later(minutes=5)
    world.run()
    gone = item(world, "i-5")
    assert (gone.qb_list_id, gone.issue) == (None, IssueType.NOT_FOUND.value)


def test_the_invoice_state_pull_pages_past_a_thousand_invoices_updated_by_hand(world):
    connected(world, invoice_creation=True)
    customer_ref = world.company.ref("Customer", world.company.table("Customer").rows[0])
    for number in range(1000):  # invoices a bookkeeper typed: they sort before ours (lower Ids)
        world.company.store_invoice({"CustomerRef": customer_ref, "TxnDate": "2026-11-30", "Line": [],
                                     "TotalAmt": Decimal("1.00"), "Balance": Decimal("1.00"),
                                     "DocNumber": f"H-{number}", "CurrencyRef": world.company.currency_ref()})
    with world.store.begin() as db:
        catalog.upsert_customer(db, world.account_id, "c-1", {"name": "Lake", "billing_email": "billing@lake.test"})
        catalog.upsert_item(db, world.account_id, "i-1", {"sku": "W-4", "name": "Widget four"})
    send_order(world, "o-1", "SO-1001", "c-1", "i-1")
    world.run()
    [ours] = [i for i in world.intuit.invoices(REALM) if i.get("DocNumber") == "SO-1001"]
    assert int(ours["Id"]) > 1000
    world.later(minutes=1)
    world.company.receive_payment(ours["Id"], "19.98")
    world.later(minutes=5)
    world.run()
    assert order_status(world, "o-1").paid == "fully"
    with world.store.begin() as db:
        pulls = [op.result for op in db.scalars(select(OutboxOperation).where(
            OutboxOperation.account_id == world.account_id, OutboxOperation.kind == "sync_invoice_changes",
            OutboxOperation.state == OperationState.DONE.value))]
    assert max(result["invoices"] for result in pulls) > 1000  # QuickBooks answers 1000 a page: a second was read
