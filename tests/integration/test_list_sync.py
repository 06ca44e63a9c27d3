"""Initial and incremental list sync, matching and its resolutions: the simulator's Web Connector
and strict fake QuickBooks against our endpoint over HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from qbwc_bridge.backends.desktop import list_sync
from qbwc_bridge.backends.desktop.qwc import render_qwc
from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.domain import IssueType
from qbwc_bridge.errors import NeedsPerson
from qbwc_bridge.services import catalog, settings as settings_service
from qbwc_bridge.simulator import Faults, RequestProcessor, WebConnector, company_from_description
from qbwc_bridge.store.models import (Account, BtCustomer, BtItem, OutboxOperation, QbCustomer, QbItem, SyncCursor,
                                      WebConnectorSession)
from qbwc_bridge.sync import creation, records, resolutions
from qbwc_bridge.sync.facts import CUSTOMERS, ITEMS
from qbwc_bridge.sync.progress import connection_progress

PAGE = 25
FILLER_ITEMS, FILLER_CUSTOMERS = 70, 40  # with the named records below: 4 item pages, 2 customer pages


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    """Pages of 25 records, so a company of a hundred needs the iterators a 100k one does."""
    monkeypatch.setattr(list_sync, "PAGE_SIZE", PAGE)


DESCRIPTION = {
    "items": [
        {"kind": "non_inventory", "name": "WID-1", "description": "Blue widget", "price": "9.50", "account": "Sales"},
        {"kind": "service", "name": "INSTALL", "price": "75.00", "account": "Services"},
        {"kind": "inventory", "name": "Bolt kit", "manufacturer_part_number": "BK-9", "price": "3.00",
         "income_account": "Sales", "cogs_account": "Cost of Goods Sold", "asset_account": "Inventory Asset",
         "quantity_on_hand": "5"},
        {"kind": "non_inventory", "name": "OLD-7", "account": "Sales", "active": False},
        {"kind": "other_charge", "name": "Freight", "price": "12.00", "account": "Sales"},
        *({"kind": "service", "name": f"Filler {n:03d}", "account": "Services"} for n in range(FILLER_ITEMS)),
    ],
    "customers": [
        {"name": "Acme Corp", "email": "ap@acme.test; Boss@Acme.test"},
        {"name": "Acme Corp Job", "parent": "Acme Corp", "email": "ap@acme.test"},
        {"name": "Shared One", "email": "orders@shared.test"},
        {"name": "Shared Two", "email": "orders@shared.test"},
        {"name": "Gone Ltd", "email": "gone@gone.test", "active": False},
        *({"name": f"Filler customer {n:03d}", "email": f"c{n}@filler.test"} for n in range(FILLER_CUSTOMERS)),
    ],
    "vendors": [{"name": "Harbor Supply"}],
}


def fake_company():
    """A company whose records were edited an hour apart over past weeks; a test's edits happen now."""
    moments = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30) + dt.timedelta(hours=n) for n in range(10**6))
    company = company_from_description(DESCRIPTION, clock=lambda: next(moments))
    company.clock = None
    return company


def connector(shared_dir, settings, store, server, tenant, tmp_path, company, faults=None, **options):
    port = server.url.rsplit(":", 1)[1]
    qwc = tmp_path / "acme.qwc"
    with store.begin() as db:
        qwc.write_text(render_qwc(db, settings.replace(public_url=f"http://localhost:{port}"), tenant.account.account_id))
    web_connector = WebConnector(RequestProcessor(company, schema_dir(shared_dir)), password=tenant.password,
                                 noop_pause=0, faults=faults, **options)
    added = web_connector.add_application(str(qwc))
    assert added.ok, added
    return web_connector


def requests(transcript) -> list[str]:
    """Each request of the session with its iterator attribute: 'ItemQueryRq:Start'."""
    found = []
    for exchange in transcript.exchanges:
        for name, attributes in re.findall(r"<(\w+Rq)\b([^>]*)>", exchange.request):
            if name == "QBXMLMsgsRq":
                continue
            iterator = re.search(r'iterator="(\w+)"', attributes)
            found.append(f"{name}:{iterator.group(1)}" if iterator else name)
    return found


