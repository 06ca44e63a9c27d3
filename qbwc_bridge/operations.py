"""The engine's vocabulary: what it asks of any QuickBooks, and what it hears back.

The engine (``sync/``) decides *what* must happen and writes it to the outbox as an
:class:`OperationKind` with a JSON payload built from the specs here, in BlueTrace's
terms (names, SKUs, prices, our ids of QuickBooks records, addresses as line1…country).
A backend (``backends/``) decides *how* each travels - Desktop as qbXML inside Web
Connector sessions, Online as REST calls from a worker - and answers with the results
here, whichever QuickBooks it talks to. Nothing in this module knows a wire format.
"""
from __future__ import annotations

import datetime as dt
import enum
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


class OperationKind(str, enum.Enum):
    """Outbox operation kinds. Values are stored: only ever add."""

    SYNC_TERMS = "sync_terms"  # the whole terms list (small: no paging, no high-water mark)
    SYNC_ACCOUNTS = "sync_accounts"  # the whole chart of accounts
    SYNC_ITEMS = "sync_items"  # a ListPull of items, every kind, inactive included
    SYNC_CUSTOMERS = "sync_customers"  # a ListPull of customers (jobs included)
    RESYNC_ITEM = "resync_item"  # a RecordLookup for one BlueTrace item
    RESYNC_CUSTOMER = "resync_customer"
    CREATE_ITEM = "create_item"  # a NewItem: "Create in QuickBooks"
    CREATE_CUSTOMER = "create_customer"  # a NewCustomer
    INVOICE_ADD = "invoice_add"  # the invoice of one packed order: {"order_id"}
    # A DeletionsPull each: which records QuickBooks deleted (or merged away) since the list's last pull.
    SYNC_ITEM_DELETIONS = "sync_item_deletions"
    SYNC_CUSTOMER_DELETIONS = "sync_customer_deletions"
    SYNC_INVOICE_DELETIONS = "sync_invoice_deletions"
    # An InvoiceChangesPull: how our invoices stand in QuickBooks now (paid, voided, total edited).
    SYNC_INVOICE_CHANGES = "sync_invoice_changes"
    SYNC_TAX_CODES = "sync_tax_codes"  # the company's sales tax codes, whole (only where a backend offers them)


# A query may simply be asked again when its answer is lost; these may not (they could exist twice).
NOT_IDEMPOTENT = frozenset({OperationKind.CREATE_ITEM, OperationKind.CREATE_CUSTOMER, OperationKind.INVOICE_ADD})


class ListName(str, enum.Enum):
    TERMS = "terms"
    ACCOUNTS = "accounts"
    ITEMS = "items"
    CUSTOMERS = "customers"
    TAX_CODES = "tax_codes"  # sales tax codes: a small list, pulled only from a QuickBooks that has them


