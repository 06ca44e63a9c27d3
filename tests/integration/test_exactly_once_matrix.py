"""Exactly once, as a matrix: every non-idempotent operation x every way its answer can go missing or arrive late.

The operations are the five Adds the bridge sends: an InvoiceAdd, an ItemAdd of each kind we create
(service, non-inventory, inventory) and a CustomerAdd. They travel in one message set, so each fault
below hits all five at once, and each is checked on its own afterwards; with the ``store`` fixture
every cell runs on SQLite and on PostgreSQL.

The faults:

* ``answer_lost_after_apply``: QuickBooks applies the set, the Web Connector dies before answering.
* ``hresult_after_partial_apply``: QuickBooks applies the first two requests, then the Web Connector
  reports an RPC failure (0x800706BE) and no response: failed on main, which sent every Add again.
* ``hresult_nothing_ran``: the file is open in another mode (0x80040410): nothing was applied.
* ``lookup_answered_with_hresult``: the answer is lost, then the set of look-ups gets an HRESULT:
  failed on main for items and customers, which lost "unconfirmed" and were refused as duplicate names.
* ``session_superseded_mid_set``: QuickBooks is still applying when another Web Connector (a second PC
  on a multi-user file) authenticates; the late answer of the first arrives after the second session:
  failed on main, where the second session looked up (and resent) while the first set was applying.
* ``password_reset_mid_set``: the password is reset while a set is out; the old ticket then answers
  with a forged success for Adds QuickBooks never saw: failed on main, which believed it.
* ``server_killed_between_send_and_receive``: another server process (a fresh engine on the same
  database) takes the answer. This already held on main: nothing of a session lives in memory.

After the fault, sessions run (the clock past every hold and backoff) until nothing is left; then
QuickBooks holds exactly one of each, and BlueTrace shows each as created or matched.
"""
from __future__ import annotations

import copy
import datetime as dt
import random

import pytest
from lxml import etree
from sqlalchemy import update

from qbwc_bridge.backends.desktop.schema import schema_dir
from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.backends.desktop import credentials
from qbwc_bridge.services import catalog
from qbwc_bridge.services import invoices as invoice_service
from qbwc_bridge.simulator import RequestProcessor
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, OutboxOperation, QbAccount, SyncCursor

from tests.integration.invoice_world import Clock, ScriptedConnector, make_company, ours, seed_matches

FAULTS = (
    "answer_lost_after_apply",
    "hresult_after_partial_apply",
    "hresult_nothing_ran",
    "lookup_answered_with_hresult",
    "session_superseded_mid_set",
    "password_reset_mid_set",
    "server_killed_between_send_and_receive",
)
NEW_ITEMS = {"new-svc": ("NEW-SVC-1", "service"), "new-ni": ("NEW-NI-1", "non_inventory"),
             "new-inv": ("NEW-INV-1", "inventory")}  # fmt: skip
NEW_CUSTOMER = ("new-cust", "Brand New Buyer Ltd", "ap@brand-new-buyer.test")
ORDER_ID = "order-1"
RPC_FAILED = ("0x800706BE", "The remote procedure call failed.")
OTHER_MODE = ("0x80040410", "The QuickBooks company data file is currently open in a mode other than the one specified.")


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def world(store, tenant):
    account_id = tenant.account.account_id
    company = make_company(seed=11)
    world = seed_matches(store, account_id, company)
    with store.begin() as db:
        account = db.get(Account, account_id)
        for qb_account in company.accounts.values():
            db.merge(QbAccount(account_id=account_id, list_id=qb_account.stamp.id, full_name=qb_account.name,
                               account_type=qb_account.account_type, is_active=True))  # fmt: skip
        by_type = {a.account_type: a.stamp.id for a in company.accounts.values()}
        account.ar_account_id, account.ap_account_id = by_type["Income"], by_type["CostOfGoodsSold"]
        for list_name in ("terms", "accounts", "items", "customers"):
            db.merge(SyncCursor(account_id=account_id, list_name=list_name, initial_done=True, records_seen=0))
        account.status = "connected"
        for item_id, (sku, kind) in NEW_ITEMS.items():
            db.add(BtItem(account_id=account_id, item_id=item_id, sku=sku, name=f"New {kind} item", kind=kind,
                          issue="not_found"))  # fmt: skip
        customer_id, name, email = NEW_CUSTOMER
        db.add(BtCustomer(account_id=account_id, customer_id=customer_id, name=name, billing_email=email,
                          issue="not_found"))  # fmt: skip
    return world