def seed_bluetrace(store, account_id):
    with store.begin() as db:
        for item_id, sku, name in [("i-wid", "wid-1", "Blue widget"), ("i-new", "NEW-1", "New gadget"),
                                   ("i-nosku", None, "Mystery"), ("i-old", "OLD-7", "Old thing")]:
            catalog.upsert_item(db, account_id, item_id, {"sku": sku, "name": name, "kind": "non_inventory",
                                                          "sales_price": "4.25"})
        for customer_id, email, name in [("c-acme", " AP@acme.test ", "Acme"), ("c-boss", "boss@acme.test", "Acme boss"),
                                         ("c-s1", "orders@shared.test", "Shared One"),
                                         ("c-s2", "orders@shared.test", "Shared Two"),
                                         ("c-new", "hello@harbor.test", "Harbor Supply"),
                                         ("c-none", None, "No email")]:
            catalog.upsert_customer(db, account_id, customer_id, {"name": name, "billing_email": email})


def state(db, model, account_id, record_id):
    row = db.get(model, (account_id, record_id))
    return row.qb_list_id, row.matched_by, row.issue, row.pending


def forget_dead_session(store, account_id):
    """As if the busy window had passed since the Web Connector died (no sleeping in tests)."""
    with store.begin() as db:
        db.execute(update(WebConnectorSession).where(WebConnectorSession.account_id == account_id)
                   .values(last_seen_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)))


def past_inflight_timeout(store, account_id):
    """As if the in-flight timeout had passed: a dead session's set can no longer be applied."""
    with store.begin() as db:
        db.execute(update(OutboxOperation).where(OutboxOperation.account_id == account_id,
                                                 OutboxOperation.not_before.is_not(None))
                   .values(not_before=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))


def age_last_pulls(store, account_id, minutes=10):
    """As if the last pull were a scheduled run ago, so the next session pulls what changed."""
    with store.begin() as db:
        db.execute(update(SyncCursor).where(SyncCursor.account_id == account_id)
                   .values(updated_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=minutes)))


def test_initial_sync_pulls_four_lists_with_iterators_then_connects(shared_dir, settings, store, server, tenant, tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company, max_calls_per_session=8)

    first = web_connector.run_session()  # stops after a few calls: "Connecting", part way
    assert "abandoned" in first.outcome
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert account.status == "connecting"
        progress = connection_progress(db, account)
        assert progress["phase"] == "items" and 0 < progress["percent"] < 100
        assert progress["counts"]["terms"] == len(company.terms)
        assert db.get(BtItem, (account_id, "i-new")).issue is None  # nothing is judged before the list is in
    forget_dead_session(store, account_id)
    web_connector.max_calls_per_session = 500
    second = web_connector.run_session()
    assert second.ok, second.to_text()
    assert second.progress == sorted(second.progress) and second.progress[-1] == 100
    sent = requests(first) + requests(second)
    assert sent.count("TermsQueryRq") == sent.count("AccountQueryRq") == 1
    assert "ItemQueryRq:Continue" in sent and "CustomerQueryRq:Continue" in sent
    with store.begin() as db:
        account = db.get(Account, account_id)
        assert account.status == "connected", account.status_message
        progress = connection_progress(db, account)
        counts = company.counts()
        assert progress == {"phase": "done", "percent": 100, "counts": {
            "terms": counts["terms"], "accounts": counts["accounts"], "qb_items": counts["items"],
            "qb_customers": counts["customers"]}}
        assert db.get(QbItem, (account_id, company.item_named("OLD-7").stamp.id)).is_active is False
        assert db.get(QbItem, (account_id, company.item_named("Bolt kit").stamp.id)).item_type == "Inventory"
        job = company.customer_named("Acme Corp:Acme Corp Job")
        assert db.get(QbCustomer, (account_id, job.stamp.id)).parent_list_id == company.customer_named("Acme Corp").stamp.id
        # every issue type the sync can find, and the matches
        acme = company.customer_named("Acme Corp").stamp.id
        assert state(db, BtItem, account_id, "i-wid") == (company.item_named("WID-1").stamp.id, "auto", None, None)
        assert state(db, BtItem, account_id, "i-new")[2] == IssueType.NOT_FOUND.value
        assert state(db, BtItem, account_id, "i-nosku")[2] == IssueType.MISSING_SKU.value
        old = db.get(BtItem, (account_id, "i-old"))
        assert old.issue == IssueType.NOT_FOUND.value and old.issue_detail["inactive"][0]["name"] == "OLD-7"
        assert state(db, BtCustomer, account_id, "c-acme") == (acme, "auto", None, None)  # the job does not count
        assert state(db, BtCustomer, account_id, "c-boss") == (acme, "auto", None, None)  # second address, same customer
        shared = db.get(BtCustomer, (account_id, "c-s1"))
        assert shared.issue == IssueType.DUPLICATE_MATCH.value and len(shared.issue_detail["candidates"]) == 2
        assert shared.issue_detail["shared_with"] == ["c-s2"]
        assert state(db, BtCustomer, account_id, "c-none")[2] == IssueType.MISSING_EMAIL.value
        new = db.get(BtCustomer, (account_id, "c-new"))
        assert new.issue == IssueType.NOT_FOUND.value
    assert web_connector.run_session().round_trips == 0  # nothing due: "none"


