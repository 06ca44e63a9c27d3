"""A fake QuickBooks company, the bridge's store matched to it, and packed orders to invoice.

* :func:`seed_matches` writes the mirror (QbTerms/QbCustomer/QbItem) and matched
  BlueTrace records (BtCustomer/BtItem with ``qb_list_id``) straight into the store, as the
  matching engine would leave them: invoices are tested here, matching elsewhere.
* :class:`ScriptedConnector` plays the Web Connector by calling ``WebConnectorService``
  directly (no SOAP) with the strict fake QuickBooks answering, so a test decides exactly
  which answer is lost, refused or delayed, and what time it is.
* :func:`expected_invoice` / :func:`check_invoice` state what QuickBooks must hold.
"""
from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from qbwc_bridge.backends.desktop.web_connector import WebConnectorService
from qbwc_bridge.simulator import FakeCompany, RequestProcessor, generate_company
from qbwc_bridge.simulator.records import EntityKind, Invoice
from qbwc_bridge.simulator.seeding import add_entity
from qbwc_bridge.store.db import Store
from qbwc_bridge.store.models import Account, BtCustomer, BtItem, QbCustomer, QbItem, QbTerms

from tests.integration.soap_helpers import hcp_response


@dataclass
class World:
    """Who is who on both sides: BlueTrace ids -> the fake company's records."""

    company: FakeCompany
    customers: dict[str, Any] = field(default_factory=dict)  # customer_id -> Entity
    items: dict[str, Any] = field(default_factory=dict)  # item_id -> Item
    default_terms_id: str | None = None

    def order(self, rng: random.Random, number: str, *, customer_id: str | None = None, lines: int | None = None,
              item_ids: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
        """A random packed-order event over the matched records."""
        customer_id = customer_id or rng.choice(sorted(self.customers))
        item_ids = item_ids or [rng.choice(sorted(self.items)) for _ in range(lines or rng.randint(1, 4))]
        return {
            "order_number": number,
            "customer_id": customer_id,
            "packed_at": f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:15:00-05:00",
            "po_number": f"PO-{rng.randint(1, 99999)}" if rng.random() < 0.5 else None,
            "memo": "Leave at the back door" if rng.random() < 0.2 else None,
            "ship_address": {"line1": "12 Dock Road", "city": "Springfield", "state": "IL", "postal_code": "62701"},
            "lines": [
                {
                    "item_id": item_id,
                    "quantity": str(Decimal(rng.randint(1, 400)) / rng.choice([1, 1, 4, 8])),
                    "unit_price": str(Decimal(rng.randint(1, 500000)) / 100),
                    "description": f"Line {index + 1} of {number}" if rng.random() < 0.5 else None,
                }
                for index, item_id in enumerate(item_ids)
            ],
        }


def make_company(*, items: int = 12, customers: int = 10, seed: int = 1, without_terms: int = 2) -> FakeCompany:
    """A generated company plus customers that have no terms of their own (the default terms apply)."""
    company = generate_company(items=items, customers=customers, seed=seed).company
    for number in range(without_terms):
        add_entity(company, EntityKind.CUSTOMER, {"name": f"Termless Buyer {number}", "email": f"t{number}@termless.test"})
    return company


def seed_matches(store: Store, account_id: int, company: FakeCompany, *, invoice_creation: bool = True,
                 default_terms: str | None = "Net 15") -> World:  # fmt: skip
    """Mirror every list of ``company`` and match one BlueTrace record to each customer and item."""
    world = World(company)
    with store.begin() as db:
        account = db.get(Account, account_id)
        for terms in company.terms.values():
            db.merge(QbTerms(account_id=account_id, list_id=terms.stamp.id, full_name=terms.name, is_active=True))
        for number, customer in enumerate(sorted(company.customers, key=lambda c: c.full_name)):
            db.merge(QbCustomer(account_id=account_id, list_id=customer.stamp.id, full_name=customer.full_name,
                                name=customer.name, email=customer.email, terms_list_id=customer.terms_id,
                                is_active=customer.is_active))  # fmt: skip
            customer_id = f"C{number:03d}"
            db.merge(BtCustomer(account_id=account_id, customer_id=customer_id, name=customer.name,
                                billing_email=(customer.email or "").split(",")[0].split(";")[0].strip() or None,
                                qb_list_id=customer.stamp.id, matched_by="auto"))  # fmt: skip
            world.customers[customer_id] = customer
        for number, item in enumerate(company.sorted_items()):
            db.merge(QbItem(account_id=account_id, list_id=item.stamp.id, full_name=item.full_name, name=item.name,
                            item_type=item.kind.value, is_active=item.is_active))  # fmt: skip
            item_id = f"I{number:03d}"
            db.merge(BtItem(account_id=account_id, item_id=item_id, sku=item.name, name=item.name,
                            qb_list_id=item.stamp.id, matched_by="auto"))  # fmt: skip
            world.items[item_id] = item
        if default_terms:
            world.default_terms_id = company.find_terms(full_name=default_terms).stamp.id
        account.default_terms_id = world.default_terms_id
        account.invoice_creation = invoice_creation
    return world


def add_unmatched_item(store: Store, account_id: int, item_id: str, sku: str) -> None:
    """A BlueTrace item no QuickBooks item carries the SKU of (issue not_found)."""
    with store.begin() as db:
        db.add(BtItem(account_id=account_id, item_id=item_id, sku=sku, name=f"Item {sku}", issue="not_found"))


def match_item(store: Store, account_id: int, item_id: str, qb_item) -> None:
    """What the matching engine does when a person picks the QuickBooks item: matched, blocked invoices re-evaluated."""
    from qbwc_bridge.sync.invoices import on_matches_changed

    with store.begin() as db:
        row = db.get(BtItem, (account_id, item_id))
        row.qb_list_id, row.issue, row.matched_by = qb_item.stamp.id, None, "manual"
        db.flush()
        on_matches_changed(db, db.get(Account, account_id))


# -- what QuickBooks must hold ------------------------------------------------------------------


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def ours(company: FakeCompany, order_id: str) -> list[Invoice]:
    """The invoices QuickBooks holds for one order (found by our memo marker)."""
    return [i for i in company.invoices.values() if i.memo and f"(order id {order_id})" in i.memo]


def check_invoice(world: World, invoice: Invoice, order_id: str, event: dict[str, Any]) -> None:
    """The invoice carries the order's customer, terms, lines and total."""
    customer = world.customers[event["customer_id"]]
    assert invoice.customer_id == customer.stamp.id, order_id
    assert invoice.terms_id == (customer.terms_id or world.default_terms_id), order_id
    assert invoice.txn_date.isoformat() == event["packed_at"][:10], order_id
    assert invoice.po_number == event.get("po_number"), order_id
    assert invoice.memo.startswith(f"BlueTrace order {event['order_number']} (order id {order_id})"), order_id
    assert len(invoice.lines) == len(event["lines"]), order_id
    total = Decimal("0")
    for line, wanted in zip(invoice.lines, event["lines"]):
        item = world.items[wanted["item_id"]]
        assert line.item_id == item.stamp.id, order_id
        assert line.quantity == Decimal(wanted["quantity"]), order_id
        assert line.rate == Decimal(wanted["unit_price"]), order_id
        assert line.description == (wanted.get("description") or item.description), order_id
        total += money(Decimal(wanted["quantity"]) * Decimal(wanted["unit_price"]))
    assert invoice.subtotal == total, order_id


# -- a scripted Web Connector ---------------------------------------------------------------------


class ScriptedConnector:
    """The Web Connector's calls, made directly on the service, the fake QuickBooks answering.

    ``lose`` decides, per message set (1-based), whether its response is lost after QuickBooks
    applied it; ``tamper`` may replace the (response, hresult, message) QBWC passes on.
    """

    def __init__(self, service: WebConnectorService, quickbooks: RequestProcessor, username: str, password: str,
                 owner_id: str, file_id: str):  # fmt: skip
        self.service, self.quickbooks = service, quickbooks
        self.username, self.password = username, password
        self.hcp = hcp_response(owner_id, file_id, versions=quickbooks.company.settings.supported_versions)
        self.message_sets = 0
        self.requests: list[str] = []

    def session(self, *, lose: Callable[[int], bool] = lambda n: False, drop: Callable[[int], bool] = lambda n: False,
                refuse: Callable[[int], tuple[str, str] | None] = lambda n: None,
                before: Callable[[int, str], None] = lambda n, request: None) -> str:  # fmt: skip
        """One session; returns how it ended ("none", "busy", "done", "lost", "dropped", "error").

        Per message set (numbered from 1 across sessions): ``lose`` - QuickBooks applies it, the
        answer never reaches us; ``drop`` - QBWC dies before QuickBooks sees it; ``refuse`` -
        QuickBooks refuses the whole set with this (HRESULT, message), applying nothing;
        ``before`` - runs just before QuickBooks processes the set (a bookkeeper at work).
        """
        answer = self.service.authenticate(self.username, self.password)
        ticket, status = answer[0], answer[1]
        if status in ("none", "busy", "nvu"):
            return status
        qb = self.quickbooks.begin_session()
        first = True
        try:
            while True:
                request = self.service.send_request_xml(ticket, self.hcp if first else "", "C:\\Co.QBW", "US", 13, 0)
                first = False
                if not request:
                    self.service.get_last_error(ticket)
                    self.service.close_connection(ticket)
                    return "done"
                self.message_sets += 1
                self.requests.append(request)
                if drop(self.message_sets):
                    return "dropped"
                refused = refuse(self.message_sets)
                if refused is not None:
                    response, (hresult, message) = "", refused
                else:
                    before(self.message_sets, request)
                    result = qb.process(request)
                    if lose(self.message_sets):
                        return "lost"
                    response, hresult, message = result.response, result.hresult, result.message
                percent = self.service.receive_response_xml(ticket, response, hresult, message)
                if percent < 0:
                    self.service.get_last_error(ticket)
                    self.service.close_connection(ticket)
                    return "error"
                if percent >= 100:
                    self.service.close_connection(ticket)
                    return "done"
        finally:
            qb.end()


class Clock:
    """A settable clock for the service: backoff and busy windows without sleeping."""

    def __init__(self, start: dt.datetime | None = None):
        self.now = start or dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)
