"""qbXML ``*Ret`` records read into the engine's mirror rows (the columns of ``QbTerms``, ``QbAccount``,
``QbItem`` and ``QbCustomer`` but the account)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from ...operations import FoundInvoice


def _bool(value) -> bool:
    return str(value).strip().lower() != "false"


def quickbooks_time(value) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _common(fields: dict, name: str) -> dict:
    return {
        "list_id": fields["ListID"],
        "full_name": fields.get("FullName") or name,
        "edit_sequence": fields.get("EditSequence"),
        "time_modified": quickbooks_time(fields.get("TimeModified")),
        "is_active": _bool(fields.get("IsActive", "true")),
    }


def terms_row(record) -> dict:
    fields = record.fields
    days = fields.get("StdDueDays")
    # Terms are named by Name alone (no FullName): they have no parents.
    return {**_common(fields, ""), "full_name": fields.get("Name", ""),
            "days_due": int(days) if days not in (None, "") else None}


def account_row(record) -> dict:
    fields = record.fields
    return {**_common(fields, fields.get("Name", "")), "account_type": fields.get("AccountType")}


ITEM_TYPES = {
    "ItemServiceRet": "Service", "ItemNonInventoryRet": "NonInventory", "ItemInventoryRet": "Inventory",
    "ItemInventoryAssemblyRet": "InventoryAssembly", "ItemOtherChargeRet": "OtherCharge", "ItemFixedAssetRet":
    "FixedAsset", "ItemSubtotalRet": "Subtotal", "ItemDiscountRet": "Discount", "ItemPaymentRet": "Payment",
    "ItemSalesTaxRet": "SalesTax", "ItemSalesTaxGroupRet": "SalesTaxGroup", "ItemGroupRet": "Group",
}  # fmt: skip
"""Every kind ItemQuery returns. A kind QuickBooks adds later is kept under its own name."""


# Where each kind keeps its sales description and price: (aggregate, description, price).
PRICE_FORMS = (("SalesOrPurchase", "Desc", "Price"), ("SalesAndPurchase", "SalesDesc", "SalesPrice"))


def item_row(record) -> dict:
    """The mirror row of an ItemQuery/Item*Add ``*Ret`` of any kind.

    Every record of an item pull passes here: no dotted-path look-ups and no ``**`` merges of
    partial dicts, which halves its cost.

    Raises:
        QbxmlParseError: a price is not a number.
    """
    fields = record.fields
    get = fields.get
    for form, desc, amount in PRICE_FORMS:
        block = get(form)
        if isinstance(block, dict):
            description = block.get(desc)
            price = record.decimal(f"{form}.{amount}") if block.get(amount) is not None else None
            break
    else:
        description = get("SalesDesc") or get("ItemDesc")
        price = record.decimal("SalesPrice") if get("SalesPrice") is not None else None
    name = get("Name") or ""
    ret_type = record.ret_type
    item_type = ITEM_TYPES.get(ret_type)
    row = _common(fields, name)
    row.update({
        "item_type": item_type if item_type is not None else ret_type.removeprefix("Item").removesuffix("Ret"),
        "name": name,
        "manufacturer_part_number": get("ManufacturerPartNumber") or None,
        "barcode": get("BarCodeValue") or None,
        "description": description or None,
        "sales_price": price,
    })
    return row


def customer_row(record) -> dict:
    """The mirror row of a CustomerRet (built as cheaply as :func:`item_row`)."""
    fields = record.fields
    get = fields.get
    name = get("Name") or ""
    terms, parent = get("TermsRef"), get("ParentRef")
    row = _common(fields, name)
    row.update({
        "name": name,
        "email": get("Email") or None,
        "terms_list_id": terms.get("ListID") if isinstance(terms, dict) else None,
        "company_name": get("CompanyName") or None,
        "parent_list_id": parent.get("ListID") if isinstance(parent, dict) else None,
    })
    return row


def found_invoice(record) -> FoundInvoice:
    """An ``InvoiceRet`` (as the look-up asks for it: ``LOOKUP_ELEMENTS``) as the engine judges it.

    A quantity or rate QuickBooks wrote unreadably is kept as None: that line then matches nothing.
    """
    lines = tuple(((line.get("ItemRef") or {}).get("ListID") or "", _decimal(line.get("Quantity")),
                   _decimal(line.get("Rate"))) for line in record.get("InvoiceLineRet") or [])
    txn_date = record.get("TxnDate")
    try:
        date = dt.date.fromisoformat(txn_date) if txn_date else None
    except ValueError:
        date = None
    return FoundInvoice(id=record.get("TxnID") or "", number=record.get("RefNumber"), note=record.get("Memo") or "",
                        guid=record.get("ExternalGUID") or None, txn_date=date, lines=lines,
                        total=record.decimal("Subtotal"), created_at=None)


def _decimal(text) -> Decimal | None:
    try:
        return Decimal(text) if text is not None else None
    except InvalidOperation:
        return None
