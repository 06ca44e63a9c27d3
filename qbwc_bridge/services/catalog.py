"""BlueTrace items and customers: storing what BlueTrace sends, listing them with their match.

BlueTrace's backend pushes records (``PUT /api/v1/items/{id}``, the import command);
the sync engine (:mod:`qbwc_bridge.sync`) decides how each one stands against
QuickBooks. This module validates and stores, asks the engine to re-match what
changed; :mod:`.match_view` shapes the JSON view the API and the admin both show.

Lists stay fast at 100k records per account because every query rides an index:
``(account_id, item_id)`` for plain pages, ``(account_id, issue, item_id)`` for the
issue filter and the counts, and the lower-cased ``*_key`` columns for search, which
is a prefix search turned into an index range (see :func:`_prefix_range`).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from ..domain import IssueType
from ..errors import Conflict, NotFound
from ..store.models import Account, BtCustomer, BtItem, ListCount, QbCustomer, QbItem, search_key
from ..sync import creation, facts, records, resolutions
from . import validation as v
# item_view / customer_view are part of this module's contract (the admin shows lists with them).
from .match_view import customer_view, item_view, preload_counterparts  # noqa: F401
from .pagination import Page, clamp

ITEM_KINDS = ("non_inventory", "service", "inventory")
ITEM_ISSUES = (
    IssueType.MISSING_SKU.value,
    IssueType.NOT_FOUND.value,
    IssueType.DUPLICATE_MATCH.value,
    IssueType.DUPLICATE_NAME.value,
    IssueType.CREATE_FAILED.value,
)
CUSTOMER_ISSUES = (
    IssueType.MISSING_EMAIL.value,
    IssueType.NOT_FOUND.value,
    IssueType.DUPLICATE_MATCH.value,
    IssueType.DUPLICATE_NAME.value,
    IssueType.CREATE_FAILED.value,
)
#: ``?issue=`` also takes these: every record with an issue, or every record without one.
ISSUE_FILTER_ANY = "any"
ISSUE_FILTER_NONE = "none"
ADDRESS_FIELDS = ("line1", "line2", "line3", "line4", "line5", "city", "state", "postal_code", "country")
ADDRESS_FIELD_MAX = 200
SEARCH_MAX = 100


class SkuInUse(Conflict):
    """Another item of the account already has this SKU (SKUs are unique in BlueTrace)."""

    def __init__(self, sku: str, other: BtItem | None):
        if other is None:
            message = f"SKU {sku!r} is already used by another item of this account; SKUs must be unique."
        else:
            message = f"SKU {sku!r} is already used by item {other.item_id!r} ({other.name}); SKUs must be unique."
        super().__init__(message)
        self.field = "sku"
        self.details = {"sku": sku, "other_item_id": other.item_id if other else None}


# -- reading what BlueTrace sends ---------------------------------------------------------


def read_item(data: Any, *, creating: bool) -> dict[str, Any]:
    """The item fields present in ``data``, validated and cleaned.

    A field that is absent stays as it is (null clears it); unknown fields are ignored,
    so BlueTrace may send more than we use. ``name`` is required to create an item.

    Raises:
        validation.InvalidInput: naming the first wrong field.
    """
    if not isinstance(data, Mapping):
        raise v.InvalidInput("body", "must be a JSON object")
    readers = {
        "sku": lambda x: v.text(x, "sku", max_length=100),
        "name": lambda x: v.text(x, "name", max_length=400, required=True),
        "description": lambda x: v.text(x, "description", max_length=4095, multiline=True),
        "sales_price": lambda x: v.money(x, "sales_price"),
        "purchase_cost": lambda x: v.money(x, "purchase_cost"),
        "kind": lambda x: v.choice(x, "kind", ITEM_KINDS),
        "active": lambda x: v.boolean(x, "active"),
    }
    if creating and "name" not in data:
        raise v.InvalidInput("name", "is required to create an item")
    return {key: read(data[key]) for key, read in readers.items() if key in data}


def read_customer(data: Any, *, creating: bool) -> dict[str, Any]:
    """The customer fields present in ``data``, validated and cleaned (rules as :func:`read_item`).

    An address is replaced as a whole: send every line you want kept.

    Raises:
        validation.InvalidInput: naming the first wrong field (``bill_address.city``).
    """
    if not isinstance(data, Mapping):
        raise v.InvalidInput("body", "must be a JSON object")
    readers = {
        "name": lambda x: v.text(x, "name", max_length=400, required=True),
        "company_name": lambda x: v.text(x, "company_name", max_length=400),
        "billing_email": lambda x: v.email(x, "billing_email"),
        "phone": lambda x: v.text(x, "phone", max_length=60),
        "bill_address": lambda x: read_address(x, "bill_address"),
        "ship_address": lambda x: read_address(x, "ship_address"),
        "active": lambda x: v.boolean(x, "active"),
    }
    if creating and "name" not in data:
        raise v.InvalidInput("name", "is required to create a customer")
    return {key: read(data[key]) for key, read in readers.items() if key in data}


def read_address(value: Any, field: str) -> dict[str, str] | None:
    """An address object with only its non-blank lines kept; None when null or empty.

    Raises:
        validation.InvalidInput: not an object, or a line that is not short text.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise v.InvalidInput(field, "must be an object with line1..line5, city, state, postal_code, country")
    address = {}
    for key in ADDRESS_FIELDS:
        line = v.text(value.get(key), f"{field}.{key}", max_length=ADDRESS_FIELD_MAX)
        if line is not None:
            address[key] = line
    return address or None


