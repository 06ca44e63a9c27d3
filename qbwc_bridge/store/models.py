"""Typed SQLAlchemy 2.0 models: the one store both backends, the API and the admin share.

Everything the service knows lives here, never in process memory, so several server
processes behind a load balancer can serve alternate calls of one Web Connector session.
Timestamps are stored as naive UTC (SQLite has no time zones) and come back aware.
"""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, validates

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
#: The largest id of accounts, users and sessions (INTEGER on PostgreSQL): a larger one sent
#: to the database is an error, not "no such row", so callers refuse it first.
MAX_ID = 2**31 - 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (stored naive, in UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: use aware UTC datetimes")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def bind_processor(self, dialect):
        """On SQLite, one call per value where SQLAlchemy's chain makes three and formats through a dict.

        An initial sync binds a timestamp for every mirrored record (100k of them a list):
        the chain cost twice what the text itself does. The shortcut is taken only when it
        writes exactly what the chain writes (SQLite's default storage format).
        """
        chain = super().bind_processor(dialect)
        if dialect.name != "sqlite" or chain is None or chain(_PROBE_TIME) != _sqlite_text(_PROBE_TIME):
            return chain
        return _sqlite_text

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


_PROBE_TIME = dt.datetime(2024, 2, 29, 23, 59, 58, 7, tzinfo=dt.timezone(dt.timedelta(hours=-5)))


def _sqlite_text(value: dt.datetime | None) -> str | None:
    """An aware datetime as SQLite's DATETIME stores it: naive UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store: use aware UTC datetimes")
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


JsonType = JSON().with_variant(JSONB(), "postgresql")


class ExactDecimal(TypeDecorator):
    """Money kept exact: NUMERIC(20, 5) on PostgreSQL, decimal text on SQLite.

    SQLite has no decimal type and would round NUMERIC values through a float
    (123456789012345.12345 comes back as ...12500), so there the digits are stored as text.
    """

    impl = Numeric(20, 5)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(20, 5))

    def process_bind_param(self, value: Decimal | None, dialect) -> Decimal | str | None:
        if value is None:
            return None
        return str(Decimal(value)) if dialect.name == "sqlite" else Decimal(value)

    def process_result_value(self, value, dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


def search_key_type(length: int):
    """A lower-cased copy of a column, for indexed prefix search.

    PostgreSQL gets the "C" collation so that byte order is code-point order: a prefix
    search then becomes a plain index range (``key >= 'abc' AND key < 'abd'``) on both
    backends, whatever locale the cluster was created with.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def search_key(value: str | None, length: int) -> str | None:
    """The search-key form of ``value``: trimmed, lower-cased, cut to the column; None when blank."""
    if value is None:
        return None
    key = value.strip().lower()[:length]
    return key or None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JsonType}


class AccountKind(str, enum.Enum):
    DESKTOP = "desktop"
    ONLINE = "online"
    MEMORY = "memory"  # the in-package push backend (backends/memory.py): contract suite and support rehearsals


class ConnectionStatus(str, enum.Enum):
    NOT_CONNECTED = "not_connected"  # created, no Web Connector contact yet
    CONNECTING = "connecting"  # initial sync under way
    CONNECTED = "connected"
    ERROR = "error"  # the last session failed; status_message says why


