"""What QuickBooks Desktop can store, asked before anything is queued.

The engine calls these while a person waits (Create in QuickBooks, Re-sync), so a name
too long or a character Desktop cannot hold is told at once rather than discovered in a
Web Connector session. They render the request the session would send, with the same
text policy, and import nothing of the engine: ``sync/`` may call them without a circle.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from ...errors import DataError
from ...operations import ItemKind, ListName, NewCustomer, NewInvoice, NewRecord, SkuPlace
from ...sync.invoices import invoice_number
from .qbxml import QbxmlVersion, render_request

QUERY_REQUESTS = {ListName.ITEMS: "ItemQuery", ListName.CUSTOMERS: "CustomerQuery"}
OLDEST_COMPANY_VERSION = "13.0"  # what an account that has not told us its version is checked against


ITEM_ADD_REQUESTS = {ItemKind.SERVICE: "ItemServiceAdd", ItemKind.NON_INVENTORY: "ItemNonInventoryAdd",
                     ItemKind.INVENTORY: "ItemInventoryAdd"}
_ADDRESS_LINES = ("line1", "line2", "line3", "line4", "line5")


def qbxml_address(address: dict[str, str] | None) -> dict[str, str] | None:
    """BlueTrace's address shape (line1..line5, city, state, postal_code, country) in qbXML's keys."""
    if not address:
        return None
    lines = [address[key] for key in _ADDRESS_LINES if address.get(key)]
    converted = {f"addr{number}": line for number, line in enumerate(lines, start=1)}
    for key in ("city", "state", "postal_code", "country"):
        if address.get(key):
            converted[key] = address[key]
    return converted or None


def add_request(spec: NewRecord) -> tuple[str, dict[str, Any]]:
    """The qbXML Add (request type and data for the renderer) that creates ``spec``."""
    if isinstance(spec, NewCustomer):
        data = {"name": spec.name, "is_active": spec.active, "company_name": spec.company_name,
                "bill_address": qbxml_address(spec.bill_address), "ship_address": qbxml_address(spec.ship_address),
                "phone": spec.phone, "email": spec.email}
        return "CustomerAdd", {key: value for key, value in data.items() if value is not None}
    request = ITEM_ADD_REQUESTS[spec.kind]
    data = {"name": spec.name, "is_active": spec.active, "sales_desc": spec.description,
            "sales_price": spec.sales_price, "income_account_list_id": spec.income_account_id,
            "purchase_desc": spec.description, "purchase_cost": spec.purchase_cost}
    if spec.kind is ItemKind.INVENTORY:
        data["cogs_account_list_id"] = spec.expense_account_id
        data["asset_account_list_id"] = spec.asset_account_id
    else:
        data["expense_account_list_id"] = spec.expense_account_id
    if spec.sku_place is SkuPlace.MANUFACTURER_PART_NUMBER:
        data["manufacturer_part_number"] = spec.sku
    elif spec.sku_place is SkuPlace.BARCODE:
        data["bar_code_value"] = spec.sku
    return request, {key: value for key, value in data.items() if value is not None}


REF_NUMBER_LENGTH = 11  # InvoiceAdd/RefNumber


def invoice_data(spec: NewInvoice) -> dict[str, Any]:
    """The InvoiceAdd data (render.py's keys) of an invoice: RefNumber its last 11 characters, the note in Memo.

    No number (QuickBooks numbers invoices): no RefNumber, and QuickBooks Desktop gives the next one in its sequence.
    """
    return {
        "customer_list_id": spec.customer_id,
        "txn_date": spec.txn_date,
        "ref_number": None if spec.number is None else invoice_number(spec.number, REF_NUMBER_LENGTH),
        "bill_address": qbxml_address(spec.bill_address),
        "ship_address": qbxml_address(spec.ship_address),
        "po_number": spec.po_number,
        "terms_list_id": spec.terms_id,
        "memo": spec.note,
        "external_guid": uuid.UUID(spec.guid),
        "lines": [{"item_list_id": line.item_id, "desc": line.description, "quantity": line.quantity,
                   "rate": line.unit_price} for line in spec.lines],
    }


def check_new_record(spec: NewRecord, qbxml_version: str | None) -> None:
    """Render the Add once now, against the company's qbXML version (``None``: not known yet).

    Raises:
        DataError: what to change, naming the record and the field.
    """
    request, data = add_request(spec)
    render_request(request, "check", data, QbxmlVersion.parse(qbxml_version or OLDEST_COMPANY_VERSION))


def queryable_names(list_name: ListName, names: Iterable[str | None]) -> list[str]:
    """The names QuickBooks can be asked for (a FullName filter): trimmed, unique, storable.

    A name QuickBooks could not hold (too long, not Latin-1) cannot be in QuickBooks
    either, so it is left out of the look-up rather than failing it.
    """
    found: dict[str, None] = {}
    for name in names:
        name = (name or "").strip()
        if not name or name.casefold() in {n.casefold() for n in found}:
            continue
        try:
            render_request(QUERY_REQUESTS[list_name], "check", {"full_names": [name]})
        except DataError:
            continue
        found[name] = None
    return list(found)
