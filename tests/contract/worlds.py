"""One QuickBooks company and one bridge account, whichever backend carries it.

Every scenario of the contract suite is written against :class:`World`: it adds records "in
QuickBooks", runs the bridge until it has nothing left to do, and reads back what QuickBooks
holds. Each backend supplies its own world:

* :class:`DesktopWorld`: the strict simulated QuickBooks Desktop, reached through Web Connector
  sessions (``ScriptedConnector`` calls the service as QBWC would);
* :class:`MemoryWorld`: the in-package push backend (``backends/memory.py``), driven by a real
  ``Worker`` and ``PushDriver`` exactly as QuickBooks Online is;
* :class:`OnlineWorld`: QuickBooks Online (``backends/online``) against the in-package fake
  Intuit served on a loopback port, connected through the real OAuth flow (Intuit's consent
  page approved over HTTP, the code exchanged by ``connection.finish_connect``), driven like
  the memory world. The fake shares the world's clock, so QuickBooks' timestamps move with it.

Names here are what a bookkeeper sees; ids are each QuickBooks' own.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import httpx

from qbwc_bridge import backends
from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.backends.memory import MemoryBackend, MemoryCompany
from qbwc_bridge.backends.online import connection
from qbwc_bridge.backends.online.backend import OnlineBackend
from qbwc_bridge.backends.push import PushDriver
from qbwc_bridge.config import Settings
from qbwc_bridge.domain import ItemMatchField
from qbwc_bridge.fake_qbo import FakeIntuit, serve
from qbwc_bridge.operations import ListName
from qbwc_bridge.services.accounts import create_account, installation
from qbwc_bridge.simulator import CompanySettings, FakeCompany, RequestProcessor
from qbwc_bridge.simulator.records import EntityKind, Terms
from qbwc_bridge.simulator.seeding import add_entity, add_item
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.models import Account
from qbwc_bridge.worker import Worker

from tests.integration.invoice_world import Clock, ScriptedConnector

MAX_ROUNDS = 30  # sessions or drives before a world gives up: the bridge must settle well before


@dataclass(frozen=True)
class FoundInvoice:
    """An invoice QuickBooks holds, as a bookkeeper would read it."""

    number: str
    customer: str  # the customer's name
    note: str


class World:
    """A QuickBooks company, the bridge account connected to it, and a clock both share."""

    kind: str
    store: Store
    account_id: int
    clock: Clock

    # -- in QuickBooks ------------------------------------------------------------------------
    def add_terms(self, name: str) -> str:
        raise NotImplementedError

    def add_account(self, name: str, account_type: str) -> str:
        raise NotImplementedError

    def add_item(self, name: str, *, active: bool = True) -> str:
        raise NotImplementedError

    def add_customer(self, name: str, email: str | None = None, *, terms: str | None = None) -> str:
        raise NotImplementedError

    def rename_item(self, item_id: str, name: str) -> None:
        raise NotImplementedError

    def item_names(self) -> set[str]:
        raise NotImplementedError

    # Deletions and merges made by a bookkeeper. A backend that cannot tell the bridge of them yet
    # (``notices_deletions`` False) skips those scenarios: the bridge would not know.
    notices_deletions = False

    def delete_item(self, item_id: str) -> None:
        raise NotImplementedError

    def merge_customers(self, from_id: str, to_id: str) -> None:
        """Merge one customer into another: references move to ``to_id``, ``from_id`` is gone."""
        raise NotImplementedError

    def delete_invoice(self, number: str) -> None:
        raise NotImplementedError

    # What a bookkeeper does to our invoices in QuickBooks. A backend that cannot tell the bridge how
    # invoices stand (``tells_invoice_changes`` False) skips those scenarios.
    tells_invoice_changes = False

    def record_payment(self, number: str, amount: Decimal) -> None:
        """Receive a payment from the invoice's customer, applied to that invoice."""
        raise NotImplementedError

    def void_invoice(self, number: str) -> None:
        raise NotImplementedError

    def change_invoice_quantity(self, number: str, quantity: Decimal) -> None:
        """Edit the quantity of the invoice's first line (its total changes)."""
        raise NotImplementedError

    def customer_names(self) -> set[str]:
        raise NotImplementedError

    def invoices(self) -> list[FoundInvoice]:
        raise NotImplementedError

    def lose_next_answer(self) -> None:
        """The next thing the bridge sends is applied by QuickBooks, and its answer never comes back."""
        raise NotImplementedError

    # -- the bridge ---------------------------------------------------------------------------
    def run(self) -> int:
        """Let the bridge work until it has nothing left to do now; returns the rounds it took."""
        raise NotImplementedError

    def later(self, **delta: float) -> None:
        self.clock.advance(**delta)

    def close(self) -> None:
        """Let go of what the world started (servers)."""