class Installation(Base):
    """Facts about this deployment: one row. OwnerID identifies our app to QuickBooks."""

    __tablename__ = "installation"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(38))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Account(Base):
    """One BlueTrace account linked to one QuickBooks company, with its General-tab settings."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    api_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    file_id: Mapped[str] = mapped_column(String(38), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.NOT_CONNECTED.value)
    status_message: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    # What to do about the error, in the words of the backend that met it (the engine's own codes have theirs).
    error_action: Mapped[str | None] = mapped_column(Text)
    error_at: Mapped[dt.datetime | None]
    last_contact_at: Mapped[dt.datetime | None]
    company_name: Mapped[str | None] = mapped_column(String(200))
    company_file_name: Mapped[str | None] = mapped_column(Text)
    qbxml_version: Mapped[str | None] = mapped_column(String(10))

    # General, Items and Customers tab settings (ListIDs of the mirrored QuickBooks lists).
    default_terms_id: Mapped[str | None] = mapped_column(String(40))
    ar_account_id: Mapped[str | None] = mapped_column(String(40))
    ap_account_id: Mapped[str | None] = mapped_column(String(40))
    invoice_creation: Mapped[bool] = mapped_column(Boolean, default=False)
    items_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    customers_sync: Mapped[bool] = mapped_column(Boolean, default=False)
    item_match_field: Mapped[str] = mapped_column(String(40), default="name")
    # An InvoiceNumbering value; the server default lets rows from before migration 0014 read "order_number".
    invoice_numbering: Mapped[str] = mapped_column(String(20), default="order_number", server_default="order_number")

    credential: Mapped["WebConnectorCredential | None"] = relationship(back_populates="account", uselist=False)

    # The sales tax code put on every invoice line, where the company needs one (QuickBooks Online
    # outside the US): the id of a mirrored QbTaxCode, chosen on the General tab.
    tax_code_id: Mapped[str | None] = mapped_column(String(40))
    # The company's country as QuickBooks states it (CompanyInfo.Country), read by the sync; None until known.
    company_country: Mapped[str | None] = mapped_column(String(40))
    # Live mode (Desktop): minutes a Web Connector session that has finished its work stays open, asking
    # every ~5 s for new work; 0 = off. The server default lets rows from before migration 0018 read off.
    live_mode_minutes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Until when the schedule has nothing to queue for this account (see sync/schedule.py's quiet): a poll
    # before then, finding no work queued and no session open, is answered from one read. None: look in full.
    plan_due_at: Mapped[dt.datetime | None]


class WebConnectorCredential(Base):
    """The username in the .qwc and the password the bookkeeper types into QBWC (hashed)."""

    __tablename__ = "wc_credentials"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    password_set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship(back_populates="credential")


class SessionState(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    SUPERSEDED = "superseded"  # the Web Connector authenticated again: this one was abandoned
    EXPIRED = "expired"
    REVOKED = "revoked"  # its password was reset: whoever holds the ticket is refused, even its late answers


class WebConnectorSession(Base):
    """One Web Connector session. The ticket itself is never stored, only its SHA-256."""

    __tablename__ = "wc_sessions"
    # Retention: finished sessions by age (open sessions have none).
    __table_args__ = (Index("ix_wc_sessions_closed_at", "closed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    ticket_hash: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=SessionState.OPEN.value)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    company_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    company_file_name: Mapped[str | None] = mapped_column(Text)
    qbxml_version: Mapped[str | None] = mapped_column(String(10))
    last_error: Mapped[str | None] = mapped_column(Text)
    fatal_error: Mapped[bool] = mapped_column(Boolean, default=False)
    round_trips: Mapped[int] = mapped_column(Integer, default=0)
    noops: Mapped[int] = mapped_column(Integer, default=0)
    operations_done: Mapped[int] = mapped_column(Integer, default=0)
    operations_failed: Mapped[int] = mapped_column(Integer, default=0)
    in_flight: Mapped[dict[str, Any] | None]  # {"request_ids": {...}} of the message set QBWC holds
    # Live mode: until when this session, once out of work, keeps answering NoOp (set when it first runs out
    # of work; moved to now when live mode must stop: QuickBooks reported another user needs the data).
    live_until: Mapped[dt.datetime | None]


class OperationState(str, enum.Enum):
    PENDING = "pending"  # waiting for the next session (or for not_before)
    SENT = "sent"  # inside a message set QBWC holds now
    UNCONFIRMED = "unconfirmed"  # sent, but the response never came: look before resending
    DONE = "done"
    FAILED = "failed"  # a person or a developer must act; not retried


class OutboxOperation(Base):
    """One thing QuickBooks must be asked to do, durable before anyone is told 'accepted'."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        Index("ix_outbox_ready", "account_id", "state", "priority", "id"),
        # The newest operation of a kind (how each list pull stands) without scanning every invoice.
        Index("ix_outbox_kind", "account_id", "kind", "id"),
        # What waits, by kind and age, across every account (the metrics scrape).
        Index("ix_outbox_waiting", "state", "kind", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16), default=OperationState.PENDING.value)
    priority: Mapped[int] = mapped_column(Integer, default=100)
    depends_on_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    request_id: Mapped[str | None] = mapped_column(String(50))
    not_before: Mapped[dt.datetime | None]
    # Sticky "QuickBooks may already hold this": set whenever a non-idempotent operation's outcome is
    # unknown, cleared only when a look-up has answered. Every detour (an HRESULT, a lock, a backoff, a
    # lost look-up) keeps it, so the operation is never resent blind.
    verify_first: Mapped[bool] = mapped_column(Boolean, default=False)
    result: Mapped[dict[str, Any] | None]
    error_code: Mapped[str | None] = mapped_column(String(40))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class _QbListRecord:
    """Columns every mirrored QuickBooks list record has."""

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    list_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(400))
    edit_sequence: Mapped[str | None] = mapped_column(String(20))
    time_modified: Mapped[dt.datetime | None]
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class QbTerms(_QbListRecord, Base):
    __tablename__ = "qb_terms"
    days_due: Mapped[int | None] = mapped_column(Integer)


