"""A QuickBooks held in memory behind the push interface: django-anymail's test backend for the engine.

It proves the engine needs nothing of Desktop: the contract suite (``tests/contract``) runs every
help-article scenario against it as well as against Desktop, and support can use it to rehearse a
scenario without any QuickBooks. It is deliberately *not* QuickBooks Online (that is
``backends/online`` against ``fake_qbo``); its facts differ from both real backends on purpose —
pages of three records, names up to 60 characters, Unicode text — so an engine that quietly
depended on one backend's numbers would fail here.

Like a real QuickBooks it refuses duplicate names (inactive records included), references to
records it does not hold or holds inactive, and it replays the answer of a write whose request id
it has seen. Faults are injected per company: :meth:`MemoryCompany.lose_next_answers` (the write is
applied, its answer is lost), :meth:`~MemoryCompany.busy_next` (throttled before applying),
:meth:`~MemoryCompany.revoke` (authorization gone) and ``remembers_request_ids = False``.
"""
from __future__ import annotations

import datetime as dt
import itertools
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..config import Settings
from ..domain import ItemMatchField
from ..operations import (
    Created,
    FoundInvoice,
    InvoiceChangesPull,
    InvoiceState,
    InvoiceStates,
    KeyKind,
    Limits,
    ListName,
    ListPage,
    ListPull,
    NeedsReconnect,
    NewCustomer,
    NewInvoice,
    NewItem,
    NewRecord,
    RecordLookup,
    RefusalReason,
    Refused,
    RetryLater,
    SkuPlace,
    Unconfirmed,
)
from ..store.db import Store
from ..store.models import utcnow
from ..sync.invoices import invoice_number
from .base import PushBackend, PushLink

PAGE_SIZE = 3
ITEM_TYPES = {"service": "Service", "non_inventory": "NonInventory", "inventory": "Inventory"}


@dataclass
class Record:
    """One list record of the company (terms, account, item or customer)."""

    id: str
    name: str
    created_at: dt.datetime
    modified_at: dt.datetime
    version: int = 0
    active: bool = True
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Invoice:
    id: str
    number: str
    customer_id: str
    note: str
    txn_date: dt.date
    lines: tuple[tuple[str, Decimal, Decimal], ...]
    total: Decimal
    created_at: dt.datetime
    terms_id: str | None = None
    paid: Decimal = Decimal("0.00")
    voided: bool = False
    modified_at: dt.datetime | None = None

    @property
    def balance(self) -> Decimal:
        return Decimal("0.00") if self.voided else self.total - self.paid