# -- storing ------------------------------------------------------------------------------


def upsert_item(db: Session, account_id: int, item_id: str, data: Any) -> BtItem:
    """Create or update one item, then have the sync engine re-match it if anything that matters changed.

    Raises:
        validation.InvalidInput: a field is wrong. SkuInUse: another item has the SKU.
    """
    item_id = v.identifier(item_id, "item_id")
    row = db.get(BtItem, (account_id, item_id))
    changes = read_item(data, creating=row is None)
    sku = changes.get("sku")
    if sku is not None and (row is None or row.sku != sku):
        other = db.scalar(
            select(BtItem).where(BtItem.account_id == account_id, BtItem.sku == sku, BtItem.item_id != item_id)
        )
        if other is not None:
            raise SkuInUse(sku, other)
    created = row is None
    if created:
        row = BtItem(account_id=account_id, item_id=item_id, kind="non_inventory", active=True)
        db.add(row)
    changed = _assign(row, changes)
    try:
        db.flush()
    except IntegrityError:  # another request took the SKU between our check and our write
        raise SkuInUse(sku or "", None) from None
    if created or changed & {"sku", "name", "active", "kind"}:
        records.rematch(db, _account(db, account_id), facts.ITEMS, [item_id])
    return row


def upsert_customer(db: Session, account_id: int, customer_id: str, data: Any) -> BtCustomer:
    """Create or update one customer, then have the sync engine re-match it if anything that matters changed.

    Raises:
        validation.InvalidInput: a field is wrong.
    """
    customer_id = v.identifier(customer_id, "customer_id")
    row = db.get(BtCustomer, (account_id, customer_id))
    changes = read_customer(data, creating=row is None)
    created = row is None
    if created:
        row = BtCustomer(account_id=account_id, customer_id=customer_id, active=True)
        db.add(row)
    changed = _assign(row, changes)
    db.flush()
    if created or changed & {"billing_email", "name", "company_name", "active"}:
        records.rematch(db, _account(db, account_id), facts.CUSTOMERS, [customer_id])
    return row


def _assign(row: Any, changes: Mapping[str, Any]) -> set[str]:
    """Set the fields that differ; returns their names."""
    changed = set()
    for key, value in changes.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed.add(key)
    return changed


def get_item(db: Session, account_id: int, item_id: str) -> BtItem:
    """Raises: NotFound (also for another account's item: tenants never see each other)."""
    row = db.get(BtItem, (account_id, item_id))
    if row is None:
        raise NotFound(f"There is no item {item_id!r} in this account.")
    return row


def get_customer(db: Session, account_id: int, customer_id: str) -> BtCustomer:
    """Raises: NotFound."""
    row = db.get(BtCustomer, (account_id, customer_id))
    if row is None:
        raise NotFound(f"There is no customer {customer_id!r} in this account.")
    return row


def _account(db: Session, account_id: int) -> Account:
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


# -- resolutions (the engine does the work; these find the record and check the request) ----


def resync_item(db: Session, account_id: int, item_id: str) -> BtItem:
    """Re-sync: ask QuickBooks again for this item's match. Raises: NotFound, NeedsPerson."""
    row = get_item(db, account_id, item_id)
    resolutions.request_resync(db, _account(db, account_id), facts.ITEMS, item_id)
    return row


def create_item_in_quickbooks(db: Session, account_id: int, item_id: str, name: str | None = None) -> BtItem:
    """Create in QuickBooks (``name``: the new QuickBooks name after a duplicate name).

    Raises: NotFound, Conflict (already matched), NeedsPerson (e.g. the General tab's accounts are not set).
    """
    row = get_item(db, account_id, item_id)
    creation.request_create(db, _account(db, account_id), facts.ITEMS, item_id, name)
    return row