class QbAccount(_QbListRecord, Base):
    __tablename__ = "qb_accounts"
    account_type: Mapped[str | None] = mapped_column(String(40))


class QbItem(_QbListRecord, Base):
    __tablename__ = "qb_items"
    __table_args__ = (
        Index("ix_qb_items_name", "account_id", "name"),
        Index("ix_qb_items_mpn", "account_id", "manufacturer_part_number"),
        Index("ix_qb_items_barcode", "account_id", "barcode"),
        Index("ix_qb_items_sku", "account_id", "sku"),
    )
    item_type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(100))
    manufacturer_part_number: Mapped[str | None] = mapped_column(String(100))
    barcode: Mapped[str | None] = mapped_column(String(100))
    sku: Mapped[str | None] = mapped_column(String(100))  # QuickBooks Online's Sku
    description: Mapped[str | None] = mapped_column(Text)
    sales_price: Mapped[Decimal | None] = mapped_column(Numeric(20, 5))


class QbCustomer(_QbListRecord, Base):
    __tablename__ = "qb_customers"
    __table_args__ = (Index("ix_qb_customers_name", "account_id", "full_name"),)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(1100))
    terms_list_id: Mapped[str | None] = mapped_column(String(40))
    company_name: Mapped[str | None] = mapped_column(String(100))
    # A job (sub-customer) usually repeats its parent's Email: matching prefers the parent.
    parent_list_id: Mapped[str | None] = mapped_column(String(40))


