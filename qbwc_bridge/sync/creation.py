"""Create in QuickBooks: what it sends for a record, following the account's settings.

:func:`request_create` is the person's action (and re-matching's, while sync is on);
QuickBooks' answer comes back through :mod:`.resolutions`.

Items: matching on Name, the new item's Name is the SKU and the BlueTrace name its
description; otherwise the SKU goes into ManufacturerPartNumber or BarCodeValue and the
BlueTrace name is the Name. Income account = the General tab's "AR" account, expense
(or, for inventory, cost of goods sold) = "AP". Customers: the BlueTrace name, company
name, billing email, phone and addresses.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import backends, outbox
from ..operations import ItemKind, NewCustomer, NewItem, NewRecord, SkuPlace, address
from ..domain import IssueType, ItemMatchField, PendingAction
from ..errors import Conflict, DataError, NeedsPerson
from ..store.models import Account, BtCustomer, BtItem, QbAccount
from . import facts, pulls
from .facts import ITEMS, Side, record

CREATE_PRIORITY = 50  # creations go after pulls and look-ups: they must not duplicate what those would find


def new_record(db: Session, account: Account, side: Side, row, name: str | None) -> NewRecord:
    """The Add for one record, following the account's settings.

    Raises:
        NeedsPerson: something a person must set first (accounts, a SKU, a name).
    """
    if not pulls.initial_done(db, account.id, side.list_name):
        raise NeedsPerson(
            f"The bridge is still reading QuickBooks' {side.list_name.value}; creating now could make a duplicate.",
            action="Try again once the connection shows Connected.",
        )
    chosen = (name or "").strip() or None
    return _new_item(db, account, row, chosen) if side is ITEMS else _new_customer(row, chosen)


def _account_ref(db: Session, account: Account, list_id: str | None, what: str) -> str:
    found = db.get(QbAccount, (account.id, list_id)) if list_id else None
    if found is None or not found.is_active:
        raise NeedsPerson(
            f"Creating items in QuickBooks needs the {what} account, and it is not set (or no longer in QuickBooks).",
            action="Choose the AR and AP accounts on the General tab, then try again.",
        )
    return list_id


def _inventory_asset(db: Session, account: Account) -> str:
    assets = list(db.scalars(select(QbAccount).where(
        QbAccount.account_id == account.id, QbAccount.account_type == "OtherCurrentAsset", QbAccount.is_active)))
    preferred = [a for a in assets if a.full_name.casefold() == "inventory asset"] or assets
    if not preferred:
        raise NeedsPerson(
            "Inventory items need an inventory asset account, and QuickBooks has none.",
            action="Turn inventory on in QuickBooks (it creates \u201cInventory Asset\u201d), click Re-sync, then try again.",
        )
    return preferred[0].list_id


def _new_item(db: Session, account: Account, row: BtItem, name: str | None) -> NewItem:
    field = facts.match_field(account)
    sku = (row.sku or "").strip() or None
    if sku is None:
        raise NeedsPerson("This item has no SKU, so an item created from it could never match.",
                          action="Enter the SKU in BlueTrace first.")
    income = _account_ref(db, account, account.ar_account_id, '"AR" (income)')
    expense = _account_ref(db, account, account.ap_account_id, '"AP" (expense)')
    kind = ItemKind(row.kind) if row.kind in ItemKind._value2member_map_ else ItemKind.NON_INVENTORY
    if field is ItemMatchField.NAME:
        qb_name, description = name or sku, row.name  # the SKU is the name; BlueTrace's name describes it
    else:
        qb_name, description = name or row.name, row.description or row.name
    if field is ItemMatchField.MANUFACTURER_PART_NUMBER and kind is ItemKind.SERVICE:
        raise NeedsPerson("QuickBooks service items have no manufacturer part number, so this SKU could not be "
                          "stored where matching looks for it.",
                          action="Match service items by hand, or match items by name on the Items tab.")
    return NewItem(
        record_id=row.item_id, name=qb_name, kind=kind, sku=sku, sku_place=SkuPlace(field.value),
        description=description, sales_price=row.sales_price, purchase_cost=row.purchase_cost,
        income_account_id=income, expense_account_id=expense,
        asset_account_id=_inventory_asset(db, account) if kind is ItemKind.INVENTORY else None,
        active=bool(row.active),
    )


def _new_customer(row: BtCustomer, name: str | None) -> NewCustomer:
    qb_name = name or (row.name or "").strip()
    if not qb_name:
        raise NeedsPerson("This customer has no name.", action="Enter the customer's name in BlueTrace first.")
    return NewCustomer(
        record_id=row.customer_id, name=qb_name, active=bool(row.active), company_name=row.company_name or None,
        email=(row.billing_email or "").strip() or None, phone=row.phone or None,
        bill_address=address(row.bill_address), ship_address=address(row.ship_address),
    )


def request_create(db: Session, account: Account, side: Side, record_id: str, name: str | None = None) -> None:
    """Create in QuickBooks: queue the Add that makes this record match afterwards.

    ``name`` replaces the QuickBooks name (the rename action after a duplicate name).

    Raises:
        NotFound: no such record.
        Conflict: it is already matched.
        NeedsPerson: the General tab's accounts are missing, QuickBooks is still being
            read, or a field cannot go to QuickBooks as it is (``DataError`` names it).
    """
    row = record(db, side, account, record_id)
    if row.qb_list_id:
        raise Conflict(
            f"This {side.noun} already matches a QuickBooks {side.noun}.",
            action="Unmatch it first if the match is wrong.",
        )
    if row.pending == PendingAction.CREATING.value:
        return
    spec = new_record(db, account, side, row, name)
    backends.for_account(account).check_new_record(account, spec)
    outbox.enqueue(db, account.id, side.create_kind.value, spec.to_payload(), priority=CREATE_PRIORITY)
    row.pending = PendingAction.CREATING.value


def create_automatically(db: Session, account: Account, side: Side, record_id: str) -> None:
    """Sync is on and nothing matches: create, or say on the record why that cannot happen yet."""
    try:
        request_create(db, account, side, record_id)
    except DataError as refused:
        row = db.get(side.model, (account.id, record_id))
        row.issue = IssueType.CREATE_FAILED.value
        row.issue_detail = failure_detail(side, account, refused.explanation, refused.action or "", "", refused.field)
    except (NeedsPerson, Conflict) as blocked:
        row = db.get(side.model, (account.id, record_id))
        detail = dict(row.issue_detail or {})
        detail["create_blocked"] = f"{blocked.explanation} {blocked.action or ''}".strip()
        row.issue_detail = detail


def failure_detail(side: Side, account: Account, explanation: str, action: str, quickbooks_message: str,
                   field: str | None) -> dict:
    detail: dict[str, Any] = {"message": explanation, "action": action, "candidates": []}
    if quickbooks_message:
        detail["quickbooks_message"] = quickbooks_message
    if field in (None, "name"):
        detail["actions"] = [rename_action(side, account)]
    return detail


def rename_action(side: Side, account: Account) -> dict[str, Any]:
    return {"action": "rename", "label": "Create in QuickBooks under another name", "field": "name",
            "max_length": backends.for_account(account).limits.name_limit(side.list_name)}
