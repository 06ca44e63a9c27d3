"""Query handlers of the fake QuickBooks: Host/Company/Preferences, Terms, Account,
Item (mixed Ret kinds), Customer and Invoice queries, and the deleted-records queries.

QuickBooks' query rules, as integrations meet them:
- ListID / FullName / TxnID lists return what exists; anything missing makes the
  status 500 (Warn) naming it. Filter queries that match nothing return status 1.
  RefNumber lists are filters too (QuickBooks allows duplicate RefNumbers).
- List filters default to ``ActiveStatus=ActiveOnly``: inactive records are hidden.
- ``FromModifiedDate``/``ToModifiedDate`` are inclusive; a date without time means
  the start (From) or the end (To) of that day in the company's time zone.
- ``MaxReturned`` cuts the sorted result; ``iterator="Start"`` keeps the rest for
  ``iterator="Continue"`` within the same QuickBooks session (else 3391).
- A filter the fake does not implement gets status 3250 naming it, never silence.
- ListDeletedQuery / TxnDeletedQuery return what was deleted (merged-away records too) of
  the types asked, oldest deletion first, within the last :data:`DELETIONS_KEPT` (QuickBooks
  forgets older ones); ``DeletedDateRangeFilter`` is inclusive like the modified dates. They
  have no iterator and no MaxReturned.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import TypeVar

from lxml import etree

from .company import FakeCompany, QuickBooksStatus
from .handling import Handler, HandlerContext, Outcome
from .records import Deletion, ItemKind
from .rets import (
    account_ret,
    company_ret,
    customer_ret,
    host_ret,
    invoice_ret,
    item_ret,
    list_deleted_ret,
    preferences_ret,
    terms_ret,
    txn_deleted_ret,
)

Element = etree._Element
Record = TypeVar("Record")

NOTHING_FOUND = "A query request did not find a matching object in QuickBooks"
LIST_QUERY_FIELDS = {"ListID", "FullName", "MaxReturned", "ActiveStatus", "FromModifiedDate", "ToModifiedDate",
                     "NameFilter", "NameRangeFilter", "IncludeRetElement", "OwnerID"}
_DATETIME = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:T(\d{1,2})(?::(\d{1,2})(?::(\d{1,2})"
                       r"(?:([+-])(\d{1,2}):(\d{1,2}))?)?)?)?")


def parse_datetime(text: str, zone: tzinfo, end_of_day: bool = False) -> datetime:
    """A DATETIMETYPE value; no offset means the company's zone, no time means a whole day."""
    match = _DATETIME.fullmatch(text.strip())
    if match is None:
        raise QuickBooksStatus(3020, f'There was an error when converting the date value "{text}".')
    year, month, day, hour, minute, second, sign, off_h, off_m = match.groups()
    when_date = date(int(year), int(month), int(day))
    if hour is None:
        clock = time(23, 59, 59) if end_of_day else time(0, 0, 0)
        return datetime.combine(when_date, clock, zone)
    if sign:
        offset = timedelta(hours=int(off_h), minutes=int(off_m)) * (1 if sign == "+" else -1)
        zone_given: tzinfo = timezone(offset)
    else:
        zone_given = zone
    when = datetime.combine(when_date, time(int(hour), int(minute or 0), int(second or 0)), zone_given)
    return when.astimezone(zone)


def _texts(element: Element, tag: str) -> list[str]:
    return [child.text or "" for child in element.findall(tag)]


def _reject_unsupported(request: Element, allowed: set[str]) -> None:
    for child in request:
        if isinstance(child.tag, str) and child.tag not in allowed:
            raise QuickBooksStatus(3250, f"This feature is not enabled or not available in this version of "
                                         f"QuickBooks (the simulator does not implement {request.tag}/{child.tag}).")


def _not_found_warning(missing: list[str]) -> QuickBooksStatus:
    return QuickBooksStatus(500, f'The query request has not been fully completed. There was a required element '
                                 f'("{missing[0]}") that could not be found in QuickBooks.', severity="Warn")


def _max_returned(request: Element) -> int | None:
    text = request.findtext("MaxReturned")
    return int(text) if text else None


def _page(context: HandlerContext, request: Element, ids: list[str], build: Callable[[str], Element]) -> Outcome:
    """Apply MaxReturned and iterators to the sorted ids a query matched."""
    size = _max_returned(request)
    if request.get("iterator") == "Start":
        page, rest = (ids[:size], ids[size:]) if size else (ids, [])
        iterator_id = context.session.new_iterator(rest, size)
        outcome = Outcome([build(i) for i in page], iterator_id=iterator_id, iterator_remaining=len(rest))
    else:
        outcome = Outcome([build(i) for i in (ids[:size] if size else ids)])
    if not outcome.rets:
        outcome.code, outcome.message = 1, NOTHING_FOUND
    return outcome