class ExchangeLogEntry(Base):
    """What crossed the wire in a session, secrets redacted, for support staff."""

    __tablename__ = "exchange_log"
    __table_args__ = (
        Index("ix_exchange_log_session", "account_id", "session_id", "id"),
        # Retention deletes by age, and the ON DELETE CASCADE of a pruned session finds its entries.
        Index("ix_exchange_log_at", "at"),
        Index("ix_exchange_log_session_id", "session_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("wc_sessions.id", ondelete="CASCADE"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    operation: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(4))  # "in" from QBWC, "out" to QBWC
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)


class UserRole(str, enum.Enum):
    BOOKKEEPER = "bookkeeper"
    SUPPORT = "support"


class User(Base):
    """A person who logs into the admin: a bookkeeper of one account, or support staff."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Admin sessions are signed cookies: logging out (or being disabled) ends every session started before this.
    sessions_revoked_at: Mapped[dt.datetime | None]
    # A disabled user cannot log in; the row stays, so the exchange log and audit keep their names.
    disabled_at: Mapped[dt.datetime | None]


class LoginKind(str, enum.Enum):
    WEB_CONNECTOR = "web_connector"
    ADMIN = "admin"


class LoginThrottle(Base):
    """Wrong passwords for one login from one source address, and the lock they earned.

    Counted per source, not per login: usernames are predictable (``bt-<account>``), so a lock
    on the login itself would let anyone keep a customer's Web Connector out for good. Rows
    exist for unknown logins too, so that they cost and behave exactly like known ones.
    """

    __tablename__ = "login_throttles"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    login: Mapped[str] = mapped_column(String(320), primary_key=True)
    source: Mapped[str] = mapped_column(String(45), primary_key=True)  # an IPv6 address in text is at most 45
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    last_failed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SyncCursor(Base):
    """Where the sync of one QuickBooks list stands: initial pull finished, and its high-water mark.

    The mark is QuickBooks' own TimeModified of the newest record seen, never our clock,
    so a skewed PC clock cannot make us skip changes.
    """

    __tablename__ = "sync_cursors"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    list_name: Mapped[str] = mapped_column(String(20), primary_key=True)  # terms|accounts|items|customers
    initial_done: Mapped[bool] = mapped_column(Boolean, default=False)
    high_water_mark: Mapped[dt.datetime | None]
    records_seen: Mapped[int] = mapped_column(Integer, default=0)
    total_hint: Mapped[int | None] = mapped_column(Integer)  # from iteratorRemainingCount, for progress
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ListCount(Base):
    """How many rows one account has in ``bt_items`` or ``bt_customers``, kept by the database itself.

    Triggers on those tables (migration 0006) add and subtract in the same transaction as
    the insert or delete, whatever wrote it (ORM, bulk insert, cascade), so the number is
    exact and the status panel never counts 100k rows to show it. A migration that rebuilds
    either table on SQLite (``batch_alter_table``) drops its triggers and must create them
    again (``0006.create_count_triggers``); tests/integration/test_list_counts.py checks that they are there.
    """

    __tablename__ = "list_counts"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    list_name: Mapped[str] = mapped_column(String(20), primary_key=True)  # the table: bt_items | bt_customers
    total: Mapped[int] = mapped_column(Integer, default=0)


class _MatchState:
    """How a BlueTrace record stands against QuickBooks (see qbwc_bridge.domain)."""

    qb_list_id: Mapped[str | None] = mapped_column(String(40))  # the matched QuickBooks record
    matched_by: Mapped[str | None] = mapped_column(String(10))  # MatchedBy: auto | manual | created
    issue: Mapped[str | None] = mapped_column(String(30))  # IssueType, None when matched (issues show whether sync is on or off)
    issue_detail: Mapped[dict[str, Any] | None]  # candidates, the QuickBooks message, ...
    pending: Mapped[str | None] = mapped_column(String(20))  # PendingAction: creating | resyncing
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BtItem(_MatchState, Base):
    """A BlueTrace item as BlueTrace's backend last sent it, and its QuickBooks match."""

    __tablename__ = "bt_items"
    __table_args__ = (
        UniqueConstraint("account_id", "sku"),
        Index("ix_bt_items_issue", "account_id", "issue", "item_id"),
        Index("ix_bt_items_qb", "account_id", "qb_list_id"),
        Index("ix_bt_items_sku_key", "account_id", "sku_key"),
        Index("ix_bt_items_name_key", "account_id", "name_key"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    sku: Mapped[str | None] = mapped_column(String(100))  # trimmed; None when blank
    name: Mapped[str] = mapped_column(String(400))
    description: Mapped[str | None] = mapped_column(Text)
    sales_price: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    purchase_cost: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    kind: Mapped[str] = mapped_column(String(20), default="non_inventory")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Lower-cased copies for indexed prefix search (kept in step by the validator below).
    sku_key: Mapped[str | None] = mapped_column(search_key_type(100))
    name_key: Mapped[str | None] = mapped_column(search_key_type(400))

    @validates("sku", "name")
    def _keep_search_keys(self, attribute: str, value: str | None) -> str | None:
        if attribute == "sku":
            self.sku_key = search_key(value, 100)
        else:
            self.name_key = search_key(value, 400)
        return value


class BtCustomer(_MatchState, Base):
    """A BlueTrace customer as BlueTrace's backend last sent it, and its QuickBooks match."""

    __tablename__ = "bt_customers"
    __table_args__ = (
        Index("ix_bt_customers_issue", "account_id", "issue", "customer_id"),
        Index("ix_bt_customers_email", "account_id", "email_key"),
        Index("ix_bt_customers_qb", "account_id", "qb_list_id"),
        Index("ix_bt_customers_name_key", "account_id", "name_key"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    company_name: Mapped[str | None] = mapped_column(String(400))
    billing_email: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(search_key_type(320))  # trimmed, lower-case billing email
    phone: Mapped[str | None] = mapped_column(String(60))
    bill_address: Mapped[dict[str, Any] | None]
    ship_address: Mapped[dict[str, Any] | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    name_key: Mapped[str | None] = mapped_column(search_key_type(400))  # lower-cased name, for search

    @validates("name", "billing_email")
    def _keep_search_keys(self, attribute: str, value: str | None) -> str | None:
        if attribute == "name":
            self.name_key = search_key(value, 400)
        else:
            self.email_key = search_key(value, 320)
        return value


class PackedOrder(Base):
    """A packed-order event from BlueTrace and the invoice it becomes (Invoices tab row)."""

    __tablename__ = "packed_orders"
    __table_args__ = (
        Index("ix_packed_orders_status", "account_id", "status", "updated_at"),
        # Invoices by status across every account (the metrics scrape), counted from the index alone.
        Index("ix_packed_orders_by_status", "status"),
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_number: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]]
    payload_hash: Mapped[str] = mapped_column(String(64))  # canonical JSON SHA-256: same event or a 409
    status: Mapped[str] = mapped_column(String(20))  # InvoiceStatus
    action: Mapped[str | None] = mapped_column(Text)  # what a person must do, when blocked/failed
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(40))
    txn_id: Mapped[str | None] = mapped_column(String(40))
    ref_number: Mapped[str | None] = mapped_column(String(21))  # the longest: an Online DocNumber
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # How the invoice stands in QuickBooks, as the invoice-state pull last heard (sync.invoice_states):
    # None until QuickBooks first reports it changed. QuickBooks' total, not ours: a person may edit it there.
    qb_total: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    qb_balance: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    paid: Mapped[str | None] = mapped_column(String(10))  # PaidStatus: fully | partly | not
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    qb_modified_at: Mapped[dt.datetime | None]  # QuickBooks' own time of the state held


class WorkerLease(Base):
    """Which worker drives one push (QuickBooks Online) account now, and until when (see qbwc_bridge.leases).

    One row per account being driven; no row means nobody is. ``expires_at`` is pushed forward
    while the holder works (a heartbeat): a row past it belongs to a worker that died.
    """

    __tablename__ = "worker_leases"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))  # host:pid:random of one worker (see leases.new_holder)
    acquired_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]


class WebhookEndpoint(Base):
    """Where one account's webhook events go (one endpoint per account), and the secret that signs them.

    The secret must be recoverable to sign, so it is stored sealed (encrypted, see
    qbwc_bridge.webhooks.sealed_secret), never hashed and never in plain text.
    """

    __tablename__ = "webhook_endpoints"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[str]] = mapped_column(JsonType)
    secret_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeliveryState(str, enum.Enum):
    PENDING = "pending"  # not yet answered 2xx; next_attempt_at says when it is tried (again)
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the retry window, or the endpoint was removed


