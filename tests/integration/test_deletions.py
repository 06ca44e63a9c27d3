"""Records deleted or merged in QuickBooks Desktop: the simulator's Web Connector and strict fake
QuickBooks (ListDeletedQuery / TxnDeletedQuery) against our endpoint over HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from qbwc_bridge import outbox

from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.domain import IssueType
from qbwc_bridge.services import catalog, invoices
from qbwc_bridge.simulator import RequestProcessor, WebConnector, company_from_description
from qbwc_bridge.operations import Deletable, DeletionsPull, ListName, OperationKind
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, OutboxOperation, QbCustomer, QbItem, SyncCursor
from qbwc_bridge.sync import resolutions
from qbwc_bridge.sync.incremental import queue_pull
from qbwc_bridge.sync.facts import ITEMS

DESCRIPTION = {
    "items": [
        {"kind": "inventory", "name": "Bolt kit", "manufacturer_part_number": "BK-9", "price": "3.00",
         "income_account": "Sales", "cogs_account": "Cost of Goods Sold", "asset_account": "Inventory Asset",
         "quantity_on_hand": "5"},
        {"kind": "inventory", "name": "Bolt kit (old)", "manufacturer_part_number": "BK-9", "price": "3.00",
         "income_account": "Sales", "cogs_account": "Cost of Goods Sold", "asset_account": "Inventory Asset",
         "quantity_on_hand": "0"},
        {"kind": "non_inventory", "name": "Widget", "manufacturer_part_number": "WID-1", "price": "9.50",
         "account": "Sales"},
    ],
    "customers": [
        {"name": "Acme Corp", "email": "ap@acme.test", "terms": "Net 30"},
        {"name": "Harbor Supply Co", "email": "hello@harbor.test"},
    ],
}


def fake_company():
    """Records made over past weeks; the test's own edits (deletions, merges) happen now."""
    moments = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30) + dt.timedelta(hours=n) for n in range(10**6))
    company = company_from_description(DESCRIPTION, clock=lambda: next(moments))
    company.clock = None
    return company


def connect(shared_dir, settings, store, server, tenant, tmp_path, company) -> WebConnector:
    port = server.url.rsplit(":", 1)[1]
    qwc = tmp_path / "acme.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), tenant.account.account_id))
    web_connector = WebConnector(RequestProcessor(company, schema_dir(shared_dir)), password=tenant.password,
                                 noop_pause=0)
    assert web_connector.add_application(str(qwc)).ok
    return web_connector


def seed(store, account_id):
    with store.begin() as db:
        db.get(Account, account_id).item_match_field = "manufacturer_part_number"
        for item_id, sku in [("i-bolt", "BK-9"), ("i-wid", "WID-1")]:
            catalog.upsert_item(db, account_id, item_id, {"sku": sku, "name": item_id, "kind": "inventory"})
        for customer_id, email in [("c-acme", "ap@acme.test"), ("c-harbor", "hello@harbor.test")]:
            catalog.upsert_customer(db, account_id, customer_id, {"name": customer_id, "billing_email": email})


def age_last_pulls(store, account_id):
    """As if the last pull were a scheduled run ago, so the next session pulls what changed."""
    with store.begin() as db:
        db.execute(update(SyncCursor).where(SyncCursor.account_id == account_id)
                   .values(updated_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=10)))


def requests(session) -> list[str]:
    return [name for exchange in session.exchanges for name in re.findall(r"<(\w+Rq)\b", exchange.request)
            if name != "QBXMLMsgsRq"]


def match(db, model, account_id, record_id):
    row = db.get(model, (account_id, record_id))
    return row.qb_list_id, row.matched_by, row.issue


