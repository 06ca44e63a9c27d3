"""The one JSON view of a BlueTrace item or customer and its QuickBooks match.

The API and the admin both show records this way: the fields BlueTrace sent, the match
state, the issue in plain words (the engine's own when it wrote some into
``issue_detail``, else the help article's), the QuickBooks counterpart and the records
offered as matches, and the actions that make sense now.

Views of a page cost no SQL: :func:`preload_counterparts` loads the page's QuickBooks
records in one query into a cache that lives as long as the unit of work.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from ..domain import IssueType, ItemMatchField
from ..store.models import Account, BtCustomer, BtItem, QbCustomer, QbItem
from . import validation as v

# What each issue means and how to resolve it, in the help article's words.
ITEM_ISSUE_TEXT = {
    "missing_sku": (
        "This item has no SKU in BlueTrace.",
        "Enter the SKU; the bridge then looks for a match in QuickBooks.",
    ),
    "not_found": (
        "No QuickBooks item carries this SKU.",
        "If the item exists in QuickBooks, enter the SKU on it there and click Re-sync; "
        "otherwise click Create in QuickBooks, or pick a suggested match.",
    ),
    "duplicate_name": (
        "QuickBooks already has an item with this name, and it does not allow two items with the same name.",
        "Rename the item in BlueTrace (or create it under another name), or rename the item in QuickBooks.",
    ),
    "duplicate_match": (
        "Several QuickBooks items carry this SKU.",
        "Pick the QuickBooks item that is this one.",
    ),
    "create_failed": (
        "QuickBooks refused to create this item.",
        "Fix what the message says, then click Create in QuickBooks again.",
    ),
}
CUSTOMER_ISSUE_TEXT = {
    "missing_email": (
        "This customer has no billing email in BlueTrace.",
        "Enter the billing email; the bridge then looks for a match in QuickBooks.",
    ),
    "not_found": (
        "No QuickBooks customer has this email.",
        "If the customer exists in QuickBooks, enter the billing email on it there and click Re-sync; "
        "otherwise click Create in QuickBooks, or pick a suggested match.",
    ),
    "duplicate_name": (
        "QuickBooks already has a customer, vendor, employee or other name like this one, "
        "and it does not allow two with the same name.",
        "Rename the customer in BlueTrace (or create it under another name), or rename the other one in QuickBooks.",
    ),
    "duplicate_match": (
        "Several customers share this email in QuickBooks or in BlueTrace.",
        "Pick which QuickBooks customer is this one.",
    ),
    "create_failed": (
        "QuickBooks refused to create this customer.",
        "Fix what the message says, then click Create in QuickBooks again.",
    ),
}
_CREATABLE_ISSUES = {IssueType.NOT_FOUND.value, IssueType.DUPLICATE_NAME.value, IssueType.CREATE_FAILED.value}


def preload_counterparts(db: Session, account_id: int, qb: type, rows: Iterable[Any]) -> None:
    """Load the matched and offered QuickBooks records of ``rows`` in one query, so that the
    views of a page cost no SQL (see :func:`_qb_record`)."""
    wanted = set()
    for row in rows:
        if row.qb_list_id:
            wanted.add(row.qb_list_id)
        wanted.update(_candidate_ids(row.issue_detail))
        wanted.update(_candidate_ids(row.issue_detail, "inactive"))
    cache = _qb_cache(db)
    wanted = sorted(list_id for list_id in wanted if (qb, account_id, list_id) not in cache)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found = {r.list_id: r for r in db.scalars(select(qb).where(qb.account_id == account_id, qb.list_id.in_(chunk)))}
        cache.update({(qb, account_id, list_id): found.get(list_id) for list_id in chunk})


def _qb_cache(db: Session) -> dict[tuple, Any]:
    """QuickBooks records (or None: not in the mirror) by (model, account, QuickBooks id), for this unit of work."""
    return db.info.setdefault("qbwc_bridge.qb_records", {})


def _qb_record(db: Session, model: type, account_id: int, list_id: str) -> Any:
    cache = _qb_cache(db)
    key = (model, account_id, list_id)
    if key not in cache:
        cache[key] = db.get(model, (account_id, list_id))
    return cache[key]


def _item_match_field(db: Session, account_id: int) -> str:
    fields = db.info.setdefault("qbwc_bridge.item_match_field", {})
    if account_id not in fields:
        account = db.get(Account, account_id)
        fields[account_id] = account.item_match_field if account else ItemMatchField.NAME.value
    return fields[account_id]


def _candidate_ids(detail: Mapping[str, Any] | None, key: str = "candidates") -> list[str]:
    """Ids of the QuickBooks records the engine listed under ``key`` of ``issue_detail``.

    ``candidates`` are suggested matches; ``inactive`` are inactive records carrying the
    exact key. Entries are objects with ``quickbooks_id`` (or bare ids).
    """
    return list(_reasons(detail, key))


def _reasons(detail: Mapping[str, Any] | None, key: str) -> dict[str, str | None]:
    """QuickBooks id -> why it is offered, in the engine's order."""
    found: dict[str, str | None] = {}
    for entry in (detail or {}).get(key) or ():
        if isinstance(entry, str):
            found[entry] = None
        elif isinstance(entry, Mapping):
            list_id = entry.get("quickbooks_id") or entry.get("list_id")
            if isinstance(list_id, str):
                reason = entry.get("reason")
                found[list_id] = reason if isinstance(reason, str) else None
    return found