def match_item(db: Session, account_id: int, item_id: str, quickbooks_id: str) -> BtItem:
    """Pick a match (also how a suggested candidate is accepted).

    Raises: NotFound (the item), validation.InvalidInput (no such QuickBooks item as of the last sync).
    """
    row = get_item(db, account_id, item_id)
    if db.get(QbItem, (account_id, quickbooks_id)) is None:
        raise v.InvalidInput("quickbooks_id", f"QuickBooks has no item with id {quickbooks_id!r} (as of the last sync).")
    resolutions.match_manually(db, _account(db, account_id), facts.ITEMS, item_id, quickbooks_id)
    return row


def unmatch_item(db: Session, account_id: int, item_id: str) -> BtItem:
    """Forget the match; the item then shows its issue again. Raises: NotFound."""
    row = get_item(db, account_id, item_id)
    resolutions.unmatch(db, _account(db, account_id), facts.ITEMS, item_id)
    return row


def resync_customer(db: Session, account_id: int, customer_id: str) -> BtCustomer:
    """Re-sync one customer. Raises: NotFound, NeedsPerson."""
    row = get_customer(db, account_id, customer_id)
    resolutions.request_resync(db, _account(db, account_id), facts.CUSTOMERS, customer_id)
    return row


def create_customer_in_quickbooks(db: Session, account_id: int, customer_id: str, name: str | None = None) -> BtCustomer:
    """Create in QuickBooks (``name`` after a duplicate name). Raises: NotFound, Conflict, NeedsPerson."""
    row = get_customer(db, account_id, customer_id)
    creation.request_create(db, _account(db, account_id), facts.CUSTOMERS, customer_id, name)
    return row


def match_customer(db: Session, account_id: int, customer_id: str, quickbooks_id: str) -> BtCustomer:
    """Pick a match / accept a suggestion. Raises: NotFound, validation.InvalidInput."""
    row = get_customer(db, account_id, customer_id)
    if db.get(QbCustomer, (account_id, quickbooks_id)) is None:
        raise v.InvalidInput(
            "quickbooks_id", f"QuickBooks has no customer with id {quickbooks_id!r} (as of the last sync)."
        )
    resolutions.match_manually(db, _account(db, account_id), facts.CUSTOMERS, customer_id, quickbooks_id)
    return row


def unmatch_customer(db: Session, account_id: int, customer_id: str) -> BtCustomer:
    """Forget the match. Raises: NotFound."""
    row = get_customer(db, account_id, customer_id)
    resolutions.unmatch(db, _account(db, account_id), facts.CUSTOMERS, customer_id)
    return row


# -- listing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalog:
    """What differs between the items list and the customers list."""

    model: type
    id_column: InstrumentedAttribute
    issues: tuple[str, ...]
    search_columns: tuple[InstrumentedAttribute, ...]
    qb_model: type


ITEMS = _Catalog(BtItem, BtItem.item_id, ITEM_ISSUES, (BtItem.sku_key, BtItem.name_key), QbItem)
CUSTOMERS = _Catalog(
    BtCustomer, BtCustomer.customer_id, CUSTOMER_ISSUES, (BtCustomer.email_key, BtCustomer.name_key), QbCustomer
)
_CATALOGS = {"items": ITEMS, "customers": CUSTOMERS}


def list_items(
    db: Session, account_id: int, *, issue: str | None = None, search: str | None = None, page: int = 1, page_size: int = 50
) -> Page:
    """One page of items (``BtItem`` rows; show each with :func:`item_view`).

    ``issue``: an issue type, ``"any"`` (every item with an issue) or ``"none"``.
    ``search``: items whose SKU or name starts with it (case-insensitive), or whose id is it.

    Raises:
        validation.InvalidInput: unknown issue, or a search that is not short text.
    """
    return _list(db, account_id, ITEMS, issue, search, page, page_size)


def list_customers(
    db: Session, account_id: int, *, issue: str | None = None, search: str | None = None, page: int = 1, page_size: int = 50
) -> Page:
    """One page of customers; ``search`` looks at the billing email and the name (prefix), and the id."""
    return _list(db, account_id, CUSTOMERS, issue, search, page, page_size)