def _continue(context: HandlerContext, request: Element, build: Callable[[str], Element]) -> Outcome:
    iterator_id = request.get("iteratorID") or ""
    iterator = context.session.iterators.get(iterator_id)
    if iterator is None:
        raise QuickBooksStatus(3391, f'The iterator "{iterator_id}" is not valid: it has ended or belongs to a '
                                     f'QuickBooks session that is over.')
    size = _max_returned(request) or iterator.page_size
    page, iterator.remaining = (iterator.remaining[:size], iterator.remaining[size:]) if size else \
        (iterator.remaining, [])
    if not iterator.remaining:
        del context.session.iterators[iterator_id]
    outcome = Outcome([build(i) for i in page], iterator_id=iterator_id, iterator_remaining=len(iterator.remaining))
    if not outcome.rets:
        outcome.code, outcome.message = 1, NOTHING_FOUND
    return outcome


def list_query(context: HandlerContext, request: Element, records: Sequence[Record],
               record_id: Callable[[Record], str], full_name: Callable[[Record], str],
               build: Callable[[Record], Element], extra_filter: Callable[[Record], bool] | None = None,
               extra_fields: frozenset[str] = frozenset()) -> Outcome:
    """The ListID / FullName / filter / iterator logic every list query shares."""
    _reject_unsupported(request, LIST_QUERY_FIELDS | extra_fields)
    by_id = {record_id(r): r for r in records}

    def build_by_id(list_id: str) -> Element:
        return build(by_id[list_id])

    if request.get("iterator") == "Continue":
        return _continue(context, request, build_by_id)
    wanted_ids, wanted_names = _texts(request, "ListID"), _texts(request, "FullName")
    if wanted_ids or wanted_names:
        found, missing = [], []
        by_name = {full_name(r).casefold(): r for r in records}
        for key in wanted_ids:
            (found.append(by_id[key]) if key in by_id else missing.append(key))
        for name in wanted_names:
            (found.append(by_name[name.casefold()]) if name.casefold() in by_name else missing.append(name))
        outcome = Outcome([build(r) for r in found])
        if missing:
            warning = _not_found_warning(missing)
            outcome.code, outcome.severity, outcome.message = warning.code, warning.severity, warning.message
        return outcome
    zone = context.company.settings.timezone
    status = request.findtext("ActiveStatus") or "ActiveOnly"
    since = request.findtext("FromModifiedDate")
    until = request.findtext("ToModifiedDate")
    since_at = parse_datetime(since, zone) if since else None
    until_at = parse_datetime(until, zone, end_of_day=True) if until else None
    name_filter = request.find("NameFilter")
    name_range = request.find("NameRangeFilter")

    def matches(record: Record) -> bool:
        active = getattr(record, "is_active")
        if (status == "ActiveOnly" and not active) or (status == "InactiveOnly" and active):
            return False
        modified = getattr(record, "stamp").time_modified
        if (since_at and modified < since_at) or (until_at and modified > until_at):
            return False
        name = full_name(record).casefold()
        if name_filter is not None and not _name_matches(name, name_filter):
            return False
        if name_range is not None:
            low, high = name_range.findtext("FromName"), name_range.findtext("ToName")
            if (low and name < low.casefold()) or (high and name > high.casefold()):
                return False
        return extra_filter(record) if extra_filter else True

    ids = [record_id(r) for r in sorted(records, key=lambda r: full_name(r).casefold()) if matches(r)]
    return _page(context, request, ids, build_by_id)


def _name_matches(name: str, name_filter: Element) -> bool:
    criterion = name_filter.findtext("MatchCriterion")
    needle = (name_filter.findtext("Name") or "").casefold()
    if criterion == "StartsWith":
        return name.startswith(needle)
    if criterion == "EndsWith":
        return name.endswith(needle)
    return needle in name


# ------------------------------------------------------------------ handlers
def host_query(context: HandlerContext, request: Element) -> Outcome:
    return Outcome([host_ret(context.company.settings)])


def company_query(context: HandlerContext, request: Element) -> Outcome:
    owners = {owner.casefold() for owner in _texts(request, "OwnerID")}
    extensions = [e for e in context.company.data_extensions if e.owner_id.casefold() in owners]
    return Outcome([company_ret(context.company.settings, extensions)])


def preferences_query(context: HandlerContext, request: Element) -> Outcome:
    return Outcome([preferences_ret(context.company.settings)])