def _offered(detail: Mapping[str, Any] | None, key: str, qb: Any) -> list[dict[str, Any]]:
    return [{**qb(list_id), "reason": reason} for list_id, reason in _reasons(detail, key).items()]


def _detail_text(detail: Mapping[str, Any], key: str) -> str | None:
    value = detail.get(key)
    return value if isinstance(value, str) and value else None


def _match_state(row: Any) -> str:
    if row.pending:
        return "pending"
    if row.qb_list_id:
        return "matched"
    if row.issue:
        return "issue"
    return "unmatched"


def _actions(row: Any, has_candidates: bool) -> list[str]:
    """What a person may do now (advice for buttons; the engine has the last word)."""
    actions = ["resync"]
    if not row.qb_list_id and not row.pending and row.issue in _CREATABLE_ISSUES:
        actions.append("create_in_quickbooks")
    actions.append("match")
    if has_candidates and not row.qb_list_id:
        actions.append("accept_suggestion")
    if row.qb_list_id:
        actions.append("unmatch")
    return actions


def _match_fields(row: Any, texts: Mapping[str, tuple[str, str]], qb: Any) -> dict[str, Any]:
    """The match part of a view: state, issue in plain words (the engine's, else the help
    article's), what QuickBooks said, and the QuickBooks records offered."""
    detail = (row.issue_detail or {}) if row.issue else {}
    explanation, resolution = texts.get(row.issue, (None, None))
    candidates = _offered(detail, "candidates", qb)
    rename = next(
        (a for a in detail.get("actions") or () if isinstance(a, Mapping) and a.get("action") == "rename"), None
    )
    return {
        "match_state": _match_state(row),
        "matched_by": row.matched_by,
        "issue": row.issue,
        "issue_message": _detail_text(detail, "message") or explanation,
        "resolution": _detail_text(detail, "action") or resolution,
        "quickbooks_message": _detail_text(detail, "quickbooks_message"),
        "rename_max_length": rename.get("max_length") if rename else None,
        "shared_with": [str(other) for other in detail.get("shared_with") or ()],
        "pending": row.pending,
        "candidates": candidates,
        "inactive_matches": _offered(detail, "inactive", qb),
        "actions": _actions(row, bool(candidates)),
        "updated_at": row.updated_at.isoformat() if row.updated_at else None,
    }


def item_view(row: BtItem) -> dict[str, Any]:
    """The JSON shape of an item, with its QuickBooks counterpart and suggested candidates.

    ``quickbooks.sku`` is the QuickBooks field the SKU matches (Name, ManufacturerPartNumber
    or BarCodeValue, per the account's setting).
    """
    db = object_session(row)
    match_field = _item_match_field(db, row.account_id)

    def qb(list_id: str) -> dict[str, Any]:
        record = _qb_record(db, QbItem, row.account_id, list_id)
        if record is None:  # matched to a record the mirror no longer holds (deleted in QuickBooks)
            return {"quickbooks_id": list_id, "name": None, "full_name": None, "sku": None, "item_type": None, "active": None}
        return {
            "quickbooks_id": record.list_id,
            "name": record.name,
            "full_name": record.full_name,
            "sku": getattr(record, match_field, None) if match_field != "name" else record.name,
            "item_type": record.item_type,
            "active": record.is_active,
        }

    return {
        "item_id": row.item_id,
        "sku": row.sku,
        "name": row.name,
        "description": row.description,
        "sales_price": v.money_text(row.sales_price),
        "purchase_cost": v.money_text(row.purchase_cost),
        "kind": row.kind,
        "active": row.active,
        "quickbooks": qb(row.qb_list_id) if row.qb_list_id else None,
        **_match_fields(row, ITEM_ISSUE_TEXT, qb),
    }


def customer_view(row: BtCustomer) -> dict[str, Any]:
    """The JSON shape of a customer, with its QuickBooks counterpart and suggested candidates."""
    db = object_session(row)

    def qb(list_id: str) -> dict[str, Any]:
        record = _qb_record(db, QbCustomer, row.account_id, list_id)
        if record is None:
            return {"quickbooks_id": list_id, "name": None, "full_name": None, "email": None, "active": None}
        return {
            "quickbooks_id": record.list_id,
            "name": record.name,
            "full_name": record.full_name,
            "email": record.email,
            "active": record.is_active,
        }

    return {
        "customer_id": row.customer_id,
        "name": row.name,
        "company_name": row.company_name,
        "billing_email": row.billing_email,
        "phone": row.phone,
        "bill_address": row.bill_address,
        "ship_address": row.ship_address,
        "active": row.active,
        "quickbooks": qb(row.qb_list_id) if row.qb_list_id else None,
        **_match_fields(row, CUSTOMER_ISSUE_TEXT, qb),
    }