def test_a_session_killed_mid_items_resumes_without_pulling_finished_lists_again(
        shared_dir, settings, store, server, tenant, tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    # QuickBooks applies the 3rd message set, then the Web Connector dies before answering.
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company,
                              faults=Faults.parse("lose_response=@3"))
    first = web_connector.run_session()
    assert "response lost" in first.outcome
    assert requests(first)[:4] == ["TermsQueryRq", "AccountQueryRq", "ItemQueryRq:Start", "CustomerQueryRq:Start"]
    with store.begin() as db:
        done = {c.list_name for c in db.scalars(select(SyncCursor).where(SyncCursor.account_id == account_id))
                if c.initial_done}
        assert done == {"terms", "accounts", "customers"}
    forget_dead_session(store, account_id)  # the dead session stops counting as alive
    second = web_connector.run_session()
    assert second.ok, second.to_text()
    sent = requests(second)
    assert sent[0] == "ItemQueryRq:Start"  # the iterator died with the session: the items list starts again
    assert {name.split(":")[0] for name in sent} == {"ItemQueryRq"}  # nothing finished is pulled again
    with store.begin() as db:
        assert db.get(Account, account_id).status == "connected"
        assert db.query(QbItem).filter_by(account_id=account_id).count() == len(company.items)
        assert db.get(SyncCursor, (account_id, "items")).records_seen == len(company.items)


def test_an_edit_in_quickbooks_between_sessions_is_pulled_and_rematched(shared_dir, settings, store, server, tenant,
                                                                        tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company)
    assert web_connector.run_session().ok
    with store.begin() as db:
        untouched = db.get(BtItem, (account_id, "i-nosku")).updated_at
    # A bookkeeper works in QuickBooks: renames an item to the missing SKU, adds an address, retires a customer.
    company.rename(company.item_named("Freight").stamp.id, "new-1")
    company.set_email(company.customer_named("Filler customer 003").stamp.id, "c3@filler.test, hello@harbor.test")
    company.deactivate(company.item_named("WID-1").stamp.id)
    age_last_pulls(store, account_id)
    session = web_connector.run_session()
    assert session.ok, session.to_text()
    # Beside each pull, what QuickBooks deleted since the same moment (customers' pull: our invoices too, and
    # how our invoices stand).
    assert sorted(requests(session)) == ["CustomerQueryRq:Start", "InvoiceQueryRq", "ItemQueryRq:Start",
                                         "ListDeletedQueryRq", "ListDeletedQueryRq", "TxnDeletedQueryRq"]
    pulls = [e for e in session.exchanges if 'iterator="Start"' in e.request]
    assert pulls and all("<FromModifiedDate>" in e.request and "<ActiveStatus>All</ActiveStatus>" in e.request
                         for e in pulls)
    assert all("<FromDeletedDate>" in e.request for e in session.exchanges if "DeletedQueryRq" in e.request)
    with store.begin() as db:
        freight = company.item_named("new-1").stamp.id
        assert state(db, BtItem, account_id, "i-new") == (freight, "auto", None, None)
        wid = db.get(BtItem, (account_id, "i-wid"))
        assert (wid.qb_list_id, wid.issue) == (None, IssueType.NOT_FOUND.value)  # its item is inactive now
        assert wid.issue_detail["inactive"][0]["name"] == "WID-1"
        harbor = company.customer_named("Filler customer 003").stamp.id
        assert state(db, BtCustomer, account_id, "c-new") == (harbor, "auto", None, None)
        assert db.get(BtItem, (account_id, "i-nosku")).updated_at == untouched  # re-matched only what changed
    age_last_pulls(store, account_id)
    again = web_connector.run_session()  # the overlap window brings the same records: skipped by EditSequence
    with store.begin() as db:
        assert db.get(BtItem, (account_id, "i-new")).qb_list_id == freight


