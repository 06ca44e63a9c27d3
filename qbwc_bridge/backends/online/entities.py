"""QuickBooks Online's JSON records and the engine's vocabulary, both ways, in one place.

Reading: :func:`terms_row`, :func:`account_row`, :func:`item_row`, :func:`customer_row` and
:func:`tax_code_row` turn QBO records into mirror rows (the columns of ``QbTerms``, ``QbAccount``,
``QbItem``, ``QbCustomer`` and ``QbTaxCode`` but the account); :func:`found_invoice` turns an Invoice into what the
engine judges "ours or not". Writing: :func:`item_body`, :func:`customer_body` and
:func:`invoice_body` build the JSON QBO takes for the engine's ``NewItem``, ``NewCustomer``
and ``NewInvoice``. Nothing here talks to QuickBooks.

Money: the engine's amounts are ``Decimal``; QBO's JSON numbers are read back through
``str`` (the shortest text of the float the JSON parser made, which is the text QBO sent for
anything of up to 15 significant digits) and written as numbers whose shortest text is
exactly the Decimal's (checked: a value that would not survive is refused as our bug).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ...errors import OurBug
from ...operations import (FoundInvoice, InvoiceState, ItemKind, NewCustomer, NewInvoice, NewItem, SkuPlace,
                           line_amount)
from ...sync.invoices import invoice_number

ITEM_TYPES = {ItemKind.SERVICE: "Service", ItemKind.NON_INVENTORY: "NonInventory", ItemKind.INVENTORY: "Inventory"}
ADDRESS_KEYS = {"line1": "Line1", "line2": "Line2", "line3": "Line3", "line4": "Line4", "line5": "Line5",
                "city": "City", "state": "CountrySubDivisionCode", "postal_code": "PostalCode", "country": "Country"}
DOC_NUMBER_LENGTH = 21


# ----------------------------------------------------------------------------- reading
def quickbooks_time(value: str | None) -> dt.datetime | None:
    """QBO's ``2026-12-03T01:40:00-08:00`` as an aware UTC datetime (None when absent)."""
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _ref(record: dict, field: str) -> str | None:
    ref = record.get(field)
    return ref.get("value") if isinstance(ref, dict) else None


def _common(record: dict, name: str) -> dict[str, Any]:
    metadata = record.get("MetaData") or {}
    return {
        "list_id": str(record["Id"]),
        "full_name": record.get("FullyQualifiedName") or name,
        "edit_sequence": record.get("SyncToken"),
        "time_modified": quickbooks_time(metadata.get("LastUpdatedTime")),
        "is_active": bool(record.get("Active", True)),
    }


def created_at(record: dict) -> dt.datetime | None:
    return quickbooks_time((record.get("MetaData") or {}).get("CreateTime"))


def terms_row(record: dict) -> dict[str, Any]:
    days = record.get("DueDays")
    return {**_common(record, record.get("Name", "")), "full_name": record.get("Name", ""),
            "days_due": int(days) if days is not None else None}


def tax_code_row(record: dict) -> dict[str, Any]:
    """A TaxCode as a mirror row. Our reading of Intuit's reference (no TaxCode is recorded): Name is what
    QuickBooks shows ("20.0% S"), Description its longer words; a Hidden code is one QuickBooks keeps for
    itself and does not offer on a sales form, so it is mirrored as inactive (never offered as the setting)."""
    name = record.get("Name", "")
    return {**_common(record, name), "full_name": name, "description": record.get("Description"),
            "is_active": bool(record.get("Active", True)) and not record.get("Hidden", False)}


def account_type(value: str | None) -> str | None:
    """QBO's account type in the engine's spelling (Desktop's): ``Cost of Goods Sold`` → ``CostOfGoodsSold``.

    The engine compares types (an inventory item's asset account is ``OtherCurrentAsset``), so
    one spelling serves both backends.
    """
    return "".join(word[:1].upper() + word[1:] for word in value.split()) if value else None


def account_row(record: dict) -> dict[str, Any]:
    return {**_common(record, record.get("Name", "")), "account_type": account_type(record.get("AccountType"))}


def item_row(record: dict) -> dict[str, Any]:
    name = record.get("Name") or ""
    return {
        **_common(record, name),
        "item_type": record.get("Type") or "Service",
        "name": name,
        "manufacturer_part_number": None,  # QBO has neither field; the Sku is its SKU
        "barcode": None,
        "sku": (record.get("Sku") or "").strip() or None,
        "description": record.get("Description") or None,
        "sales_price": decimal(record.get("UnitPrice")),
    }


def customer_row(record: dict) -> dict[str, Any]:
    name = record.get("DisplayName") or ""
    email = (record.get("PrimaryEmailAddr") or {}).get("Address")
    return {
        **_common(record, name),
        "name": name,
        "email": email or None,
        "terms_list_id": _ref(record, "SalesTermRef"),
        "company_name": record.get("CompanyName") or None,
        "parent_list_id": _ref(record, "ParentRef"),
    }


def found_invoice(record: dict) -> FoundInvoice:
    """An Invoice as the engine judges it. QBO has no external id field: ``guid`` is None, the marker decides."""
    lines, amounts = [], []
    for line in record.get("Line") or ():
        detail = line.get("SalesItemLineDetail") if line.get("DetailType") == "SalesItemLineDetail" else None
        if detail:
            lines.append((_ref(detail, "ItemRef") or "", decimal(detail.get("Qty")) or Decimal(0),
                          decimal(detail.get("UnitPrice")) or Decimal(0)))
            amounts.append(decimal(line.get("Amount")) or Decimal(0))
    txn_date = record.get("TxnDate")
    # The lines' own total, as sent: TotalAmt adds the tax QuickBooks computed (US sales tax, VAT, GST).
    return FoundInvoice(
        id=str(record["Id"]), number=record.get("DocNumber"), note=record.get("PrivateNote") or "", guid=None,
        txn_date=dt.date.fromisoformat(txn_date) if txn_date else None, lines=tuple(lines),
        total=sum(amounts, Decimal(0)), created_at=created_at(record))


