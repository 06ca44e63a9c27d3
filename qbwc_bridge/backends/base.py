"""What every QuickBooks backend is: the facts it states and the work it can carry.

The engine (``sync/``) speaks the vocabulary of :mod:`qbwc_bridge.operations` and asks
``backends.for_account(account)`` which backend carries an account's work. Each backend
states its facts here (django-anymail's template method: the base class holds the
common behaviour, a backend fills in what differs):

* ``delivery``: **pull** (Desktop: nothing travels until the Web Connector comes to us; the
  backend drains the outbox inside its sessions) or **push** (Online: a worker goes out
  and drives the outbox through :class:`PushLink`, see ``backends.push``);
* ``limits``: what its QuickBooks can store, so the engine refuses early in plain words;
* ``check_new_record``: the full check of a creation before it is queued.

A push backend's :class:`PushLink` answers each operation with the engine's neutral
results (``Created``, ``Refused``, ``RetryLater``, ``Unconfirmed``, ``NeedsReconnect``);
the driver in ``backends.push`` hands them to the engine. A pull backend has its own
two-phase conversation (build a request now, read its answer in a later HTTP call) and
reports to the same engine functions.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from ..config import Settings
from ..domain import ItemMatchField
from ..errors import DataError
from ..operations import (
    DeletionsPull,
    Delivery,
    FoundInvoice,
    Gone,
    InvoiceChangesPull,
    InvoiceStates,
    KeyKind,
    ListName,
    ListPage,
    ListPull,
    Limits,
    NewInvoice,
    NeedsReconnect,
    NewItem,
    NewRecord,
    OperationKind,
    RecordLookup,
    RetryLater,
    WriteOutcome,
)
from ..store.db import Store
from ..store.models import Account


class Backend:
    """One kind of QuickBooks. Subclasses set the class facts and override what differs."""

    kind: ClassVar[str]
    delivery: ClassVar[Delivery]
    limits: ClassVar[Limits]
    # QuickBooks stamps records with its own clock: a record created this long before our send may still be ours.
    clock_margin: ClassVar[dt.timedelta]
    # The QuickBooks fields that can carry BlueTrace's SKU, the default first (the Items tab's choice).
    item_match_fields: ClassVar[tuple[ItemMatchField, ...]]
    # The deletions pulls (SYNC_*_DELETIONS) this QuickBooks can answer; the engine queues no other.
    # None by default; a push backend offering some answers them with ``PushLink.deleted_since``.
    deletion_kinds: ClassVar[frozenset[OperationKind]] = frozenset()
    # Whether this QuickBooks answers SYNC_INVOICE_CHANGES (how our invoices stand: paid, voided, edited);
    # a push backend that does answers with ``PushLink.invoices_changed_since``.
    tells_invoice_changes: ClassVar[bool] = False
    # The status in the help article's words before the first contact and during the first pulls.
    waiting_message: ClassVar[str] = "Waiting for the first contact with QuickBooks."
    connecting_message: ClassVar[str] = (
        "Connecting: BlueTrace is reading your QuickBooks terms, accounts, items and customers. "
        "This can take a while for a large company.")
    # An error stored without its own message (an older bridge's) reads like this.
    failed_message: ClassVar[str] = "The last exchange with QuickBooks failed."
    # What to do when QuickBooks refuses to send a list for good; its own message comes first.
    list_refused_action: ClassVar[str] = (
        "Do what QuickBooks' message asks, then wait: the list is asked for again at every contact with "
        "QuickBooks. If it keeps failing, contact BlueTrace support.")

    # How long a person waits for QuickBooks' answer to something already sent (a creation in flight).
    answer_wait: ClassVar[str] = "a few seconds"

    def silence(self, db: Session, account: Account, now: dt.datetime,
                silent_after: dt.timedelta | None) -> dict[str, Any] | None:
        """The error of an account whose QuickBooks has gone quiet for longer than ``silent_after``, or None.

        Only a pull backend can fall silent (its QuickBooks comes to us); a push backend goes out
        itself and reports what it meets as the account's error.
        """
        return None

    def status_fields(self, account: Account) -> dict[str, Any]:
        """The backend's own fields of the status (``GET /api/v1/status``), each present for every account."""
        return {"qbxml_version": None}

    def create_login(self, db: Session, account: Account) -> tuple[str, str] | None:
        """The login this QuickBooks uses to reach us, created with the account: (username, password) once, or None."""
        return None

    # Small lists beyond terms and accounts this QuickBooks holds (Online: its sales tax codes), pulled
    # whole with them; they never hold back "Connected", so an account connected before one existed still is.
    optional_lists: ClassVar[frozenset[ListName]] = frozenset()

    # Whether a contact of this QuickBooks that has finished its work can stay open a while, asking for new
    # work every few seconds (the account's ``live_mode`` setting). Only a pull backend's QuickBooks comes
    # to us and can wait; a push backend sends each piece of work as it arises anyway.
    live_mode: ClassVar[bool] = False

    def tax_code_needed(self, account: Account) -> bool:
        """Whether the company needs a sales tax code on every invoice line (the account's ``tax_code`` setting).

        No by default: QuickBooks Desktop applies the customer's and item's own tax codes.
        """
        return False

    def can_look_up(self, list_name: ListName, kind: KeyKind, value: str) -> bool:
        """Whether this QuickBooks can be asked for records by ``value``: one it could not store cannot be there."""
        if self.limits.latin1_only:
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                return False
        return True

    def check_new_record(self, account: Account, spec: NewRecord) -> None:
        """Refuse a creation this QuickBooks could not store, before it is queued.

        Raises:
            DataError: what to change, naming the record and the field.
        """
        list_name = ListName.ITEMS if isinstance(spec, NewItem) else ListName.CUSTOMERS
        limit = self.limits.name_limit(list_name)
        record = f"{'item' if list_name is ListName.ITEMS else 'customer'} {spec.record_id}"
        if len(spec.name) > limit:
            raise DataError(f"The name \u201c{spec.name}\u201d is longer than QuickBooks allows ({limit} characters).",
                            record=record, field="name", action=f"Create it under a name of at most {limit} characters.")
        if self.limits.latin1_only:
            try:
                spec.name.encode("latin-1")
            except UnicodeEncodeError:
                raise DataError(f"The name \u201c{spec.name}\u201d has characters this QuickBooks cannot store.",
                                record=record, field="name",
                                action="Create it under a name written with Western European letters only.") from None