class Driver:
    """The Web Connector's calls one by one, so a test can break a session exactly where it wants."""

    def __init__(self, store, settings, tenant, world, clock, shared_dir):
        self.store, self.settings, self.tenant, self.world, self.clock = store, settings, tenant, world, clock
        self.schema = schema_dir(shared_dir)
        self.quickbooks = RequestProcessor(world.company, self.schema)
        self.service = WebConnectorService(store, settings, clock=clock)
        self.password = tenant.password
        self.connector = self._connector()

    def _connector(self) -> ScriptedConnector:
        return ScriptedConnector(self.service, self.quickbooks, self.tenant.username, self.password,
                                 self.tenant.owner_id, self.tenant.account.file_id)  # fmt: skip

    def open(self) -> tuple[str, str]:
        """authenticate + the first sendRequestXML: (ticket, the message set handed out)."""
        ticket, answer = self.service.authenticate(self.tenant.username, self.password)[:2]
        assert answer == "", answer
        return ticket, self.service.send_request_xml(ticket, self.connector.hcp, "C:\\Co.QBW", "US", 13, 0)

    def apply(self, request: str, *, first: int | None = None, company=None) -> str:
        """QuickBooks processes the set (or only its ``first`` requests); its response."""
        if first is not None:
            request = _first_requests(request, first)
        processor = self.quickbooks if company is None else RequestProcessor(company, self.schema)
        session = processor.begin_session()
        try:
            result = session.process(request)
        finally:
            session.end()
        assert not result.hresult, result.message
        return result.response

    def finish(self, max_sessions: int = 8) -> list[str]:
        """Sessions until nothing is left, the clock past every hold and backoff between them."""
        requests_before = len(self.connector.requests)
        for _ in range(max_sessions):
            self.clock.advance(seconds=self.settings.inflight_timeout_seconds + 3600)
            if self.connector.session() == "none":
                return self.connector.requests[requests_before:]
        raise AssertionError("work still left after several sessions")


@pytest.fixture
def driver(store, settings, tenant, world, clock, shared_dir):
    return Driver(store, settings, tenant, world, clock, shared_dir)


def _first_requests(request: str, count: int) -> str:
    """The message set with only its first ``count`` requests (what QuickBooks got through before failing)."""
    root = etree.fromstring(request.encode("utf-8"))
    messages = root.find("QBXMLMsgsRq")
    for extra in list(messages)[count:]:
        messages.remove(extra)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="utf-8").decode("utf-8")


def queue_every_add(store, tenant, world) -> None:
    account_id = tenant.account.account_id
    with store.begin() as db:
        invoice_service.record_packed_order(db, account_id, ORDER_ID, world.order(random.Random(5), "SO-1001"))
        for item_id in NEW_ITEMS:
            catalog.create_item_in_quickbooks(db, account_id, item_id)
        catalog.create_customer_in_quickbooks(db, account_id, NEW_CUSTOMER[0])


def assert_exactly_once(store, tenant, world) -> None:
    """QuickBooks holds one of each, and BlueTrace shows each created (or adopted) with that record."""
    account_id, company = tenant.account.account_id, world.company
    problems = []
    [invoice] = ours(company, ORDER_ID) or [None]
    if len(ours(company, ORDER_ID)) != 1:
        problems.append(f"invoice: QuickBooks holds {len(ours(company, ORDER_ID))}")
    with store.begin() as db:
        view = invoice_service.get_invoice(db, account_id, ORDER_ID)
        if invoice is not None and (view["status"], view["quickbooks"]["txn_id"]) != ("created", invoice.stamp.id):
            problems.append(f"invoice: shows {view['status']} {view['quickbooks']}")
        for item_id, (sku, kind) in NEW_ITEMS.items():
            held = [item for item in company.items.values() if item.name == sku]
            row = db.get(BtItem, (account_id, item_id))
            if len(held) != 1:
                problems.append(f"{kind} item: QuickBooks holds {len(held)}")
            elif row.qb_list_id != held[0].stamp.id or row.issue is not None:
                problems.append(f"{kind} item: matched to {row.qb_list_id}, issue {row.issue}")
        customer_id, name, _email = NEW_CUSTOMER
        held = [entity for entity in company.customers if entity.name == name]
        row = db.get(BtCustomer, (account_id, customer_id))
        if len(held) != 1:
            problems.append(f"customer: QuickBooks holds {len(held)}")
        elif row.qb_list_id != held[0].stamp.id or row.issue is not None:
            problems.append(f"customer: matched to {row.qb_list_id}, issue {row.issue}")
    assert problems == []


def adds_in(requests: list[str]) -> list[str]:
    return [request for request in requests if "AddRq" in request]