class Delivery(str, enum.Enum):
    """How work reaches a QuickBooks: it comes to us (Web Connector) or we go to it (a worker)."""

    PULL = "pull"
    PUSH = "push"


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _datetime(value: str | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromisoformat(value)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# ----------------------------------------------------------------------------- what the engine asks
@dataclass(frozen=True)
class ListPull:
    """Pull one list: everything (``since`` None) or what changed since a moment, inactive included.

    ``started_at`` is our clock when the pull was decided; with the newest modification time
    seen it bounds what may have changed while the pull ran (see ``sync.pulls``).
    """

    list_name: ListName
    mode: str  # "initial" | "incremental"
    since: dt.datetime | None
    started_at: dt.datetime

    def to_payload(self) -> dict[str, Any]:
        return {"list": self.list_name.value, "mode": self.mode, "since": _iso(self.since),
                "started_at": _iso(self.started_at)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "ListPull":
        return cls(ListName(payload["list"]), payload["mode"], _datetime(payload.get("since")),
                   _datetime(payload["started_at"]))


class Deletable(str, enum.Enum):
    """What a deletions pull asks about: a mirrored list, or the invoices we created."""

    ITEMS = "items"
    CUSTOMERS = "customers"
    INVOICES = "invoices"


@dataclass(frozen=True)
class DeletionsPull:
    """Ask which records of one kind QuickBooks deleted (or merged away) since a moment (None: ever).

    Queued beside each incremental pull with the same ``since`` (the high-water mark minus the
    overlap), so a deletion is seen no later than a modification made at the same time.
    """

    subject: Deletable
    since: dt.datetime | None

    def to_payload(self) -> dict[str, Any]:
        return {"subject": self.subject.value, "since": _iso(self.since)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "DeletionsPull":
        return cls(Deletable(payload["subject"]), _datetime(payload.get("since")))


@dataclass(frozen=True)
class InvoiceChangesPull:
    """Ask for the invoices QuickBooks modified since a moment, with their state (total, balance, voided).

    Queued beside each incremental pull of customers (see ``sync.incremental``): a payment, a void
    or an edit made in QuickBooks modifies the invoice, so it is read back no later than a few
    minutes after. Whose invoices they are is the engine's business: a backend answers for every
    invoice modified in the window, and the engine keeps only the ones it created.
    """

    since: dt.datetime | None

    def to_payload(self) -> dict[str, Any]:
        return {"since": _iso(self.since)}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "InvoiceChangesPull":
        return cls(_datetime(payload.get("since")))


class KeyKind(str, enum.Enum):
    """What a look-up key is: QuickBooks' own id of a record, or a value matching compares."""

    ID = "id"
    NAME = "name"
    SKU = "sku"
    EMAIL = "email"


@dataclass(frozen=True)
class RecordLookup:
    """Ask QuickBooks again for the records one BlueTrace record may match ("Re-sync").

    ``ids`` are QuickBooks ids to re-read; ``keys`` the values (a SKU, a name, an email) a
    record matching it would carry. A backend asks what its QuickBooks can answer.
    """

    record_id: str  # the BlueTrace item_id / customer_id
    ids: tuple[str, ...] = ()
    keys: tuple[tuple[KeyKind, str], ...] = ()

    def values(self, kind: KeyKind) -> list[str]:
        return [value for key, value in self.keys if key is kind]

    def to_payload(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "ids": list(self.ids),
                "keys": [[kind.value, value] for kind, value in self.keys]}

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "RecordLookup":
        return cls(payload["record_id"], tuple(payload.get("ids", ())),
                   tuple((KeyKind(kind), value) for kind, value in payload.get("keys", ())))


class ItemKind(str, enum.Enum):
    SERVICE = "service"
    NON_INVENTORY = "non_inventory"
    INVENTORY = "inventory"


class SkuPlace(str, enum.Enum):
    """Where a created item carries its SKU, so that matching finds it afterwards (the Items tab's choice)."""

    NAME = "name"  # the SKU is the QuickBooks name
    SKU = "sku"  # QuickBooks Online's Sku field
    MANUFACTURER_PART_NUMBER = "manufacturer_part_number"
    BARCODE = "barcode"


@dataclass(frozen=True)
class NewItem:
    """Create an item for one BlueTrace item ("Create in QuickBooks").

    Accounts are our ids of mirrored QuickBooks accounts (the General tab's choices);
    ``expense_account_id`` is the cost of goods sold account of an inventory item.
    """

    record_id: str
    name: str
    kind: ItemKind
    sku: str
    sku_place: SkuPlace
    description: str | None
    sales_price: Decimal | None
    purchase_cost: Decimal | None
    income_account_id: str
    expense_account_id: str
    asset_account_id: str | None = None  # inventory items only
    active: bool = True

    def to_payload(self) -> dict[str, Any]:
        payload = asdict(self)
        payload.update(kind=self.kind.value, sku_place=self.sku_place.value, sales_price=_money(self.sales_price),
                       purchase_cost=_money(self.purchase_cost))
        return payload

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "NewItem":
        values = dict(payload)
        values.update(kind=ItemKind(payload["kind"]), sku_place=SkuPlace(payload["sku_place"]),
                      sales_price=_decimal(payload.get("sales_price")),
                      purchase_cost=_decimal(payload.get("purchase_cost")))
        return cls(**{key: values[key] for key in cls.__dataclass_fields__ if key in values})


ADDRESS_FIELDS = ("line1", "line2", "line3", "line4", "line5", "city", "state", "postal_code", "country")


def address(value: dict[str, Any] | None) -> dict[str, str] | None:
    """BlueTrace's address shape with nothing else in it, or None when it holds nothing."""
    if not value:
        return None
    kept = {key: str(value[key]) for key in ADDRESS_FIELDS if value.get(key)}
    return kept or None


@dataclass(frozen=True)
class NewCustomer:
    """Create a customer for one BlueTrace customer ("Create in QuickBooks")."""

    record_id: str
    name: str
    active: bool = True
    company_name: str | None = None
    email: str | None = None
    phone: str | None = None
    bill_address: dict[str, str] | None = None
    ship_address: dict[str, str] | None = None

    def to_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> "NewCustomer":
        return cls(**{key: payload[key] for key in cls.__dataclass_fields__ if key in payload})


NewRecord = NewItem | NewCustomer


def new_record_from_payload(kind: OperationKind, payload: dict[str, Any]) -> NewRecord:
    return NewItem.from_payload(payload) if kind is OperationKind.CREATE_ITEM else NewCustomer.from_payload(payload)


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice; ``amount`` is exact, :func:`line_amount` what QuickBooks keeps."""

    item_id: str  # our id of the mirrored QuickBooks item
    description: str | None
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """A line's amount as QuickBooks keeps (and checks) it: quantity × unit price rounded half up to the cent."""
    return (quantity * unit_price).quantize(Decimal("0.01"), ROUND_HALF_UP)


@dataclass(frozen=True)
class NewInvoice:
    """The invoice of one packed order, in BlueTrace's terms.

    ``number`` is the order number as BlueTrace has it; each backend shortens it to what its
    QuickBooks holds. None: QuickBooks numbers the invoice itself (General tab), so the backend
    sends no number, reports the one QuickBooks gave, and never looks an invoice up by a number.
    ``marker`` is the text that proves an invoice ours (the account's token and the order id);
    ``guid`` a stable id of the order for QuickBooks that can store one.
    """

    order_id: str
    customer_id: str  # our id of the mirrored QuickBooks customer
    txn_date: dt.date
    number: str | None
    marker: str
    note: str  # the marker first, then the order's own memo
    guid: str
    lines: tuple[InvoiceLine, ...]
    bill_address: dict[str, str] | None = None
    ship_address: dict[str, str] | None = None
    po_number: str | None = None
    terms_id: str | None = None  # only when the customer has no terms of its own
    # The account's sales tax code (our id of a mirrored one), for the backend to put on every line where
    # its QuickBooks needs one; a QuickBooks that works tax out itself ignores it.
    tax_code_id: str | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


# ----------------------------------------------------------------------------- what comes back
@dataclass
class ListPage:
    """One page of a pull: mirror rows (the columns of ``QbItem`` / ``QbCustomer`` but the account).

    ``cursor`` is the backend's own note of where the next page starts (None: this was the last);
    ``remaining`` how many records it still holds for the pull, when it can tell.
    """

    rows: list[dict[str, Any]]
    remaining: int | None = 0
    cursor: str | None = None


@dataclass(frozen=True)
class Gone:
    """QuickBooks no longer holds these records (deleted, or merged into another): their ids.

    For items and customers the ids are ListIDs; for invoices, TxnIDs. A merge reports the
    merged-away record here; the survivor arrives as an ordinary modification.
    """

    subject: Deletable
    ids: tuple[str, ...]


@dataclass(frozen=True)
class InvoiceState:
    """How one invoice stands in QuickBooks now, in money (Decimal, to the cent).

    ``total`` is QuickBooks' total (a person may have edited the lines), ``balance`` what is still
    owed; a voided invoice keeps its id with a zero total. ``modified_at`` is QuickBooks' own clock.
    """

    id: str
    total: Decimal
    balance: Decimal
    voided: bool
    modified_at: dt.datetime | None = None


@dataclass(frozen=True)
class InvoiceStates:
    """The answer to an :class:`InvoiceChangesPull`: every invoice modified in the window (ours or not)."""

    invoices: tuple[InvoiceState, ...]

    @property
    def newest(self) -> dt.datetime | None:
        return max((state.modified_at for state in self.invoices if state.modified_at), default=None)


@dataclass(frozen=True)
class Created:
    """QuickBooks saved a new record: its row for the mirror (its id, its version, ...)."""

    row: dict[str, Any]

    @property
    def list_id(self) -> str:
        return self.row["list_id"]


class RefusalReason(str, enum.Enum):
    DUPLICATE_NAME = "duplicate_name"  # the name is taken (inactive and other lists included)
    TEXT_NOT_ALLOWED = "text_not_allowed"  # a character this QuickBooks cannot store
    TOO_LONG = "too_long"
    INVALID_REFERENCE = "invalid_reference"  # a customer, item, account or terms it no longer accepts
    DUPLICATE_NUMBER = "duplicate_number"
    CLOSED_PERIOD = "closed_period"
    SUBSCRIPTION_ENDED = "subscription_ended"
    VALIDATION = "validation"  # QuickBooks' own business rule, its words quoted
    SETTING_NEEDED = "setting_needed"  # the company needs a setting the account lacks; the action names it
    OUR_BUG = "our_bug"  # the request was malformed: report, never retry
    OTHER = "other"


# Refused.code when a QuickBooks needs a sales tax code on every line and the account has chosen none
# (reason SETTING_NEEDED): the engine keeps such an order blocked until the tax code is set.
TAX_CODE_NEEDED = "tax_code"


@dataclass(frozen=True)
class Refused:
    """QuickBooks would not do it, and asking again unchanged will not help.

    ``code`` is QuickBooks' own code as text (kept for support and the API), ``field`` the
    field at fault when known, ``reference`` the (kind, QuickBooks id) it refused.
    """

    code: str
    explanation: str  # plain words for a bookkeeper
    action: str
    quickbooks_message: str = ""
    reason: RefusalReason = RefusalReason.OTHER
    field: str | None = None
    max_length: int | None = None
    reference: tuple[str, str] | None = None

    @property
    def duplicate_name(self) -> bool:
        return self.reason is RefusalReason.DUPLICATE_NAME


@dataclass(frozen=True)
class RetryLater:
    """QuickBooks is busy, locked or throttling: the same request goes again, not before ``after``."""

    after: dt.datetime | None
    code: str
    explanation: str


@dataclass(frozen=True)
class Unconfirmed:
    """No trustworthy answer: QuickBooks may or may not have done it. Look it up before anything else."""

    explanation: str = ""


@dataclass(frozen=True)
class FoundInvoice:
    """An invoice a look-up found in QuickBooks, in the engine's terms, for the verdict "is it ours?"."""

    id: str
    number: str | None
    note: str  # the free text our marker is written into (Memo / PrivateNote)
    guid: str | None  # the external id QuickBooks stored, when it can store one
    txn_date: dt.date | None
    lines: tuple[tuple[str, Decimal, Decimal], ...]  # (item id, quantity, unit price)
    total: Decimal | None
    created_at: dt.datetime | None


@dataclass(frozen=True)
class NeedsReconnect:
    """QuickBooks no longer accepts our authorization: work pauses until a person connects again."""

    explanation: str
    action: str = "Click Reconnect on the integration page and approve the connection in QuickBooks."


WriteOutcome = Created | Refused | RetryLater | Unconfirmed | NeedsReconnect


@dataclass(frozen=True)
class Limits:
    """What one QuickBooks can store, stated by its backend so the engine refuses early in plain words."""

    item_name: int
    customer_name: int
    invoice_number: int
    latin1_only: bool  # Desktop stores Latin-1 text only; Online takes Unicode

    def name_limit(self, list_name: ListName) -> int:
        return self.item_name if list_name is ListName.ITEMS else self.customer_name