def _list(db: Session, account_id: int, catalog: _Catalog, issue, search, page, page_size) -> Page:
    page, page_size = clamp(page, page_size)
    model = catalog.model
    where = [model.account_id == account_id]
    order = [catalog.id_column]
    if issue is not None:
        issue = v.choice(issue, "issue", (*catalog.issues, *_other_issues(catalog), ISSUE_FILTER_ANY, ISSUE_FILTER_NONE))
        if issue == ISSUE_FILTER_ANY:
            where.append(model.issue.is_not(None))
            order = [model.issue, catalog.id_column]  # index order: no sort of every issue row
        elif issue == ISSUE_FILTER_NONE:
            where.append(model.issue.is_(None))
        else:
            where.append(model.issue == issue)
    search = v.text(search, "search", max_length=SEARCH_MAX)
    if search is not None:
        where.append(catalog.id_column.in_(_search_ids(catalog, account_id, search)))
        total = db.scalar(select(func.count()).select_from(model).where(*where))
    else:
        total = _filtered_total(match_summary(db, account_id, _kind(catalog)), issue)
    rows = list(
        db.scalars(select(model).where(*where).order_by(*order).offset((page - 1) * page_size).limit(page_size))
    )
    preload_counterparts(db, account_id, catalog.qb_model, rows)
    return Page(rows=rows, total=total, page=page, page_size=page_size)


def _other_issues(catalog: _Catalog) -> tuple[str, ...]:
    """Issue types the engine may add later are filterable without a change here."""
    return tuple(i.value for i in IssueType if i.value not in catalog.issues)


def _kind(catalog: _Catalog) -> str:
    return "items" if catalog is ITEMS else "customers"


def _filtered_total(summary: Mapping[str, Any], issue: str | None) -> int:
    if issue is None:
        return summary["total"]
    if issue == ISSUE_FILTER_ANY:
        return summary["with_issue"]
    if issue == ISSUE_FILTER_NONE:
        return summary["total"] - summary["with_issue"]
    return summary["issues"].get(issue, 0)


def _search_ids(catalog: _Catalog, account_id: int, search: str):
    """Ids whose search keys start with ``search`` (or whose id is ``search``), as one UNION.

    A UNION of index range scans rather than one OR, so each branch uses its own index
    on both SQLite and PostgreSQL.
    """
    model = catalog.model
    low, high = _prefix_range(search_key(search, 400))
    branches = [select(catalog.id_column).where(model.account_id == account_id, catalog.id_column == search)]
    for column in catalog.search_columns:
        condition = [model.account_id == account_id, column >= low]
        if high is not None:
            condition.append(column < high)
        branches.append(select(catalog.id_column).where(*condition))
    return union(*branches).scalar_subquery()


def _prefix_range(prefix: str) -> tuple[str, str | None]:
    """(low, high) such that ``low <= key < high`` holds exactly for keys starting with ``prefix``.

    Valid because the key columns compare by code point (SQLite's BINARY, PostgreSQL's "C").
    ``high`` is None when no string is above every extension of the prefix.
    """
    stem = prefix.rstrip("\U0010ffff")  # the last character cannot grow: carry to the one before
    if not stem:
        return prefix, None
    last = ord(stem[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # surrogates are not text; skip to the next character
        last = 0xE000
    return prefix, stem[:-1] + chr(last)


def match_summary(db: Session, account_id: int, kind: str) -> dict[str, Any]:
    """``{"total", "matched", "with_issue", "issues": {issue: count}}`` for the Items/Customers tab.

    Never a count of every record: the total is the account's row in ``list_counts``
    (kept exact by triggers in the database, see :class:`~qbwc_bridge.store.models.ListCount`),
    and two index-only counts cover only the records with an issue (per issue) and the
    unmatched ones (matched = total - unmatched). Cached for the rest of the unit of work,
    so a page and its counts pay once.
    """
    cache = db.info.setdefault("qbwc_bridge.match_summary", {})
    if (account_id, kind) in cache:
        return cache[(account_id, kind)]
    catalog = _CATALOGS[kind]
    model = catalog.model
    mine = model.account_id == account_id
    total = db.scalar(
        select(ListCount.total).where(ListCount.account_id == account_id, ListCount.list_name == model.__tablename__)
    ) or 0
    issues = dict.fromkeys(catalog.issues, 0)
    issues.update(db.execute(select(model.issue, func.count()).where(mine, model.issue.is_not(None)).group_by(model.issue)).all())
    unmatched = db.scalar(select(func.count()).select_from(model).where(mine, model.qb_list_id.is_(None)))
    summary = {"total": total, "matched": total - unmatched, "with_issue": sum(issues.values()), "issues": issues}
    cache[(account_id, kind)] = summary
    return summary