@pytest.mark.parametrize("fault", FAULTS)
def test_every_add_lands_exactly_once(fault, store, settings, tenant, world, clock, driver):
    queue_every_add(store, tenant, world)
    ticket, request = driver.open()
    assert request.count("AddRq requestID") == 5, "all five Adds travel in one set"

    if fault == "answer_lost_after_apply":
        driver.apply(request)
    elif fault == "hresult_after_partial_apply":
        driver.apply(request, first=2)
        assert driver.service.receive_response_xml(ticket, "", *RPC_FAILED) == -1
    elif fault == "hresult_nothing_ran":
        assert driver.service.receive_response_xml(ticket, "", *OTHER_MODE) == -1
        driver.service.close_connection(ticket)
    elif fault == "lookup_answered_with_hresult":
        driver.apply(request)
        clock.advance(seconds=settings.inflight_timeout_seconds + 1)
        second, lookups = driver.open()
        assert "AddRq" not in lookups and lookups.count("QueryRq requestID") >= 5
        assert driver.service.receive_response_xml(second, "", *RPC_FAILED) == -1
        driver.service.close_connection(second)
    elif fault == "session_superseded_mid_set":
        response = driver.apply(request)  # QuickBooks is slow: this answer reaches us only later
        clock.advance(seconds=settings.busy_window_seconds + 1)
        during = driver.connector.session()  # the other PC's Web Connector
        assert during in ("done", "none")
        assert adds_in(driver.connector.requests) == [], "nothing held by the applying set may be sent meanwhile"
        assert all("InvoiceQueryRq" not in r for r in driver.connector.requests), "nor looked up"
        driver.service.receive_response_xml(ticket, response, "", "")  # the late answer: evidence
    elif fault == "password_reset_mid_set":
        forged = driver.apply(request, company=copy.deepcopy(world.company))  # QuickBooks never saw the set
        with store.begin() as db:
            driver.password = credentials.reset_web_connector_password(
                db, tenant.account.account_id, inflight_timeout=dt.timedelta(seconds=settings.inflight_timeout_seconds)
            )
        driver.connector = driver._connector()
        driver.service.receive_response_xml(ticket, forged, "", "")
    elif fault == "server_killed_between_send_and_receive":
        response = driver.apply(request)
        restarted = Store(store.url.render_as_string(hide_password=False))
        try:
            other_process = WebConnectorService(restarted, settings, clock=clock)
            assert other_process.receive_response_xml(ticket, response, "", "") == 100
            other_process.close_connection(ticket)
        finally:
            restarted.dispose()

    later = driver.finish()
    assert_exactly_once(store, tenant, world)
    if fault == "hresult_nothing_ran":
        assert adds_in(later) and all("InvoiceQueryRq" not in r for r in later), "nothing ran: sent again as it was"
    with store.begin() as db:
        assert db.query(OutboxOperation).filter(OutboxOperation.verify_first.is_(True)).count() == 0


def test_a_late_answer_never_touches_an_operation_that_has_moved_on(store, settings, tenant, world, clock, driver):
    """The first set's answer comes after the hold expired and the look-up already settled it: it is ignored."""
    queue_every_add(store, tenant, world)
    ticket, request = driver.open()
    response = driver.apply(request)
    driver.finish()  # held, then looked up and adopted
    assert_exactly_once(store, tenant, world)
    with store.begin() as db:
        db.execute(update(Account).where(Account.id == tenant.account.account_id).values(status="connected"))
    assert driver.service.receive_response_xml(ticket, response, "", "") == -1
    assert_exactly_once(store, tenant, world)


def test_a_superseded_set_waits_only_until_the_inflight_timeout(store, settings, tenant, world, clock, driver):
    queue_every_add(store, tenant, world)
    ticket, request = driver.open()
    driver.apply(request)
    clock.advance(seconds=settings.busy_window_seconds + 1)
    driver.connector.session()
    assert all("InvoiceQueryRq" not in r for r in driver.connector.requests)
    with store.begin() as db:
        held = db.query(OutboxOperation).filter(OutboxOperation.verify_first.is_(True)).all()
        assert len(held) == 5
        sent_at = clock.now - dt.timedelta(seconds=settings.busy_window_seconds + 1)
        assert {op.not_before for op in held} == {sent_at + dt.timedelta(seconds=settings.inflight_timeout_seconds)}


def test_a_look_up_never_adopts_a_record_that_predates_the_add(store, settings, tenant, world, clock, driver):
    """QuickBooks refused our Add (the name was taken long before) and the answer was lost: the look-up
    finds the name, but the record is older than our send, so it is somebody else's. On main it was
    adopted as the customer we created; now the Add goes again and the refusal shows as a duplicate name."""
    account_id = tenant.account.account_id
    world.company.clock = clock
    taken = world.company.customers[0]
    taken.stamp.time_created = clock.now - dt.timedelta(days=3)
    with store.begin() as db:
        db.get(BtCustomer, (account_id, NEW_CUSTOMER[0])).name = taken.name
        catalog.create_customer_in_quickbooks(db, account_id, NEW_CUSTOMER[0])
    ticket, request = driver.open()
    assert "CustomerAddRq" in request
    driver.apply(request)  # refused by QuickBooks (3100); the answer never reaches us
    later = driver.finish()
    assert any("CustomerQueryRq" in r for r in later) and any("CustomerAddRq" in r for r in later)
    assert [entity.name for entity in world.company.customers].count(taken.name) == 1
    with store.begin() as db:
        row = db.get(BtCustomer, (account_id, NEW_CUSTOMER[0]))
        assert (row.qb_list_id, row.issue) == (None, "duplicate_name")
