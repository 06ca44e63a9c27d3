"""QuickBooks Online behind the engine: a push backend a worker drives over REST.

:class:`OnlineBackend` states Online's facts; :class:`OnlineLink` is one drive of one
company: a :class:`~.client.QboClient` (timeouts, requestid, limits, backoff) and the
mapping of :mod:`.entities`. Every answer comes back as the engine's neutral results:

* a refusal (``QboFaultError``) → ``Refused`` with the reason its fault means; a stale
  record → ``RetryLater``; a duplicate name or number QuickBooks reports after an earlier
  attempt of the same write may have been applied → ``Unconfirmed`` (it may be our own record:
  the driver looks it up);
* throttled or unreachable (``QboUnavailable``, Intuit's token endpoint down) → ``RetryLater``;
* a write whose answer is lost (``QboAnswerLost``) → ``Unconfirmed``. The client is told not
  to send such a write again by itself (``resend_lost_writes=False``): the driver looks it up
  first and only then resends with the same requestid (see ``backends.push``);
* authorization gone (``ReconnectNeeded``: Intuit refused the refresh token) → ``NeedsReconnect``;
  a token QuickBooks refused although a refresh had just issued it (``QboUnauthorized``) →
  ``RetryLater``: the refresh worked, so the authorization is alive, and a person asked to
  reconnect would change nothing. Should the authorization really be gone, the next attempt's
  refresh is refused and pauses the account then.

Deletions and merges come from Change Data Capture (``OnlineLink.deleted_since``): the
records it answers ``"status": "Deleted"`` are reported to the engine as ``Gone``.

A read QuickBooks refuses (a fault on a query) is answered ``RetryLater`` with the plain
explanation: reads are ours alone (our query text), so a refusal is our bug or a passing
state of the company, and the outbox's growing backoff keeps it from hammering QuickBooks
while the explanation shows on the operation.

Every HTTP attempt is written to ``exchange_log`` (method, path, status, ``intuit_tid``,
requestid, the bodies clipped): never a token, which only travels in the Authorization header.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import errors
from ...config import Settings
from ...domain import InvoiceStatus, ItemMatchField
from ...operations import (
    Created,
    Deletable,
    DeletionsPull,
    FoundInvoice,
    Gone,
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
    OperationKind,
    RecordLookup,
    RefusalReason,
    Refused,
    TAX_CODE_NEEDED,
    RetryLater,
    Unconfirmed,
    WriteOutcome,
)
from ...store.db import Store
from ...store.models import Account, ExchangeLogEntry, PackedOrder, QboConnection, QbCustomer, QbItem, utcnow
from ...token_keys import TokenKeyError
from ..base import PushBackend, PushLink
from . import connection, entities
from .client import (
    DEFAULT_TIMEOUT,
    Exchange,
    QboAnswerLost,
    QboClient,
    QboFaultError,
    QboUnauthorized,
    QboUnavailable,
    quote_literal,
)
from .faults import FaultReason
from .oauth import IntuitUnavailable, OAuthRefused
from .rate_limit import CompanyLimiter, limiter_for

log = logging.getLogger(__name__)

PAGE_SIZE = 1000  # QuickBooks' MAXRESULTS ceiling
EVERY_STATE = "Active IN (true, false)"  # name lists answer active records only unless asked
MAX_LOGGED_BODY = 4000
# TaxCode is asked with EVERY_STATE as the name lists are, so a retired code shows as inactive rather than
# lingering active in the mirror: our decision, the recordings hold no TaxCode query (Intuit's reference
# lists Active among TaxCode's filterable fields).
LIST_ENTITIES = {ListName.TERMS: "Term", ListName.ACCOUNTS: "Account", ListName.ITEMS: "Item",
                 ListName.CUSTOMERS: "Customer", ListName.TAX_CODES: "TaxCode"}
ROWS = {ListName.TERMS: entities.terms_row, ListName.ACCOUNTS: entities.account_row,
        ListName.ITEMS: entities.item_row, ListName.CUSTOMERS: entities.customer_row,
        ListName.TAX_CODES: entities.tax_code_row}
# The field a look-up key is compared with, per list (a key the list cannot hold is not asked).
KEY_FIELDS = {
    ListName.ITEMS: {KeyKind.SKU: "Sku", KeyKind.NAME: "Name"},
    ListName.CUSTOMERS: {KeyKind.EMAIL: "PrimaryEmailAddr", KeyKind.NAME: "DisplayName"},
}
NAME_FIELDS = {ListName.ITEMS: "Name", ListName.CUSTOMERS: "DisplayName"}
# Change Data Capture's entity per deletions subject: a deleted (or merged-away) record comes back with
# ``"status": "Deleted"`` and its Id; everything else it answers is a modification the pulls already bring.
CDC_ENTITIES = {Deletable.ITEMS: "Item", Deletable.CUSTOMERS: "Customer", Deletable.INVOICES: "Invoice"}
DELETED = "Deleted"
CDC_KEPT = dt.timedelta(days=30)  # how far back CDC answers (PROTOCOL §5.1, Intuit's CDC page)
# A day inside the window: Intuit's clock may be ahead of ours, and a changedSince past the edge is refused.
CDC_ASK_WITHIN = CDC_KEPT - dt.timedelta(days=1)
CDC_MAX_OBJECTS = 1000  # per answer; past it QuickBooks cuts the rest off
HELD_CHUNK = 100  # ids per "Id IN (...)" when CDC was cut off: a query text well inside what QuickBooks takes
REFUSAL_REASONS = {
    FaultReason.DUPLICATE_NAME: RefusalReason.DUPLICATE_NAME,
    FaultReason.INVALID_REFERENCE: RefusalReason.INVALID_REFERENCE,
    FaultReason.DUPLICATE_NUMBER: RefusalReason.DUPLICATE_NUMBER,
    FaultReason.CLOSED_PERIOD: RefusalReason.CLOSED_PERIOD,
    FaultReason.SUBSCRIPTION_ENDED: RefusalReason.SUBSCRIPTION_ENDED,
    FaultReason.VALIDATION: RefusalReason.VALIDATION,
    FaultReason.OUR_BUG: RefusalReason.OUR_BUG,
}
# Faults a person cannot fix and waiting can: answered RetryLater, never Refused.
PASSING = (FaultReason.STALE, FaultReason.THROTTLED, FaultReason.SERVER, FaultReason.EXPIRED_TOKEN)
UNAVAILABLE = "QuickBooks Online is busy or unreachable; the bridge tries again shortly."
TOKEN_REFUSED = "QuickBooks Online refused a new access token; the bridge signs in again shortly."
US = "US"
NON_US_EXPLANATION = (
    "This QuickBooks Online company is outside the US, where QuickBooks needs a VAT or GST tax code on every "
    "invoice line, and no tax code is chosen for it yet: the bridge does not guess one.")
NON_US_ACTION = ("Choose the tax code of your invoices in Settings > Integration, General tab \u2192 Tax code; "
                 "this invoice then goes out by itself.")
FOREIGN_CURRENCY_EXPLANATION = (
    "This customer is billed in {currency} in QuickBooks, and the company's currency is {home}. The bridge sends "
    "amounts in {home} only, so it did not create the invoice (QuickBooks would have booked it at a wrong rate).")
FOREIGN_CURRENCY_ACTION = ("Create this invoice in QuickBooks by hand, or match the BlueTrace customer to a "
                           "QuickBooks customer billed in the company's currency on the Customers tab.")


@dataclass(frozen=True)
class CompanyFacts:
    """What the bridge needs to know of the company itself (CompanyInfo and Preferences)."""

    country: str
    home_currency: str | None
    multicurrency: bool
    own_numbers: bool  # "Custom transaction numbers" on: the invoice carries our DocNumber


class OnlineBackend(PushBackend):
    """QuickBooks Online: Unicode names of up to 100 characters, DocNumber of 21, Sku for SKUs.

    Sales tax: a US company's automated sales tax works out the tax of an invoice itself, so a US
    invoice carries no tax lines and no tax code. Outside the US every line needs a VAT/GST code:
    the account's ``tax_code`` setting, chosen from the company's tax codes (pulled as a list).
    """

    kind = "online"
    limits = Limits(item_name=100, customer_name=100, invoice_number=entities.DOC_NUMBER_LENGTH, latin1_only=False)
    # QBO stamps CreateTime with Intuit's clock; a record stamped this much before our send may still be ours.
    clock_margin = dt.timedelta(minutes=5)
    item_match_fields = (ItemMatchField.SKU, ItemMatchField.NAME)
    waiting_message = "Click Connect, choose Quickbooks and sign in to Intuit as a QuickBooks administrator."
    connecting_message = (
        "Connecting: BlueTrace is reading your QuickBooks Online terms, accounts, items and customers. "
        "This can take a while for a large company.")
    # From Change Data Capture, one entity a request (see ``OnlineLink.deleted_since``).
    deletion_kinds = frozenset({OperationKind.SYNC_ITEM_DELETIONS, OperationKind.SYNC_CUSTOMER_DELETIONS,
                                OperationKind.SYNC_INVOICE_DELETIONS})
    # A query of the invoices updated since the last pull (see ``OnlineLink.invoices_changed_since``).
    tells_invoice_changes = True
    optional_lists = frozenset({ListName.TAX_CODES})

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow, *,
                 limiters: Callable[[str], CompanyLimiter] = limiter_for, **client_options: Any):
        # ``clock``: our time, where CDC's window is reckoned from (tests: the driver's settable clock).
        # ``limiters``: a company's 500-a-minute limiter by realm (benchmarks: one paced on a virtual clock).
        # Options of every QboClient this backend opens (tests: ``sleep`` to back off without waiting).
        self.clock = clock
        self.limiters = limiters
        self.client_options = client_options

    def link(self, store: Store, settings: Settings, account_id: int) -> PushLink:
        with store.begin() as db:
            realm_id = db.get(QboConnection, account_id).realm_id
        tokens = _Tokens(store, settings, account_id)
        http = httpx.Client(timeout=DEFAULT_TIMEOUT)  # one drive's connections, closed with the link
        client = QboClient(http, settings.qbo_api_base, realm_id, tokens, self.limiters(realm_id),
                           on_exchange=_ExchangeLog(store, account_id), resend_lost_writes=False,
                           **self.client_options)
        return OnlineLink(store, account_id, client, http, self.clock)

    def ready_to_drive(self, db: Session, account: Account) -> bool:
        return not connection.needs_reconnect(db, account.id)

    def tax_code_needed(self, account: Account) -> bool:
        """Outside the US, once the sync has read the company's country (until then it is not known to be needed)."""
        return (account.company_country or US) != US