def account_query(context: HandlerContext, request: Element) -> Outcome:
    company = context.company
    types = set(_texts(request, "AccountType"))
    return list_query(context, request, list(company.accounts.values()), lambda a: a.stamp.id, lambda a: a.name,
                      lambda a: account_ret(company, a),
                      extra_filter=(lambda a: a.account_type in types) if types else None,
                      extra_fields=frozenset({"AccountType"}))


def _terms_query(date_driven: bool | None) -> Handler:
    def handler(context: HandlerContext, request: Element) -> Outcome:
        company = context.company
        terms = [t for t in company.terms.values() if date_driven is None or t.is_date_driven == date_driven]
        return list_query(context, request, terms, lambda t: t.stamp.id, lambda t: t.name,
                          lambda t: terms_ret(company, t))
    return handler


def _item_query(kind: ItemKind | None) -> Handler:
    def handler(context: HandlerContext, request: Element) -> Outcome:
        company = context.company
        if request.get("iterator") == "Continue":  # the iterator holds the ids: no need to look at the list
            _reject_unsupported(request, LIST_QUERY_FIELDS)
            return _continue(context, request, lambda list_id: item_ret(company, company.items[list_id]))
        items = [i for i in company.items.values() if kind is None or i.kind is kind]
        return list_query(context, request, items, lambda i: i.stamp.id, lambda i: i.full_name,
                          lambda i: item_ret(company, i))
    return handler


def customer_query(context: HandlerContext, request: Element) -> Outcome:
    company = context.company
    if request.get("iterator") == "Continue":
        _reject_unsupported(request, LIST_QUERY_FIELDS)
        return _continue(context, request, lambda list_id: customer_ret(company, company.entities[list_id]))
    return list_query(context, request, company.customers, lambda c: c.stamp.id, lambda c: c.full_name,
                      lambda c: customer_ret(company, c))


INVOICE_QUERY_FIELDS = {"TxnID", "RefNumber", "RefNumberCaseSensitive", "MaxReturned", "ModifiedDateRangeFilter",
                        "TxnDateRangeFilter", "EntityFilter", "RefNumberFilter", "RefNumberRangeFilter", "PaidStatus",
                        "IncludeLineItems", "IncludeLinkedTxns", "IncludeRetElement", "OwnerID"}


def invoice_query(context: HandlerContext, request: Element) -> Outcome:
    company = context.company
    _reject_unsupported(request, INVOICE_QUERY_FIELDS)
    with_lines = (request.findtext("IncludeLineItems") or "false").strip() in ("true", "1")

    def build(txn_id: str) -> Element:
        return invoice_ret(company, company.invoices[txn_id], include_lines=with_lines)

    if request.get("iterator") == "Continue":
        return _continue(context, request, build)
    invoices = company.sorted_invoices()
    wanted_ids = _texts(request, "TxnID")
    if wanted_ids:
        found = [t for t in wanted_ids if t in company.invoices]
        outcome = Outcome([build(t) for t in found])
        missing = [t for t in wanted_ids if t not in company.invoices]
        if missing:
            warning = _not_found_warning(missing)
            outcome.code, outcome.severity, outcome.message = warning.code, warning.severity, warning.message
        return outcome
    refs = {r.casefold() for r in _texts(request, "RefNumber")}
    exact_refs = set(_texts(request, "RefNumberCaseSensitive"))
    if refs:
        invoices = [i for i in invoices if (i.ref_number or "").casefold() in refs]
    elif exact_refs:
        invoices = [i for i in invoices if i.ref_number in exact_refs]
    else:
        invoices = [i for i in invoices if _invoice_filters_match(company, request, i)]
    return _page(context, request, [i.stamp.id for i in invoices], build)