class WebhookDelivery(Base):
    """One webhook event and its delivery: the durable queue the deliverer drains (qbwc_bridge.webhooks).

    ``body`` is the exact JSON text sent (and signed) on every attempt. ``order_key`` groups the
    events that must arrive in order (one order's, one record's): a later one waits while an
    earlier one of its key is pending.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The deliverer's claim: pending events due now, oldest first.
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at", "id"),
        # "Is an earlier event of this order still pending?"
        Index("ix_webhook_deliveries_order", "account_id", "order_key", "state", "id"),
        # GET /webhook/deliveries, newest first; the support view's failing endpoints.
        Index("ix_webhook_deliveries_account", "account_id", "id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[dt.datetime]
    body: Mapped[str] = mapped_column(Text)
    order_key: Mapped[str] = mapped_column(String(220))
    state: Mapped[str] = mapped_column(String(16), default=DeliveryState.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_attempt_at: Mapped[dt.datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status, None when none came
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None]


class QboConnection(Base):
    """An account's link to one QuickBooks Online company (realm): the OAuth tokens, encrypted.

    Tokens are only ever stored encrypted (:mod:`qbwc_bridge.token_keys`). The row is also
    the lock that serialises token refreshes for its company across processes.
    """

    __tablename__ = "qbo_connections"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    realm_id: Mapped[str] = mapped_column(String(32), unique=True)  # one company, one account
    environment: Mapped[str] = mapped_column(String(16))  # production | sandbox
    company_name: Mapped[str | None] = mapped_column(String(200))
    access_token_enc: Mapped[str] = mapped_column(Text)
    access_expires_at: Mapped[dt.datetime]
    refresh_token_enc: Mapped[str] = mapped_column(Text)
    # When the person must consent again (the refresh token's expiry): authorization_expires_at.
    refresh_expires_at: Mapped[dt.datetime]
    connected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    refreshed_at: Mapped[dt.datetime | None]


class OAuthState(Base):
    """An OAuth ``state`` handed to Intuit's consent page: single use, bound to an account, short-lived.

    Only its SHA-256 is stored, like Web Connector tickets: reading the table does not let
    anyone complete someone else's connect.
    """

    __tablename__ = "oauth_states"
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]


class DesktopSend(Base):
    """QuickBooks Desktop's own facts about an outbox operation it has handed out.

    The outbox is every backend's; these columns only mean something to the Web Connector:
    the session whose message set carried the operation (how a crashed or late session finds
    what it held) and whether the operation must go alone (QuickBooks could not parse a set it
    was in). Only ``backends/desktop`` and retention read or write it.
    """

    __tablename__ = "desktop_sends"
    outbox_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True
    )
    # Indexed: a session's operations, retention's "still referenced" check, and what PostgreSQL's
    # ON DELETE SET NULL looks up when a session is pruned.
    session_id: Mapped[int | None] = mapped_column(ForeignKey("wc_sessions.id", ondelete="SET NULL"), index=True)
    send_alone: Mapped[bool] = mapped_column(Boolean, default=False)


class QbTaxCode(_QbListRecord, Base):
    """A sales tax code of the company (QuickBooks Online's TaxCode: VAT or GST outside the US)."""

    __tablename__ = "qb_tax_codes"
    description: Mapped[str | None] = mapped_column(String(400))