class _Tokens:
    """The client's ``token(fresh)``: the stored access token, refreshed under the connection's lock when due.

    A fresh one is asked with the token QuickBooks refused, so that when another process
    refreshed meanwhile its token is used instead of refreshing (and rotating) once more.
    """

    def __init__(self, store: Store, settings: Settings, account_id: int):
        self.store, self.settings, self.account_id = store, settings, account_id
        self.current: str | None = None

    def __call__(self, fresh: bool) -> str:
        self.current = connection.access_token(self.store, self.settings, self.account_id,
                                               rejected=self.current if fresh else None)
        return self.current


class _ExchangeLog:
    """Writes each HTTP attempt to ``exchange_log`` in its own transaction (the client holds none open)."""

    def __init__(self, store: Store, account_id: int):
        self.store, self.account_id = store, account_id

    def __call__(self, exchange: Exchange) -> None:
        body = "\n".join(part for part in (exchange.request_body, exchange.response_body) if part) or None
        if body is not None and len(body) > MAX_LOGGED_BODY:
            body = body[:MAX_LOGGED_BODY] + f"\n... ({len(body)} characters in all; the rest is not kept)"
        with self.store.begin() as db:
            db.add(ExchangeLogEntry(account_id=self.account_id, session_id=None, operation=exchange.operation,
                                    direction="out", summary=exchange.summary, body=body))