def _invoice_filters_match(company: FakeCompany, request: Element, invoice) -> bool:
    zone = company.settings.timezone
    modified = request.find("ModifiedDateRangeFilter")
    if modified is not None:
        since, until = modified.findtext("FromModifiedDate"), modified.findtext("ToModifiedDate")
        if since and invoice.stamp.time_modified < parse_datetime(since, zone):
            return False
        if until and invoice.stamp.time_modified > parse_datetime(until, zone, end_of_day=True):
            return False
    dates = request.find("TxnDateRangeFilter")
    if dates is not None:
        if dates.find("DateMacro") is not None:
            raise QuickBooksStatus(3250, "This feature is not enabled or not available in this version of "
                                         "QuickBooks (the simulator does not implement TxnDateRangeFilter/DateMacro).")
        since, until = dates.findtext("FromTxnDate"), dates.findtext("ToTxnDate")
        if since and invoice.txn_date < date.fromisoformat(since):
            return False
        if until and invoice.txn_date > date.fromisoformat(until):
            return False
    entity = request.find("EntityFilter")
    if entity is not None and not _entity_matches(company, entity, invoice.customer_id):
        return False
    ref = (invoice.ref_number or "").casefold()
    ref_filter = request.find("RefNumberFilter")
    if ref_filter is not None:
        criterion = ref_filter.findtext("MatchCriterion")
        needle = (ref_filter.findtext("RefNumber") or "").casefold()
        if not {"StartsWith": ref.startswith, "EndsWith": ref.endswith}.get(criterion, ref.__contains__)(needle):
            return False
    ref_range = request.find("RefNumberRangeFilter")
    if ref_range is not None:
        low, high = ref_range.findtext("FromRefNumber"), ref_range.findtext("ToRefNumber")
        if (low and ref < low.casefold()) or (high and ref > high.casefold()):
            return False
    paid = request.findtext("PaidStatus") or "All"
    is_paid = invoice.balance_remaining == 0
    return not ((paid == "PaidOnly" and not is_paid) or (paid == "NotPaidOnly" and is_paid))


def _entity_matches(company: FakeCompany, entity_filter: Element, customer_id: str) -> bool:
    customer = company.entities[customer_id]
    names = {n.casefold() for n in _texts(entity_filter, "FullName")}
    if _texts(entity_filter, "ListID"):
        return customer_id in _texts(entity_filter, "ListID")
    if names:
        return customer.full_name.casefold() in names
    root_id = entity_filter.findtext("ListIDWithChildren")
    if root_id is not None:
        root = company.entities.get(root_id)
        return root is not None and (customer_id == root_id or customer.full_name.startswith(root.full_name + ":"))
    root_name = (entity_filter.findtext("FullNameWithChildren") or "").casefold()
    full = customer.full_name.casefold()
    return full == root_name or full.startswith(root_name + ":")


DELETED_QUERY_FIELDS = {"ListDelType", "TxnDelType", "DeletedDateRangeFilter", "IncludeRetElement"}
DELETIONS_KEPT = timedelta(days=90)


def _deleted_query(type_tag: str, deletions: Callable[[FakeCompany], list[Deletion]],
                   build: Callable[[Deletion], Element]) -> Handler:
    def handler(context: HandlerContext, request: Element) -> Outcome:
        _reject_unsupported(request, DELETED_QUERY_FIELDS)
        zone = context.company.settings.timezone
        types = set(_texts(request, type_tag))
        dates = request.find("DeletedDateRangeFilter")
        since = until = None
        if dates is not None:
            since_text, until_text = dates.findtext("FromDeletedDate"), dates.findtext("ToDeletedDate")
            since = parse_datetime(since_text, zone) if since_text else None
            until = parse_datetime(until_text, zone, end_of_day=True) if until_text else None
        kept_since = context.company.now() - DELETIONS_KEPT
        found = [d for d in sorted(deletions(context.company), key=lambda d: d.time_deleted)
                 if d.del_type in types and d.time_deleted >= kept_since and not (since and d.time_deleted < since)
                 and not (until and d.time_deleted > until)]
        outcome = Outcome([build(d) for d in found])
        if not found:
            outcome.code, outcome.message = 1, NOTHING_FOUND
        return outcome
    return handler


HANDLERS: dict[str, Handler] = {
    "HostQueryRq": host_query,
    "CompanyQueryRq": company_query,
    "PreferencesQueryRq": preferences_query,
    "AccountQueryRq": account_query,
    "TermsQueryRq": _terms_query(None),
    "StandardTermsQueryRq": _terms_query(False),
    "DateDrivenTermsQueryRq": _terms_query(True),
    "ItemQueryRq": _item_query(None),
    "ItemServiceQueryRq": _item_query(ItemKind.SERVICE),
    "ItemNonInventoryQueryRq": _item_query(ItemKind.NON_INVENTORY),
    "ItemInventoryQueryRq": _item_query(ItemKind.INVENTORY),
    "ItemOtherChargeQueryRq": _item_query(ItemKind.OTHER_CHARGE),
    "CustomerQueryRq": customer_query,
    "InvoiceQueryRq": invoice_query,
    "ListDeletedQueryRq": _deleted_query("ListDelType", lambda company: company.deleted_list_records,
                                         list_deleted_ret),
    "TxnDeletedQueryRq": _deleted_query("TxnDelType", lambda company: company.deleted_txns, txn_deleted_ret),
}