class DesktopWorld(World):
    kind = "desktop"

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.clock = Clock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
        self.company = FakeCompany(settings=CompanySettings(), clock=self.clock)
        with store.begin() as db:
            created = create_account(db, "Contract Co", "desktop")
            owner = installation(db).owner_id
        self.account_id = created.account_id
        service = WebConnectorService(store, settings, clock=self.clock)
        self.connector = ScriptedConnector(service, RequestProcessor(self.company), created.wc_username,
                                           created.wc_password, owner, created.file_id)
        self._lose = 0

    def add_terms(self, name):
        return self.company.add_terms(lambda stamp: Terms(stamp, name, std_due_days=30)).stamp.id

    def add_account(self, name, account_type):
        return self.company.add_account(name, account_type).stamp.id

    def add_item(self, name, *, active=True):
        return add_item(self.company, {"name": name, "kind": "service", "active": active}).stamp.id

    def add_customer(self, name, email=None, *, terms=None):
        return add_entity(self.company, EntityKind.CUSTOMER, {"name": name, "email": email, "terms": terms}).stamp.id

    def rename_item(self, item_id, name):
        self.company.rename(item_id, name)

    def item_names(self):
        return {item.name for item in self.company.items.values()}

    notices_deletions = True

    def delete_item(self, item_id):
        self.company.delete_list_record(item_id)

    def merge_customers(self, from_id, to_id):
        self.company.merge(from_id, to_id)

    def delete_invoice(self, number):
        [invoice] = self.company.invoices_by_ref(number)
        self.company.delete_invoice(invoice.stamp.id)

    tells_invoice_changes = True  # an InvoiceQuery of the invoices modified since the last pull

    def record_payment(self, number, amount):
        [invoice] = self.company.invoices_by_ref(number)
        self.company.receive_payment(invoice.stamp.id, amount)

    def void_invoice(self, number):
        [invoice] = self.company.invoices_by_ref(number)
        self.company.void_invoice(invoice.stamp.id)

    def change_invoice_quantity(self, number, quantity):
        [invoice] = self.company.invoices_by_ref(number)
        self.company.change_invoice_line(invoice.stamp.id, 0, quantity)

    def customer_names(self):
        return {entity.name for entity in self.company.entities.values() if entity.kind is EntityKind.CUSTOMER}

    def invoices(self):
        names = {entity.stamp.id: entity.name for entity in self.company.entities.values()}
        return [FoundInvoice(i.ref_number, names.get(i.customer_id, ""), i.memo or "")
                for i in self.company.invoices.values()]

    def lose_next_answer(self):
        self._lose += 1

    def run(self):
        sets_before = self.connector.message_sets
        for rounds in range(1, MAX_ROUNDS + 1):
            losing = self._lose
            self._lose = 0
            lost_at = sets_before + 1 if losing else None
            ended = self.connector.session(lose=lambda n: n == lost_at)
            sets_before = self.connector.message_sets
            if ended == "none":
                return rounds
            # A lost set's Adds wait out the in-flight hold (ten minutes) before they are looked up.
            self.clock.advance(minutes=11) if ended == "lost" else self.clock.advance(seconds=1)
        raise AssertionError(f"the bridge did not settle in {MAX_ROUNDS} Web Connector sessions")