class OnlineLink(PushLink):
    def __init__(self, store: Store, account_id: int, client: QboClient, http: httpx.Client,
                 clock: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.clock = clock
        self.account_id = account_id
        self.client = client
        self.http = http
        self._company: CompanyFacts | None = None

    def close(self) -> None:
        self.http.close()

    # -- reading -------------------------------------------------------------------------------
    def pull_whole_list(self, list_name: ListName):
        return _answered(lambda: self._whole_list(list_name))

    def _whole_list(self, list_name: ListName) -> list[dict[str, Any]]:
        self._read_company_once()
        entity, rows, start = LIST_ENTITIES[list_name], [], 1
        while True:  # one query, paged only past QuickBooks' 1000 a page
            page = self.client.query_page(entity, EVERY_STATE, start, PAGE_SIZE)
            rows += [ROWS[list_name](record) for record in page]
            if len(page) < PAGE_SIZE:
                return rows
            start += PAGE_SIZE

    def pull_page(self, pull: ListPull, cursor: str | None):
        return _answered(lambda: self._page(pull, cursor))

    def _page(self, pull: ListPull, cursor: str | None) -> ListPage:
        """One page of a pull. The cursor is ``"<next start position>/<records in the pull>"``.

        An incremental pull asks for ``LastUpdatedTime >= since``: the engine's ``since`` already
        lies an overlap before the last pull's newest change (``sync.pulls``), so a record changed
        while that pull ran is read again rather than missed.
        """
        entity = LIST_ENTITIES[pull.list_name]
        where = EVERY_STATE
        if pull.since is not None:
            where += f" AND MetaData.LastUpdatedTime >= {quote_literal(_query_time(pull.since))}"
        if cursor is None:
            self._read_company_once()
            start, total = 1, self.client.count(entity, where)
        else:
            start_text, total_text = cursor.split("/")
            start, total = int(start_text), int(total_text)
        records = self.client.query_page(entity, where, start, PAGE_SIZE)
        following = start + len(records)
        more = len(records) == PAGE_SIZE
        return ListPage([ROWS[pull.list_name](record) for record in records],
                        remaining=max(total - following + 1, 0) if more else 0,
                        cursor=f"{following}/{total}" if more else None)

    def _read_company_once(self) -> CompanyFacts:
        """The company's facts, read once a drive; its name is kept for the connection card (a rename shows)."""
        if self._company is None:
            info, preferences = self.client.company_info(), self.client.preferences()
            country = (info.get("Country") or US).upper()
            with self.store.begin() as db:
                connection.record_company(db, self.account_id, info.get("CompanyName"), country)
            currency = preferences.get("CurrencyPrefs") or {}
            self._company = CompanyFacts(
                country=country,
                home_currency=(currency.get("HomeCurrency") or {}).get("value"),
                multicurrency=bool(currency.get("MultiCurrencyEnabled")),
                own_numbers=bool((preferences.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers", True)))
        return self._company

    def look_up(self, list_name: ListName, lookup: RecordLookup):
        return _answered(lambda: ListPage(self._look_up(list_name, lookup), remaining=0))

    def _look_up(self, list_name: ListName, lookup: RecordLookup) -> list[dict[str, Any]]:
        entity = LIST_ENTITIES[list_name]
        conditions = []
        if lookup.ids:
            conditions.append(f"Id IN ({', '.join(quote_literal(i) for i in lookup.ids)})")
        fields = KEY_FIELDS[list_name]
        conditions += [f"{fields[kind]} = {quote_literal(value)}" for kind, value in lookup.keys if kind in fields]
        found: dict[str, dict[str, Any]] = {}
        for condition in conditions:  # QuickBooks' query language has no OR
            for record in self.client.query_page(entity, f"{condition} AND {EVERY_STATE}", 1, PAGE_SIZE):
                found[str(record["Id"])] = ROWS[list_name](record)
        return list(found.values())

    def deleted_since(self, pull: DeletionsPull):
        return _answered(lambda: self._deleted_since(pull))

    def _deleted_since(self, pull: DeletionsPull) -> Gone:
        """The Ids CDC reports ``Deleted`` for the subject's entity since ``pull.since``.

        CDC answers 30 days back only. A start further back (``None``, or the high-water mark of a
        list that has not changed for weeks: the pull beside this one asks from it every few minutes)
        is brought forward to what it can answer, as Desktop's ``deletion_sync`` does with its 90 days:
        pulls run every few minutes, so every deletion falls inside some pull's window. Only one made
        while the bridge asked nothing for longer than the window (a worker stopped for a month) is
        never heard: CDC no longer holds it, and nothing else in the API tells deletions.
        A merge is the merged-away record gone and the survivor changed (Intuit's merge webhook names
        the deleted id; the fake answers CDC with the merged-away record ``Deleted``); the survivor
        arrives with the list's ordinary pull, which runs after this one.
        """
        entity = CDC_ENTITIES[pull.subject]
        earliest = self.clock() - CDC_ASK_WITHIN
        since = earliest if pull.since is None else max(_aware(pull.since), earliest)
        changed = self.client.cdc([entity], since)[entity]
        ids = [str(record["Id"]) for record in changed if record.get("status") == DELETED and record.get("Id")]
        if len(changed) >= CDC_MAX_OBJECTS:
            # Cut off at 1000 (a bulk import since the last pull): a deletion past the cut is in no answer,
            # and CDC has no paging. What we hold is asked for by id instead; what QuickBooks lacks is gone.
            log.info("account %s: Change Data Capture cut off at %s %s objects since %s; checking the ids we hold",
                     self.account_id, len(changed), entity, since)
            ids += self._not_held(pull.subject)
        return Gone(pull.subject, tuple(dict.fromkeys(ids)))

    def _not_held(self, subject: Deletable) -> list[str]:
        """Of the ids we hold for ``subject`` (mirrored records, our created invoices), those QuickBooks lacks."""
        with self.store.begin() as db:
            if subject is Deletable.INVOICES:
                ours = db.scalars(select(PackedOrder.txn_id).where(
                    PackedOrder.account_id == self.account_id, PackedOrder.txn_id.is_not(None),
                    PackedOrder.status == InvoiceStatus.CREATED.value))
            else:
                model = QbItem if subject is Deletable.ITEMS else QbCustomer
                ours = db.scalars(select(model.list_id).where(model.account_id == self.account_id))
            held_here = sorted(set(ours))
        entity = CDC_ENTITIES[subject]
        every_state = "" if subject is Deletable.INVOICES else f" AND {EVERY_STATE}"
        missing: list[str] = []
        for start in range(0, len(held_here), HELD_CHUNK):
            chunk = held_here[start:start + HELD_CHUNK]
            where = f"Id IN ({', '.join(quote_literal(i) for i in chunk)}){every_state}"
            there = {str(record["Id"]) for record in self.client.query_page(entity, where, 1, PAGE_SIZE)}
            missing += [i for i in chunk if i not in there]
        return missing

    def invoices_changed_since(self, pull: InvoiceChangesPull):
        return _answered(lambda: self._invoices_changed_since(pull))

    def _invoices_changed_since(self, pull: InvoiceChangesPull) -> InvoiceStates:
        """Every Invoice with ``MetaData.LastUpdatedTime >= since``, paged by 1000, with TotalAmt and Balance.

        A query rather than Change Data Capture: CDC stops at 1000 objects with no paging, and a busy
        company updates more invoices than that between two pulls after a pause; a query pages.
        Recording a payment updates the invoice (its Balance and LinkedTxn), as does voiding or editing it.
        """
        where = "" if pull.since is None else f"MetaData.LastUpdatedTime >= {quote_literal(_query_time(pull.since))}"
        states: list[InvoiceState] = []
        start = 1
        while True:
            page = self.client.query_page("Invoice", where, start, PAGE_SIZE)
            states += [entities.invoice_state(record) for record in page]
            if len(page) < PAGE_SIZE:
                return InvoiceStates(tuple(states))
            start += PAGE_SIZE

    def find_created(self, list_name: ListName, spec: NewRecord):
        return _answered(lambda: [
            {**ROWS[list_name](record), "created_at": entities.created_at(record)}
            for record in self.client.query_page(
                LIST_ENTITIES[list_name], f"{NAME_FIELDS[list_name]} = {quote_literal(spec.name)} AND {EVERY_STATE}")])

    def find_invoices(self, spec: NewInvoice, since: dt.datetime):
        return _answered(lambda: self._find_invoices(spec, since))

    def _find_invoices(self, spec: NewInvoice, since: dt.datetime) -> list[FoundInvoice]:
        """The customer's invoices created since the send (less Intuit's clock margin) or carrying our number.

        Our number is asked for only when the invoice was sent with it: when QuickBooks numbers invoices
        (the General tab, or the company's own preference) a DocNumber equal to the order number is some
        other invoice's, and only the creation time and our marker can find ours.
        """
        customer = f"CustomerRef = {quote_literal(spec.customer_id)}"
        created = quote_literal(_query_time(since - OnlineBackend.clock_margin))
        wheres = [f"{customer} AND MetaData.CreateTime >= {created}"]
        number = entities.doc_number(spec)
        if number is not None and self._read_company_once().own_numbers:
            wheres.append(f"{customer} AND DocNumber = {quote_literal(number)}")
        found: dict[str, FoundInvoice] = {}
        for where in wheres:
            for record in self.client.query_page("Invoice", where, 1, PAGE_SIZE):
                found[str(record["Id"])] = entities.found_invoice(record)
        return list(found.values())

    # -- writing -------------------------------------------------------------------------------
    def create(self, list_name: ListName, spec: NewRecord, request_id: str) -> WriteOutcome:
        if isinstance(spec, NewItem):
            entity, body = "Item", entities.item_body(spec, utcnow().date())
        else:
            customer: NewCustomer = spec
            entity, body = "Customer", entities.customer_body(customer)
        return _written(lambda: Created(ROWS[list_name](self.client.create(entity, body, request_id))))

    def add_invoice(self, spec: NewInvoice, request_id: str) -> WriteOutcome:
        def send() -> Created | Refused:
            refused = self._cannot_invoice(spec)
            if refused is not None:
                return refused
            # Whoever numbers it (our order number, the General tab's choice, the company's preference),
            # the number QuickBooks saved comes back and is the one kept.
            body = entities.invoice_body(spec, own_numbers=self._read_company_once().own_numbers)
            if self._read_company_once().country != US:
                entities.set_tax_code(body, spec.tax_code_id)
            invoice = self.client.create("Invoice", body, request_id)
            return Created({"txn_id": str(invoice["Id"]), "ref_number": invoice.get("DocNumber")})

        return _written(send)

    def _cannot_invoice(self, spec: NewInvoice) -> Refused | None:
        """What the bridge cannot invoice correctly in this company yet, refused before anything is sent.

        * Outside the US QuickBooks wants a VAT/GST tax code on every line, and which one is the
          company's choice: without the account's tax code setting the bridge does not guess one.
        * A customer in another currency would need CurrencyRef and an ExchangeRate, or QuickBooks
          books the invoice at 1:1 in the customer's currency: a wrong amount, silently.
        The customer's currency costs one read per invoice, in multicurrency companies only.
        """
        company = self._read_company_once()
        if company.country != US and spec.tax_code_id is None:
            return Refused(TAX_CODE_NEEDED, NON_US_EXPLANATION, NON_US_ACTION, reason=RefusalReason.SETTING_NEEDED,
                           field="settings.tax_code")
        if company.multicurrency:
            customer = self.client.get("Customer", spec.customer_id)
            currency = (customer.get("CurrencyRef") or {}).get("value")
            if currency and currency != company.home_currency:
                return Refused("currency", FOREIGN_CURRENCY_EXPLANATION.format(currency=currency,
                                                                             home=company.home_currency),
                               FOREIGN_CURRENCY_ACTION, reason=RefusalReason.VALIDATION, field="customer")
        return None


def _aware(moment: dt.datetime) -> dt.datetime:
    """Our moments are UTC; one stored without its zone is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _query_time(moment: dt.datetime) -> str:
    """A moment as QuickBooks' query language takes it: ISO 8601 with its offset, whole seconds (rounded down)."""
    aware = _aware(moment)
    return aware.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def _answered(read: Callable[[], Any]):
    """A read's answer, or the engine's result for why there is none."""
    try:
        return read()
    except QboFaultError as refused:
        log.warning("QuickBooks Online refused a read: %s", refused)
        return RetryLater(None, str(refused.fault.code or refused.fault.http_status), refused.meaning.explanation)
    except Exception as failure:  # noqa: BLE001 - every other failure has one mapping, shared with writes
        return _transport(failure)


def _written(write: Callable[[], WriteOutcome]) -> WriteOutcome:
    """A write's answer, or the engine's result for why there is none."""
    try:
        return write()
    except QboFaultError as refused:
        return _refusal(refused)
    except QboAnswerLost as lost:
        log.info("QuickBooks Online answer lost: %s", lost)
        return Unconfirmed("QuickBooks Online did not answer in time; it may have saved it. The bridge checks.")
    except Exception as failure:  # noqa: BLE001 - see _transport: what it does not know is raised again
        return _transport(failure)


def _transport(failure: Exception) -> RetryLater | NeedsReconnect:
    """Throttled, unreachable or no longer authorized. Anything else is raised again (the driver logs it)."""
    if isinstance(failure, QboUnavailable):
        after = utcnow() + dt.timedelta(seconds=failure.retry_after) if failure.retry_after else None
        return RetryLater(after, "unavailable", UNAVAILABLE)
    if isinstance(failure, IntuitUnavailable):
        return RetryLater(None, "intuit_unavailable",
                          "Intuit's sign-in service did not answer; the bridge tries again shortly.")
    if isinstance(failure, (OAuthRefused, TokenKeyError)):
        # No token, so nothing reached QuickBooks: the deployment must be fixed (app keys, token keys), then it goes on.
        log.error("no QuickBooks Online access token: %s", failure)
        return RetryLater(None, "no_token", "The bridge could not sign in to QuickBooks Online (its app keys or token "
                                            "keys are wrong); support has been told.")
    if isinstance(failure, QboUnauthorized):
        # Refused just after a refresh that worked (a token ended at once, Intuit's own hiccup): not a lost
        # authorization. The next attempt refreshes again; an invalid_grant then is ReconnectNeeded below.
        log.warning("QuickBooks Online refused a freshly refreshed access token; trying again later: %s", failure)
        return RetryLater(None, "token_refused", TOKEN_REFUSED)
    if isinstance(failure, errors.ReconnectNeeded):
        return NeedsReconnect(failure.explanation)
    raise failure


def _refusal(refused: QboFaultError) -> WriteOutcome:
    meaning, fault = refused.meaning, refused.fault
    code = str(fault.code or fault.http_status)
    if meaning.reason in PASSING:
        return RetryLater(None, code, meaning.explanation)
    reason = REFUSAL_REASONS.get(meaning.reason, RefusalReason.OTHER)
    if refused.after_lost_answer and reason in (RefusalReason.DUPLICATE_NAME, RefusalReason.DUPLICATE_NUMBER):
        # An earlier attempt of this very write may have been applied: the name or number may be ours.
        return Unconfirmed("QuickBooks Online reports the record exists after an answer was lost; the bridge checks.")
    field = "name" if reason is RefusalReason.DUPLICATE_NAME else fault.element
    return Refused(code, meaning.explanation, meaning.action, meaning.quickbooks_message, reason, field=field)