class MemoryCompany:
    """One company: its lists, its invoices, the answers it remembers by request id, and its faults."""

    def __init__(self, clock=utcnow):
        self.clock = clock
        self.lists: dict[ListName, dict[str, Record]] = {name: {} for name in ListName}
        self.invoices: dict[str, Invoice] = {}
        self.answers: dict[str, Any] = {}  # request id -> the answer first given
        self.writes_without_request_id = 0
        self.calls = 0
        self._ids = itertools.count(1)
        self._lost = 0
        self._busy = 0
        self.revoked = False
        # Intuit does not say how long it remembers a request id: a company that forgot them shows
        # whether a lost write is looked up before it is sent again (never a blind resend).
        self.remembers_request_ids = True
        self.lock = threading.RLock()

    # -- what a bookkeeper does in QuickBooks ----------------------------------------------------
    def add(self, list_name: ListName, name: str, *, active: bool = True, **fields: Any) -> str:
        with self.lock:
            now = self.clock()
            record = Record(f"{list_name.value[0].upper()}{next(self._ids)}", name, now, now, active=active,
                            fields=fields)
            self.lists[list_name][record.id] = record
            return record.id

    def change(self, list_name: ListName, record_id: str, **changes: Any) -> None:
        """Edit a record: a new version, modified now (what an incremental pull finds)."""
        with self.lock:
            record = self.lists[list_name][record_id]
            record.name = changes.pop("name", record.name)
            record.active = changes.pop("active", record.active)
            record.fields.update(changes)
            record.version += 1
            record.modified_at = self.clock()

    def next_invoice_number(self) -> str:
        """The company's own numbering, for an invoice sent without a number: one past its highest numeric one."""
        numbers = [int(i.number) for i in self.invoices.values() if i.number.isdigit()]
        return str(max(numbers, default=1000) + 1)

    def invoice_numbered(self, number: str) -> Invoice:
        [invoice] = [i for i in self.invoices.values() if i.number == number]
        return invoice

    def receive_payment(self, invoice_id: str, amount: Decimal) -> None:
        """A payment applied to an invoice; like QuickBooks, never more than it owes."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            if invoice.voided or amount <= 0 or amount > invoice.balance:
                raise ValueError(f"a payment of {amount} cannot be applied to invoice {invoice.number}")
            invoice.paid += amount
            invoice.modified_at = self.clock()

    def void_invoice(self, invoice_id: str) -> None:
        """Void an invoice: it stays, with a zero total (QuickBooks refuses to void a paid one)."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            if invoice.paid:
                raise ValueError(f"invoice {invoice.number} has payments: it cannot be voided")
            invoice.voided, invoice.total = True, Decimal("0.00")
            invoice.modified_at = self.clock()

    def change_invoice_lines(self, invoice_id: str, lines: tuple[tuple[str, Decimal, Decimal], ...]) -> None:
        """A person edits the invoice's lines (item, quantity, price): a new total."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            invoice.lines = lines
            invoice.total = sum((quantity * price for _item, quantity, price in lines), Decimal(0)).quantize(
                Decimal("0.01"))
            invoice.modified_at = self.clock()

    def find(self, list_name: ListName, name: str) -> Record | None:
        return next((r for r in self.lists[list_name].values() if r.name.casefold() == name.casefold()), None)

    # -- faults --------------------------------------------------------------------------------
    def lose_next_answers(self, count: int = 1) -> None:
        """The next ``count`` writes are applied, and their answers never arrive."""
        self._lost += count

    def busy_next(self, count: int = 1) -> None:
        """The next ``count`` calls are throttled before anything is applied."""
        self._busy += count

    def revoke(self, revoked: bool = True) -> None:
        self.revoked = revoked

    # -- mirror rows ---------------------------------------------------------------------------
    def row(self, list_name: ListName, record: Record) -> dict[str, Any]:
        common = {"list_id": record.id, "full_name": record.name, "edit_sequence": str(record.version),
                  "time_modified": record.modified_at, "is_active": record.active}
        if list_name is ListName.TERMS:
            return {**common, "days_due": record.fields.get("days_due")}
        if list_name is ListName.ACCOUNTS:
            return {**common, "account_type": record.fields.get("account_type")}
        if list_name is ListName.ITEMS:
            return {**common, "item_type": record.fields.get("item_type", "Service"), "name": record.name,
                    "manufacturer_part_number": record.fields.get("manufacturer_part_number"),
                    "barcode": record.fields.get("barcode"), "description": record.fields.get("description"),
                    "sales_price": record.fields.get("sales_price")}
        return {**common, "name": record.name, "email": record.fields.get("email"),
                "terms_list_id": record.fields.get("terms_id"), "company_name": record.fields.get("company_name"),
                "parent_list_id": None}


class MemoryBackend(PushBackend):
    kind = "memory"
    limits = Limits(item_name=60, customer_name=60, invoice_number=15, latin1_only=False)
    clock_margin = dt.timedelta(minutes=5)
    item_match_fields = (ItemMatchField.NAME, ItemMatchField.SKU)
    tells_invoice_changes = True

    def __init__(self, clock=utcnow):
        self.clock = clock
        self.companies: dict[int, MemoryCompany] = {}

    def company(self, account_id: int) -> MemoryCompany:
        return self.companies.setdefault(account_id, MemoryCompany(self.clock))

    def link(self, store: Store, settings: Settings, account_id: int) -> PushLink:
        return MemoryLink(self, self.company(account_id))


class MemoryLink(PushLink):
    def __init__(self, backend: MemoryBackend, company: MemoryCompany):
        self.backend = backend
        self.company = company

    def _gate(self) -> RetryLater | NeedsReconnect | None:
        company = self.company
        company.calls += 1
        if company.revoked:
            return NeedsReconnect("QuickBooks no longer accepts the bridge's authorization.")
        if company._busy:
            company._busy -= 1
            return RetryLater(None, "busy", "QuickBooks is busy; the bridge tries again shortly.")
        return None

    def _answer(self, request_id: str, answer):
        """Remember the answer by request id; a lost one is applied all the same and reported as Unconfirmed."""
        if self.company.remembers_request_ids:
            self.company.answers[request_id] = answer
        if self.company._lost:
            self.company._lost -= 1
            return Unconfirmed("The answer was lost.")
        return answer

    # -- reading -------------------------------------------------------------------------------
    def pull_whole_list(self, list_name):
        with self.company.lock:
            refused = self._gate()
            return refused or [self.company.row(list_name, r) for r in self.company.lists[list_name].values()]

    def pull_page(self, pull: ListPull, cursor: str | None):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            records = sorted(self.company.lists[pull.list_name].values(), key=lambda r: r.id)
            if pull.since is not None:
                records = [r for r in records if r.modified_at >= pull.since]
            start = int(cursor or 0)
            page = records[start:start + PAGE_SIZE]
            following = start + PAGE_SIZE if start + PAGE_SIZE < len(records) else None
            return ListPage([self.company.row(pull.list_name, r) for r in page],
                            remaining=max(len(records) - start - len(page), 0),
                            cursor=None if following is None else str(following))

    def look_up(self, list_name: ListName, lookup: RecordLookup):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            found = []
            for record in self.company.lists[list_name].values():
                keys = {(KeyKind.ID, record.id), (KeyKind.NAME, record.name.casefold())}
                if record.fields.get("sku"):
                    keys.add((KeyKind.SKU, record.fields["sku"].casefold()))
                if record.fields.get("email"):
                    keys.add((KeyKind.EMAIL, record.fields["email"].casefold()))
                wanted = {(KeyKind.ID, i) for i in lookup.ids} | {(k, v.casefold()) for k, v in lookup.keys}
                if keys & wanted:
                    found.append(self.company.row(list_name, record))
            return ListPage(found, remaining=0)

    def invoices_changed_since(self, pull: InvoiceChangesPull):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            changed = [i for i in self.company.invoices.values()
                       if pull.since is None or (i.modified_at or i.created_at) >= pull.since]
            return InvoiceStates(tuple(InvoiceState(i.id, i.total, i.balance, i.voided, i.modified_at or i.created_at)
                                       for i in changed))

    def find_created(self, list_name: ListName, spec: NewRecord):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            record = self.company.find(list_name, spec.name)
            return [] if record is None else [{**self.company.row(list_name, record), "created_at": record.created_at}]

    def find_invoices(self, spec: NewInvoice, since: dt.datetime):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            # Asked by our number only when we sent one: QuickBooks' own numbers may equal another order's.
            number = None if spec.number is None else invoice_number(spec.number, MemoryBackend.limits.invoice_number)
            # No external id, as in QuickBooks Online: only the marker in the note proves an invoice ours.
            return [FoundInvoice(i.id, i.number, i.note, None, i.txn_date, i.lines, i.total, i.created_at)
                    for i in self.company.invoices.values()
                    if i.customer_id == spec.customer_id
                    and ((number is not None and i.number == number)
                         or i.created_at >= since - MemoryBackend.clock_margin)]

    # -- writing -------------------------------------------------------------------------------
    def create(self, list_name: ListName, spec: NewRecord, request_id: str):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            if request_id in self.company.answers:
                return self.company.answers[request_id]
            if self.company.find(list_name, spec.name) is not None:
                return self._answer(request_id, Refused(
                    "duplicate", f"The name \u201c{spec.name}\u201d is already used in QuickBooks.",
                    "Create it under another name.", f"Duplicate name: {spec.name}", RefusalReason.DUPLICATE_NAME,
                    field="name"))
            if isinstance(spec, NewItem):
                fields = {"item_type": ITEM_TYPES[spec.kind.value], "description": spec.description,
                          "sales_price": spec.sales_price}
                if spec.sku_place is SkuPlace.SKU:
                    fields["sku"] = spec.sku
            else:
                customer: NewCustomer = spec
                fields = {"email": customer.email, "company_name": customer.company_name}
            record_id = self.company.add(list_name, spec.name, active=spec.active, **fields)
            return self._answer(request_id, Created(self.company.row(list_name, self.company.lists[list_name][record_id])))

    def add_invoice(self, spec: NewInvoice, request_id: str):
        with self.company.lock:
            refused = self._gate()
            if refused:
                return refused
            if request_id in self.company.answers:
                return self.company.answers[request_id]
            checks = [(ListName.CUSTOMERS, spec.customer_id, "customer")]
            checks += [(ListName.ITEMS, line.item_id, "item") for line in spec.lines]
            if spec.terms_id:
                checks.append((ListName.TERMS, spec.terms_id, "terms"))
            for list_name, record_id, noun in checks:
                record = self.company.lists[list_name].get(record_id)
                if record is None or not record.active:
                    return self._answer(request_id, Refused(
                        "invalid_reference", f"QuickBooks no longer has the {noun} this invoice needs (or it is inactive).",
                        f"Make the {noun} active in QuickBooks or pick another match in the bridge.",
                        f"Invalid reference to {noun} {record_id}", RefusalReason.INVALID_REFERENCE,
                        reference=(noun, record_id)))
            number = (self.company.next_invoice_number() if spec.number is None
                      else invoice_number(spec.number, MemoryBackend.limits.invoice_number))
            invoice = Invoice(
                id=f"T{next(self.company._ids)}", number=number,
                customer_id=spec.customer_id, note=spec.note, txn_date=spec.txn_date,
                lines=tuple((line.item_id, line.quantity, line.unit_price) for line in spec.lines),
                total=spec.total.quantize(Decimal("0.01")), created_at=self.company.clock(), terms_id=spec.terms_id)
            self.company.invoices[invoice.id] = invoice
            return self._answer(request_id, Created({"txn_id": invoice.id, "ref_number": invoice.number}))