class MemoryWorld(World):
    kind = "memory"

    def __init__(self, store: Store, settings: Settings, backend: type[MemoryBackend] = MemoryBackend):
        self.store = store
        self.clock = Clock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
        self.backend = backend(clock=self.clock)
        backends.register("memory", self.backend)
        with store.begin() as db:
            self.account_id = create_account(db, "Contract Co", "memory").account_id
        self.company: MemoryCompany = self.backend.company(self.account_id)
        self.driver = PushDriver(settings, clock=self.clock)
        self.worker = self.new_worker()

    def new_worker(self) -> Worker:
        """A worker process of its own (a new lease holder)."""
        return Worker(self.store, due=self.driver.due_accounts, drive=self.driver.drive_account, clock=self.clock)

    def add_terms(self, name):
        return self.company.add(ListName.TERMS, name)

    def add_account(self, name, account_type):
        return self.company.add(ListName.ACCOUNTS, name, account_type=account_type)

    def add_item(self, name, *, active=True):
        return self.company.add(ListName.ITEMS, name, active=active)

    def add_customer(self, name, email=None, *, terms=None):
        terms_id = self.company.find(ListName.TERMS, terms).id if terms else None
        return self.company.add(ListName.CUSTOMERS, name, email=email, terms_id=terms_id)

    def rename_item(self, item_id, name):
        self.company.change(ListName.ITEMS, item_id, name=name)

    def item_names(self):
        return {record.name for record in self.company.lists[ListName.ITEMS].values()}

    def customer_names(self):
        return {record.name for record in self.company.lists[ListName.CUSTOMERS].values()}

    def invoices(self):
        names = {r.id: r.name for r in self.company.lists[ListName.CUSTOMERS].values()}
        return [FoundInvoice(i.number, names.get(i.customer_id, ""), i.note) for i in self.company.invoices.values()]

    tells_invoice_changes = True

    def record_payment(self, number, amount):
        self.company.receive_payment(self.company.invoice_numbered(number).id, amount)

    def void_invoice(self, number):
        self.company.void_invoice(self.company.invoice_numbered(number).id)

    def change_invoice_quantity(self, number, quantity):
        invoice = self.company.invoice_numbered(number)
        (item, _quantity, price), *rest = invoice.lines
        self.company.change_invoice_lines(invoice.id, ((item, quantity, price), *rest))

    def lose_next_answer(self):
        # The worst case: the answer is lost and the request id forgotten, so only a look-up can prevent a copy.
        self.company.lose_next_answers(1)
        self.company.remembers_request_ids = False

    def run(self):
        for rounds in range(1, MAX_ROUNDS + 1):
            next_due = self.worker.run_once()
            if next_due is None or next_due > self.clock.now + dt.timedelta(minutes=1):
                return rounds
            self.clock.now = max(self.clock.now, next_due) + dt.timedelta(seconds=1)
        raise AssertionError(f"the bridge did not settle in {MAX_ROUNDS} drives")


REALM = "9130350000000001"
CLIENT_ID, CLIENT_SECRET = "contract-app", "contract-secret"
# QuickBooks Online spells account types in words (the scenarios use Desktop's spelling).
ONLINE_ACCOUNT_TYPES = {"CostOfGoodsSold": "Cost of Goods Sold"}


def consent(authorize_url: str, realm: str) -> dict[str, str]:
    """The person's browser on Intuit's consent page: Connect; returns the callback's query (code, state, realmId)."""
    page = httpx.get(authorize_url, timeout=30)
    assert page.status_code == 200, page.text
    parts = urlsplit(authorize_url)
    form = {key: values[0] for key, values in parse_qs(parts.query).items()}
    approved = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", timeout=30,
                          data={**form, "realm": realm, "decision": "approve"})
    assert approved.status_code == 302, approved.text
    return {key: values[0] for key, values in parse_qs(urlsplit(approved.headers["Location"]).query).items()}


def online_settings(settings: Settings, intuit_url: str) -> Settings:
    return settings.replace(qbo_client_id=CLIENT_ID, qbo_client_secret=CLIENT_SECRET, qbo_api_base=intuit_url,
                            qbo_authorize_url=intuit_url + "/connect/oauth2",
                            qbo_token_url=intuit_url + "/oauth2/v1/tokens/bearer",
                            qbo_revoke_url=intuit_url + "/v2/oauth2/tokens/revoke")


def connect_online(store: Store, settings: Settings, account_id: int, realm: str = REALM) -> None:
    """Connect the account through Intuit's authorization code flow, against whatever Intuit ``settings`` name."""
    with store.begin() as db:
        authorize_url = connection.start_connect(db, settings, db.get(Account, account_id))
    back = consent(authorize_url, realm)
    connection.finish_connect(store, settings, code=back.get("code"), state=back.get("state"),
                              realm_id=back.get("realmId"))