VOIDED_NOTE = "Voided"  # what QuickBooks Online writes into PrivateNote when an invoice is voided (recorded)


def invoice_state(record: dict) -> InvoiceState:
    """How an Invoice stands: TotalAmt and Balance as QuickBooks has them now.

    QuickBooks Online keeps a voided invoice with every amount zeroed and "Voided" in its
    PrivateNote (the recorded void answer); no other field says it, so both are required: an
    invoice merely edited down to zero keeps its note.
    """
    total = decimal(record.get("TotalAmt")) or Decimal(0)
    note = record.get("PrivateNote") or ""
    return InvoiceState(id=str(record["Id"]), total=total, balance=decimal(record.get("Balance")) or Decimal(0),
                        voided=total == 0 and note.startswith(VOIDED_NOTE),
                        modified_at=quickbooks_time((record.get("MetaData") or {}).get("LastUpdatedTime")))


# ----------------------------------------------------------------------------- writing
def number(value: Decimal) -> int | float:
    """``value`` as a JSON number whose text is exactly the Decimal's.

    Raises:
        OurBug: more significant digits than a float carries (never for the engine's prices).
    """
    if value == value.to_integral_value():
        return int(value)
    as_float = float(value)
    if Decimal(repr(as_float)) != value:
        raise OurBug(f"{value} cannot be sent to QuickBooks Online exactly")
    return as_float


def address_body(value: dict[str, str] | None) -> dict[str, str] | None:
    if not value:
        return None
    body = {ADDRESS_KEYS[key]: text for key, text in value.items() if key in ADDRESS_KEYS and text}
    return body or None


def _ref_to(record_id: str) -> dict[str, str]:
    return {"value": record_id}


def item_body(spec: NewItem, today: dt.date) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": spec.name, "Type": ITEM_TYPES[spec.kind], "Active": spec.active,
                            "IncomeAccountRef": _ref_to(spec.income_account_id)}
    if spec.sku_place is SkuPlace.SKU and spec.sku:
        body["Sku"] = spec.sku
    if spec.description:
        body["Description"] = spec.description
    if spec.sales_price is not None:
        body["UnitPrice"] = number(spec.sales_price)
    if spec.purchase_cost is not None:
        body["PurchaseCost"] = number(spec.purchase_cost)
    if spec.expense_account_id:
        body["ExpenseAccountRef"] = _ref_to(spec.expense_account_id)
    if spec.kind is ItemKind.INVENTORY:
        # QBO requires the asset account, tracking, a starting quantity and its date for inventory items.
        body.update(AssetAccountRef=_ref_to(spec.asset_account_id or ""), TrackQtyOnHand=True, QtyOnHand=0,
                    InvStartDate=today.isoformat())
    return body


def customer_body(spec: NewCustomer) -> dict[str, Any]:
    body: dict[str, Any] = {"DisplayName": spec.name, "Active": spec.active}
    if spec.company_name:
        body["CompanyName"] = spec.company_name
    if spec.email:
        body["PrimaryEmailAddr"] = {"Address": spec.email}
    if spec.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": spec.phone}
    for field, value in (("BillAddr", spec.bill_address), ("ShipAddr", spec.ship_address)):
        if address_body(value):
            body[field] = address_body(value)
    return body


def doc_number(spec: NewInvoice) -> str | None:
    """Our DocNumber, or None when QuickBooks numbers the invoice (General tab)."""
    return None if spec.number is None else invoice_number(spec.number, DOC_NUMBER_LENGTH)


def invoice_body(spec: NewInvoice, *, own_numbers: bool = True) -> dict[str, Any]:
    """The Invoice for one packed order. SalesTermRef only when the engine says the customer has no terms.

    ``own_numbers``: the company's "Custom transaction numbers" is on. Off, QuickBooks numbers every invoice
    itself and a DocNumber is not sent. On, an invoice without our number asks for QuickBooks' next one
    (AutoDocNumber): without it QuickBooks would save the invoice with no number at all.
    """
    lines = []
    for line in spec.lines:
        detail = {"ItemRef": _ref_to(line.item_id), "Qty": number(line.quantity),
                  "UnitPrice": number(line.unit_price)}
        body_line: dict[str, Any] = {"DetailType": "SalesItemLineDetail",
                                     "Amount": number(line_amount(line.quantity, line.unit_price)),
                                     "SalesItemLineDetail": detail}
        if line.description:
            body_line["Description"] = line.description
        lines.append(body_line)
    body: dict[str, Any] = {"CustomerRef": _ref_to(spec.customer_id), "TxnDate": spec.txn_date.isoformat(),
                            "PrivateNote": spec.note, "Line": lines}
    if own_numbers and spec.number is not None:
        body["DocNumber"] = doc_number(spec)
    elif own_numbers:
        body["AutoDocNumber"] = True
    if spec.terms_id:
        body["SalesTermRef"] = _ref_to(spec.terms_id)
    for field, value in (("BillAddr", spec.bill_address), ("ShipAddr", spec.ship_address)):
        if address_body(value):
            body[field] = address_body(value)
    return body


def set_tax_code(body: dict[str, Any], tax_code_id: str | None) -> None:
    """Put the tax code on every sales line of an Invoice body (QuickBooks outside the US needs one on each)."""
    if tax_code_id is None:
        return
    for line in body["Line"]:
        line["SalesItemLineDetail"]["TaxCodeRef"] = _ref_to(tax_code_id)