class PushLink:
    """One drive of one account by a push backend: every call goes out to QuickBooks now.

    No call holds a database transaction open: the driver commits before and after each.
    Transport trouble is answered, not raised: ``RetryLater`` (busy, throttled, down),
    ``Unconfirmed`` (a write whose answer is lost), ``NeedsReconnect`` (authorization gone).
    """

    def pull_whole_list(self, list_name: ListName) -> list[dict] | RetryLater | NeedsReconnect:
        """Every record of a small list (terms, accounts) as mirror rows."""
        raise NotImplementedError

    def pull_page(self, pull: ListPull, cursor: str | None) -> ListPage | RetryLater | NeedsReconnect:
        """One page of items or customers, inactive included; ``cursor`` None starts the pull."""
        raise NotImplementedError

    def look_up(self, list_name: ListName, lookup: RecordLookup) -> ListPage | RetryLater | NeedsReconnect:
        raise NotImplementedError

    def deleted_since(self, pull: DeletionsPull) -> Gone | RetryLater | NeedsReconnect:
        """The records of ``pull.subject`` QuickBooks deleted or merged away since ``pull.since``.

        Only asked for the kinds in the backend's ``deletion_kinds``.
        """
        raise NotImplementedError

    def invoices_changed_since(self, pull: InvoiceChangesPull) -> InvoiceStates | RetryLater | NeedsReconnect:
        """Every invoice QuickBooks modified since ``pull.since`` (ours or not), with its state.

        Only asked of a backend whose ``tells_invoice_changes`` is set.
        """
        raise NotImplementedError

    def create(self, list_name: ListName, spec: NewRecord, request_id: str) -> WriteOutcome:
        """Create one record; ``request_id`` is the same on every attempt of the same write."""
        raise NotImplementedError

    def find_created(self, list_name: ListName, spec: NewRecord) -> list[dict] | RetryLater | NeedsReconnect:
        """Records holding the spec's name (mirror rows with ``created_at``): was a lost write saved?"""
        raise NotImplementedError

    def add_invoice(self, spec: NewInvoice, request_id: str) -> WriteOutcome:
        """Create the invoice; a ``Created`` row carries ``txn_id`` and ``ref_number``."""
        raise NotImplementedError

    def find_invoices(self, spec: NewInvoice, since: dt.datetime) -> list[FoundInvoice] | RetryLater | NeedsReconnect:
        """The customer's invoices that may be the one a lost write saved (same number, or changed since)."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of connections; called once the drive ends."""


class PushBackend(Backend):
    """A backend a worker drives: ``link`` opens one drive of one account."""

    delivery = Delivery.PUSH

    def link(self, store: Store, settings: Settings, account_id: int) -> PushLink:
        """One drive of the account. ``settings`` are the driver's (where its QuickBooks is, its app keys)."""
        raise NotImplementedError

    def ready_to_drive(self, db: Session, account: Account) -> bool:
        """Whether the account is connected well enough for a drive (e.g. holds a usable authorization)."""
        return True