class OnlineWorld(World):
    kind = "online"

    def __init__(self, store: Store, settings: Settings):
        self.store = store
        self.clock = Clock(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
        self.intuit = FakeIntuit(clock=self.clock)
        # Duplicate DocNumbers allowed (QuickBooks' default): no 6140 refusal hides a second copy of an invoice.
        self.company = self.intuit.add_company(REALM, "Contract Co Online", seed_defaults=False,
                                               forbid_duplicate_doc_numbers=False)
        self.server = serve(self.intuit)
        self.settings = online_settings(settings, self.server.url)
        self.intuit.register_app(CLIENT_ID, CLIENT_SECRET, [self.settings.qbo_redirect_uri])
        # Backoff without waiting: the fake's throttling is not what these scenarios are about. CDC's
        # 30 days are reckoned on the world's clock, as the fake's are.
        backends.register("online", OnlineBackend(clock=self.clock, sleep=lambda seconds: None))
        with store.begin() as db:
            self.account_id = create_account(db, "Contract Co", "online").account_id
            # The scenarios name QuickBooks items like BlueTrace's SKUs; the SKU field is tested on its own.
            db.get(Account, self.account_id).item_match_field = ItemMatchField.NAME.value
        connect_online(store, self.settings, self.account_id)
        driver = PushDriver(self.settings, clock=self.clock)
        self.worker = Worker(store, due=driver.due_accounts, drive=driver.drive_account, clock=self.clock)

    def close(self):
        self.server.stop()

    def add_terms(self, name):
        return self.company.add_term(name, 30)["Id"]

    def add_account(self, name, account_type):
        return self.company.add_account(name, ONLINE_ACCOUNT_TYPES.get(account_type, account_type))["Id"]

    def add_item(self, name, *, active=True):
        income = next(r["Name"] for r in self.company.table("Account").rows if r["AccountType"] == "Income")
        return self.company.add_item(name, active=active, income_account=income)["Id"]

    def add_customer(self, name, email=None, *, terms=None):
        return self.company.add_customer(name, email=email, terms=terms)["Id"]

    def rename_item(self, item_id, name):
        self.company.update("Item", item_id, Name=name)

    def item_names(self):
        return {record["Name"] for record in self.company.table("Item").rows}

    notices_deletions = True  # from Change Data Capture

    def delete_item(self, item_id):
        self.company.delete("Item", item_id)

    def merge_customers(self, from_id, to_id):
        self.company.merge("Customer", from_id, to_id)

    def delete_invoice(self, number):
        [invoice] = [i for i in self.intuit.invoices(REALM) if i.get("DocNumber") == number]
        self.company.delete("Invoice", invoice["Id"])

    tells_invoice_changes = True  # a query of the invoices updated since the last pull

    def _invoice_id(self, number):
        [invoice] = [i for i in self.intuit.invoices(REALM) if i.get("DocNumber") == number]
        return invoice["Id"]

    def record_payment(self, number, amount):
        self.company.receive_payment(self._invoice_id(number), amount)

    def void_invoice(self, number):
        self.company.void_invoice(self._invoice_id(number))

    def change_invoice_quantity(self, number, quantity):
        self.company.change_invoice_line(self._invoice_id(number), 1, quantity)

    def customer_names(self):
        return {record["DisplayName"] for record in self.company.table("Customer").rows}

    def invoices(self):
        return [FoundInvoice(i.get("DocNumber", ""), i["CustomerRef"]["name"], i.get("PrivateNote", ""))
                for i in self.intuit.invoices(REALM)]

    def lose_next_answer(self):
        # The worst case: the write is applied, its answer lost, and Intuit forgets the requestid before the
        # next write, so only the look-up before any resend can prevent a copy.
        self.intuit.inject("lose_answer", times=1, on="write", realm=REALM)
        self.intuit.inject("forget_request_ids", times=1, on="write", realm=REALM)

    def run(self):
        for rounds in range(1, MAX_ROUNDS + 1):
            next_due = self.worker.run_once()
            if next_due is None or next_due > self.clock.now + dt.timedelta(minutes=1):
                return rounds
            self.clock.now = max(self.clock.now, next_due) + dt.timedelta(seconds=1)
        raise AssertionError(f"the bridge did not settle in {MAX_ROUNDS} drives")


WORLDS = {"desktop": DesktopWorld, "memory": MemoryWorld, "online": OnlineWorld}


def worlds() -> Iterator[str]:
    yield from WORLDS