def connect_with_accounts(shared_dir, settings, store, server, tenant, tmp_path, company, **changes):
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company)
    assert web_connector.run_session().ok
    with store.begin() as db:
        settings_service.update_settings(db, account_id, {"ar_account": "Sales", "ap_account": "Purchases", **changes})
    return web_connector


def test_create_in_quickbooks_adds_an_item_with_the_general_tabs_accounts(shared_dir, settings, store, server, tenant,
                                                                          tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company)
    assert web_connector.run_session().ok
    with store.begin() as db, pytest.raises(NeedsPerson, match="AR"):
        creation.request_create(db, db.get(Account, account_id), ITEMS, "i-new")  # the General tab is not set yet
    with store.begin() as db:
        settings_service.update_settings(db, account_id, {"ar_account": "Sales", "ap_account": "Purchases"})
        creation.request_create(db, db.get(Account, account_id), ITEMS, "i-new")
        assert db.get(BtItem, (account_id, "i-new")).pending == "creating"
    session = web_connector.run_session()
    assert "ItemNonInventoryAddRq" in requests(session)
    item = company.item_named("NEW-1")
    assert item is not None and item.description == "New gadget"  # the SKU is the name, the name describes it
    assert company.accounts[item.income_account_id].name == "Sales"
    assert company.accounts[item.expense_account_id].name == "Purchases"
    assert item.price == Decimal("4.25")
    with store.begin() as db:
        assert state(db, BtItem, account_id, "i-new") == (item.stamp.id, "created", None, None)