def started(shared_dir, settings, store, server, tenant, tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed(store, account_id)
    web_connector = connect(shared_dir, settings, store, server, tenant, tmp_path, company)
    assert web_connector.run_session().ok  # the initial sync, then matching
    return company, account_id, web_connector


def test_an_item_merged_in_quickbooks_is_rematched_to_the_survivor(shared_dir, settings, store, server, tenant,
                                                                    tmp_path):
    company, account_id, web_connector = started(shared_dir, settings, store, server, tenant, tmp_path)
    old, survivor = company.item_named("Bolt kit (old)").stamp.id, company.item_named("Bolt kit").stamp.id
    with store.begin() as db:
        assert match(db, BtItem, account_id, "i-bolt")[2] == IssueType.DUPLICATE_MATCH.value  # two carry BK-9
        resolutions.match_manually(db, db.get(Account, account_id), ITEMS, "i-bolt", old)  # a person picks one
        assert match(db, BtItem, account_id, "i-bolt") == (old, "manual", None)

    company.merge(old, survivor)  # the bookkeeper merges the duplicate away in QuickBooks
    age_last_pulls(store, account_id)
    session = web_connector.run_session()
    assert session.ok, session.to_text()
    assert {"ListDeletedQueryRq", "TxnDeletedQueryRq"} <= set(requests(session))
    with store.begin() as db:
        assert db.get(QbItem, (account_id, old)) is None  # out of the mirror: nothing can match it any more
        assert match(db, BtItem, account_id, "i-bolt") == (survivor, "auto", None)
        assert match(db, BtItem, account_id, "i-wid")[:2] == (company.item_named("Widget").stamp.id, "auto")


def test_a_customer_deleted_in_quickbooks_leaves_its_record_not_found(shared_dir, settings, store, server, tenant,
                                                                      tmp_path):
    company, account_id, web_connector = started(shared_dir, settings, store, server, tenant, tmp_path)
    harbor = company.customer_named("Harbor Supply Co").stamp.id
    with store.begin() as db:
        assert match(db, BtCustomer, account_id, "c-harbor") == (harbor, "auto", None)
        db.get(Account, account_id).customers_sync = True  # not-found customers are created by themselves...

    company.delete_list_record(harbor)
    age_last_pulls(store, account_id)
    session = web_connector.run_session()
    assert session.ok, session.to_text()
    assert "CustomerAddRq" not in requests(session)  # ...but not one a bookkeeper has just deleted
    with store.begin() as db:
        assert db.get(QbCustomer, (account_id, harbor)) is None
        row = db.get(BtCustomer, (account_id, "c-harbor"))
        assert (row.qb_list_id, row.issue, row.pending) == (None, IssueType.NOT_FOUND.value, None)
        assert "hello@harbor.test" in row.issue_detail["message"] and "Create in QuickBooks" in row.issue_detail["action"]
        assert "\u201cHarbor Supply Co\u201d, which was deleted or merged away" in row.issue_detail["message"]
        assert match(db, BtCustomer, account_id, "c-acme")[:2] == (company.customer_named("Acme Corp").stamp.id, "auto")
    assert "Harbor Supply Co" not in {c.name for c in company.customers}

    age_last_pulls(store, account_id)  # the overlap brings the same deletion again: nothing changes
    again = web_connector.run_session()
    assert again.ok and "CustomerAddRq" not in requests(again)
    with store.begin() as db:
        assert match(db, BtCustomer, account_id, "c-harbor")[2] == IssueType.NOT_FOUND.value
        assert db.get(BtCustomer, (account_id, "c-harbor")).issue_detail["gone"]["list_id"] == harbor


def test_our_invoice_deleted_in_quickbooks_is_shown_deleted_and_not_created_again(shared_dir, settings, store, server,
                                                                                  tenant, tmp_path):
    company, account_id, web_connector = started(shared_dir, settings, store, server, tenant, tmp_path)
    with store.begin() as db:
        db.get(Account, account_id).invoice_creation = True
        invoices.record_packed_order(db, account_id, "o1", {
            "order_number": "SO-1", "customer_id": "c-acme", "packed_at": "2024-03-01T10:15:00-05:00",
            "lines": [{"item_id": "i-wid", "quantity": "2", "unit_price": "9.50"}]})
    assert web_connector.run_session().ok
    with store.begin() as db:
        created = invoices.get_invoice(db, account_id, "o1")
    assert created["status"] == "created", created
    first = created["quickbooks"]["txn_id"]

    company.delete_invoice(first)  # someone deletes it in QuickBooks
    age_last_pulls(store, account_id)
    session = web_connector.run_session()
    assert "TxnDeletedQueryRq" in requests(session)
    with store.begin() as db:
        view = invoices.get_invoice(db, account_id, "o1")
    assert view["status"] == "deleted"
    assert view["quickbooks"]["txn_id"] == first  # which invoice it was
    assert "deleted in QuickBooks" in view["error"] and "Create it again" in view["action"]

    age_last_pulls(store, account_id)
    again = web_connector.run_session()  # never re-created by itself, however often the bridge looks
    assert "InvoiceAddRq" not in requests(again) and company.invoices == {}
    with store.begin() as db:
        assert invoices.get_invoice(db, account_id, "o1")["status"] == "deleted"
        invoices.retry_invoice(db, account_id, "o1")  # a person's choice: create it again
    assert "InvoiceAddRq" in requests(web_connector.run_session())
    with store.begin() as db:
        recreated = invoices.get_invoice(db, account_id, "o1")
    assert recreated["status"] == "created" and recreated["quickbooks"]["txn_id"] not in (None, first)
    assert list(company.invoices) == [recreated["quickbooks"]["txn_id"]]

    age_last_pulls(store, account_id)  # the overlap reports the old deletion again: it is not the new invoice
    assert "TxnDeletedQueryRq" in requests(web_connector.run_session())
    with store.begin() as db:
        latest = invoices.get_invoice(db, account_id, "o1")
    assert (latest["status"], latest["quickbooks"]) == ("created", recreated["quickbooks"])


def test_a_failed_deletions_pull_hands_its_start_to_the_next_one(shared_dir, settings, store, server, tenant, tmp_path):
    _company, account_id, web_connector = started(shared_dir, settings, store, server, tenant, tmp_path)
    long_ago = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert queue_pull(db, account, ListName.CUSTOMERS, dt.datetime.now(dt.timezone.utc))
        [failed] = deletions_pulls(db, account_id, OperationKind.SYNC_INVOICE_DELETIONS)
        failed.payload = DeletionsPull(Deletable.INVOICES, long_ago).to_payload()
        outbox.fail(failed, "3250", "QuickBooks would not say what was deleted")
    assert web_connector.run_session().ok  # the customers' pull moves the mark on; the failed one stays failed
    age_last_pulls(store, account_id)
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert queue_pull(db, account, ListName.CUSTOMERS, dt.datetime.now(dt.timezone.utc))
        invoices_pull, customers_pull = (deletions_pulls(db, account_id, kind)[-1] for kind in (
            OperationKind.SYNC_INVOICE_DELETIONS, OperationKind.SYNC_CUSTOMER_DELETIONS))
        assert DeletionsPull.from_payload(invoices_pull.payload).since == long_ago
        assert DeletionsPull.from_payload(customers_pull.payload).since > long_ago  # it did not fail: the pull's


def deletions_pulls(db, account_id, kind):
    return list(db.scalars(select(OutboxOperation).where(OutboxOperation.account_id == account_id,
                                                         OutboxOperation.kind == kind.value)
                           .order_by(OutboxOperation.id)))
