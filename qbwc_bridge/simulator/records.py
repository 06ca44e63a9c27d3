"""The records a fake QuickBooks company file holds.

Plain dataclasses, no XML: :mod:`.rets` renders them as qbXML and :mod:`.company`
owns their identity (ListID/TxnID, EditSequence, TimeModified). Money and quantities
are ``Decimal``; names are stored as typed, and QuickBooks compares them ignoring case.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum


class ItemKind(str, Enum):
    """Item kinds the fake holds; the value is the qbXML noun (``Item<value>Ret``)."""

    SERVICE = "Service"
    NON_INVENTORY = "NonInventory"
    INVENTORY = "Inventory"
    OTHER_CHARGE = "OtherCharge"


class EntityKind(str, Enum):
    """Lists sharing QuickBooks' one name namespace (a customer cannot be named like a vendor)."""

    CUSTOMER = "Customer"
    VENDOR = "Vendor"
    EMPLOYEE = "Employee"
    OTHER_NAME = "OtherName"


@dataclass
class Address:
    addr1: str | None = None
    addr2: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def is_empty(self) -> bool:
        return not any(vars(self).values())


@dataclass
class Stamp:
    """Identity and change tracking every QuickBooks object carries."""

    id: str
    time_created: datetime
    time_modified: datetime
    edit_sequence: str


@dataclass
class Account:
    stamp: Stamp
    name: str
    account_type: str
    account_number: str | None = None
    is_active: bool = True


@dataclass
class Terms:
    """Standard terms (``std_due_days``) or date-driven terms (``day_of_month_due``)."""

    stamp: Stamp
    name: str
    std_due_days: int | None = None
    std_discount_days: int | None = None
    discount_pct: Decimal | None = None
    day_of_month_due: int | None = None
    due_next_month_days: int | None = None
    discount_day_of_month: int | None = None
    is_active: bool = True

    @property
    def is_date_driven(self) -> bool:
        return self.day_of_month_due is not None


@dataclass
class Item:
    """An item of any kind we hold.

    Service / non-inventory / other-charge items use exactly one of two forms, as in
    QuickBooks: *sales or purchase* (``description``, ``price``, ``account_id``) or
    *sales and purchase* (``description`` = SalesDesc, ``price`` = SalesPrice,
    ``income_account_id``, ``purchase_*``, ``expense_account_id``). Inventory items
    always carry income, COGS and asset accounts.
    """

    stamp: Stamp
    kind: ItemKind
    name: str
    full_name: str
    parent_id: str | None = None
    sublevel: int = 0
    is_active: bool = True
    sales_and_purchase: bool = False
    description: str | None = None
    price: Decimal | None = None
    account_id: str | None = None
    income_account_id: str | None = None
    purchase_description: str | None = None
    purchase_cost: Decimal | None = None
    expense_account_id: str | None = None
    cogs_account_id: str | None = None
    asset_account_id: str | None = None
    quantity_on_hand: Decimal | None = None
    manufacturer_part_number: str | None = None
    bar_code_value: str | None = None
    external_guid: str | None = None


@dataclass
class Entity:
    """A customer, vendor, employee or other name. Only customers use every field."""

    stamp: Stamp
    kind: EntityKind
    name: str
    full_name: str
    parent_id: str | None = None
    sublevel: int = 0
    is_active: bool = True
    company_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    bill_address: Address = field(default_factory=Address)
    phone: str | None = None
    email: str | None = None
    terms_id: str | None = None
    account_number: str | None = None
    notes: str | None = None
    balance: Decimal = Decimal("0.00")


@dataclass
class InvoiceLine:
    txn_line_id: str
    item_id: str | None
    description: str | None
    quantity: Decimal | None
    rate: Decimal | None
    amount: Decimal


@dataclass
class Invoice:
    stamp: Stamp
    txn_number: int
    customer_id: str
    ar_account_id: str
    txn_date: date
    ref_number: str | None
    bill_address: Address
    po_number: str | None
    terms_id: str | None
    due_date: date | None
    memo: str | None
    is_to_be_printed: bool
    external_guid: str | None
    lines: list[InvoiceLine]
    # Payments received and applied to it (ReceivePayment's AppliedToTxn), in the order they came.
    payments: list[Payment] = field(default_factory=list)

    @property
    def subtotal(self) -> Decimal:
        return money(sum((line.amount for line in self.lines), Decimal("0")))

    @property
    def applied_amount(self) -> Decimal:
        return money(sum((payment.amount for payment in self.payments), Decimal("0")))

    @property
    def balance_remaining(self) -> Decimal:
        return self.subtotal - self.applied_amount


@dataclass(frozen=True)
class Payment:
    """A received payment's part applied to one invoice: the ReceivePayment's TxnID and the amount."""

    txn_id: str
    amount: Decimal


@dataclass(frozen=True)
class Deletion:
    """What QuickBooks remembers of a deleted (or merged-away) record: ListDeletedRet / TxnDeletedRet.

    ``del_type`` is the ListDelType or TxnDelType ("ItemService", "Customer", "Invoice"); ``name``
    the FullName of a list record or the RefNumber of a transaction.
    """

    del_type: str
    id: str
    time_created: datetime
    time_deleted: datetime
    name: str | None


@dataclass
class DataExtension:
    """A private data extension on the company (QBWC stores the .qwc's FileID this way)."""

    owner_id: str
    name: str
    value: str


def money(value: Decimal) -> Decimal:
    """Round to cents as QuickBooks does for amounts (half up)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