def test_a_colliding_name_becomes_duplicate_name_and_the_rename_creates_it(shared_dir, settings, store, server, tenant,
                                                                           tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    web_connector = connect_with_accounts(shared_dir, settings, store, server, tenant, tmp_path, company)
    with store.begin() as db:
        creation.request_create(db, db.get(Account, account_id), CUSTOMERS, "c-new")  # "Harbor Supply" is a vendor
    web_connector.run_session()
    with store.begin() as db:
        row = db.get(BtCustomer, (account_id, "c-new"))
        assert (row.issue, row.pending) == (IssueType.DUPLICATE_NAME.value, None)
        assert row.issue_detail["attempted_name"] == "Harbor Supply"
        assert row.issue_detail["actions"][0]["action"] == "rename"
        assert "vendors" in row.issue_detail["message"]
        records.rematch(db, db.get(Account, account_id), CUSTOMERS)
        assert db.get(BtCustomer, (account_id, "c-new")).issue == IssueType.DUPLICATE_NAME.value  # it sticks
        creation.request_create(db, db.get(Account, account_id), CUSTOMERS, "c-new", name="Harbor Supply (customer)")
    web_connector.run_session()
    created = company.customer_named("Harbor Supply (customer)")
    assert created is not None and created.email == "hello@harbor.test"
    with store.begin() as db:
        assert state(db, BtCustomer, account_id, "c-new") == (created.stamp.id, "created", None, None)


def test_picking_a_pair_clears_the_duplicate_match_and_unmatch_holds(shared_dir, settings, store, server, tenant,
                                                                     tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    assert connector(shared_dir, settings, store, server, tenant, tmp_path, company).run_session().ok
    one, two = company.customer_named("Shared One").stamp.id, company.customer_named("Shared Two").stamp.id
    with store.begin() as db:
        account = db.get(Account, account_id)
        resolutions.match_manually(db, account, CUSTOMERS, "c-s1", one)
        assert state(db, BtCustomer, account_id, "c-s1") == (one, "manual", None, None)
        assert state(db, BtCustomer, account_id, "c-s2") == (two, "auto", None, None)  # what is left is unambiguous
    with store.begin() as db:
        resolutions.unmatch(db, db.get(Account, account_id), CUSTOMERS, "c-s2")
        row = db.get(BtCustomer, (account_id, "c-s2"))
        assert (row.qb_list_id, row.issue) == (None, IssueType.NOT_FOUND.value)
        assert row.issue_detail["rejected"] == [two]
        records.rematch(db, db.get(Account, account_id), CUSTOMERS)
        assert db.get(BtCustomer, (account_id, "c-s2")).qb_list_id is None  # not matched back behind the person's back


def test_items_sync_creates_what_nothing_matches_and_a_lost_answer_is_not_created_twice(
        shared_dir, settings, store, server, tenant, tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    web_connector = connect_with_accounts(shared_dir, settings, store, server, tenant, tmp_path, company,
                                          items_sync=True)
    with store.begin() as db:
        assert db.get(BtItem, (account_id, "i-new")).pending == "creating"  # queued by itself
        assert db.get(BtItem, (account_id, "i-old")).pending is None  # an inactive QuickBooks item holds its SKU
    web_connector.quickbooks.faults = Faults.parse("lose_response=@1").injector()
    web_connector.faults = web_connector.quickbooks.faults
    lost = web_connector.run_session()
    assert "response lost" in lost.outcome
    assert company.item_named("NEW-1") is not None  # QuickBooks saved it; the bridge never heard
    forget_dead_session(store, account_id)
    waiting = web_connector.run_session()  # the dead set might still be applying: its Add waits, unconfirmed
    assert waiting.ok and "ItemNonInventoryAddRq" not in requests(waiting), waiting.to_text()
    with store.begin() as db:
        assert db.get(BtItem, (account_id, "i-new")).pending == "creating"
    past_inflight_timeout(store, account_id)
    resumed = web_connector.run_session()
    assert resumed.ok, resumed.to_text()
    assert "ItemQueryRq" in requests(resumed) and "ItemNonInventoryAddRq" not in requests(resumed)
    assert sum(1 for item in company.items.values() if item.name.casefold() == "new-1") == 1
    with store.begin() as db:
        assert state(db, BtItem, account_id, "i-new") == (company.item_named("NEW-1").stamp.id, "created", None, None)


def test_resync_finds_an_email_just_typed_into_quickbooks(shared_dir, settings, store, server, tenant, tmp_path):
    company = fake_company()
    account_id = tenant.account.account_id
    seed_bluetrace(store, account_id)
    web_connector = connector(shared_dir, settings, store, server, tenant, tmp_path, company)
    assert web_connector.run_session().ok
    company.set_email(company.customer_named("Filler customer 007").stamp.id, "hello@harbor.test")
    with store.begin() as db:
        resolutions.request_resync(db, db.get(Account, account_id), CUSTOMERS, "c-new")
        assert db.get(BtCustomer, (account_id, "c-new")).pending == "resyncing"
    session = web_connector.run_session()  # not due by the schedule: the Re-sync is the work
    assert {"CustomerQueryRq", "CustomerQueryRq:Start"} <= set(requests(session))
    with store.begin() as db:
        matched = company.customer_named("Filler customer 007").stamp.id
        assert state(db, BtCustomer, account_id, "c-new") == (matched, "auto", None, None)
    company.delete_list_record(matched)  # deleted in QuickBooks: the pull the Re-sync queues hears it deleted
    with store.begin() as db:
        resolutions.request_resync(db, db.get(Account, account_id), CUSTOMERS, "c-new")
    session = web_connector.run_session()
    assert "ListDeletedQueryRq" in requests(session)
    with store.begin() as db:
        assert db.get(QbCustomer, (account_id, matched)) is None
        assert state(db, BtCustomer, account_id, "c-new")[:3] == (None, None, IssueType.NOT_FOUND.value)


def test_rematching_a_few_records_reads_their_neighbourhood_and_decides_as_reading_everything(store, tenant):
    """The indexed look-ups of a targeted re-match find every record its decisions depend on."""
    import random

    from qbwc_bridge.sync import facts, matching, records

    rng = random.Random(5)
    account_id = tenant.account.account_id
    now = dt.datetime.now(dt.timezone.utc)
    skus = ["W-1", "w 1", "W1", "AB-2", "ab2", "C-3", "Bolt", "bolt kit", "D 4", "E5"]
    mailboxes = ["ap@acme.test", "AP@beta.test", "ann@acme.test", "orders@shared.test", "bob@c.test", "info@d.test"]
    with store.begin() as db:
        for n in range(120):
            parent = f"P{n % 7}" if n % 5 == 0 else None
            db.add(QbItem(account_id=account_id, list_id=f"I{n}", name=rng.choice(skus) + ("" if n < 60 else f" {n}"),
                          full_name=f"{parent}:x{n}" if parent else f"x{n}", item_type="Service",
                          manufacturer_part_number=rng.choice(skus + [None]), is_active=rng.random() > 0.1))
            emails = rng.sample(mailboxes, rng.randint(0, 2))
            db.add(QbCustomer(account_id=account_id, list_id=f"C{n}", name=rng.choice(["Acme", "Beta", f"Q{n}"]),
                              full_name=f"Q{n}", company_name=rng.choice([None, "Acme", "Dee"]),
                              email="; ".join(emails) or None, is_active=rng.random() > 0.1,
                              parent_list_id=f"C{n - 1}" if n % 9 == 0 and n else None))
        used = set()
        for n in range(150):
            pinned = rng.random() < 0.1
            sku = rng.choice(skus + [None])
            sku = sku if sku is None else "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in sku)
            if sku in used:  # SKUs are unique in BlueTrace; case variants are not
                sku = f"Z{n}"
            used.add(sku)
            item = BtItem(account_id=account_id, item_id=f"i{n}", sku=sku,
                          name=rng.choice(["Bolt", "w1", f"Item {n}"]), kind="service", active=True)
            customer = BtCustomer(account_id=account_id, customer_id=f"c{n}", name=rng.choice(["Acme", f"R{n}"]),
                                  billing_email=rng.choice(mailboxes + [None, f"ann@x{n}.test"]), active=True)
            for row, prefix in ((item, "I"), (customer, "C")):
                if pinned:
                    row.qb_list_id, row.matched_by = f"{prefix}{rng.randrange(120)}", rng.choice(["manual", "created"])
                elif rng.random() < 0.05:
                    row.issue_detail = {"rejected": [f"{prefix}{rng.randrange(120)}"]}
                db.add(row)
        for name in ("items", "customers", "terms", "accounts"):
            db.add(SyncCursor(account_id=account_id, list_name=name, initial_done=True, records_seen=0))
    with store.begin() as db:
        account = db.get(Account, account_id)
        records.rematch(db, account, facts.ITEMS)  # some duplicate matches exist from here on
        records.rematch(db, account, facts.CUSTOMERS)
    with store.begin() as db:
        account = db.get(Account, account_id)
        for side, prefix in ((facts.ITEMS, "i"), (facts.CUSTOMERS, "c")):
            def decide(bt, qb, targets):
                if side is facts.ITEMS:
                    return matching.match_items(bt, qb, facts.match_field(account), targets)
                return matching.match_customers(bt, qb, targets)

            for trial in range(25):
                ids = [f"{prefix}{rng.randrange(150)}" for _ in range(rng.randint(0, 3))]
                changed = [f"{prefix.upper()}{rng.randrange(120)}" for _ in range(rng.randint(0, 2))]
                bt, qb = facts.bt_facts(db, side, account), facts.qb_facts(db, side, account)
                targets = facts.targets_of(db, side, account, bt, qb, ids, changed, facts.match_field(account))
                near = facts.neighbourhood(db, side, account, ids, changed, facts.match_field(account))
                assert near is not None
                assert near[2] == targets
                assert decide(near[0], near[1], near[2]) == decide(bt, qb, targets), (side.noun, ids, changed)
