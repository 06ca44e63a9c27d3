"""Writes through the API: creating items, customers and invoices, sparse updates of items
and customers, with QuickBooks' validation.

Checks run in a fixed order and the first failure is answered (QuickBooks sometimes
lists several errors; one is enough to refuse). Where the recordings and PROTOCOL §5 say
nothing, a comment marks the rule as ours. Numbers arrive as ``Decimal`` (the app parses
JSON with ``parse_float=Decimal``).

A body with ``Id`` is an update. Only sparse updates (``"sparse": true``) of the fields
in ``UPDATABLE`` are modelled; a full update, an invoice update or another field is
answered Unsupported Operation rather than pretended. A SyncToken other than the
record's is the recorded 5010 Stale Object Error (batch_basic).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import faults
from .company import FakeCompany, fold
from .records import Record

CENT = Decimal("0.01")
ITEM_TYPES = ("Service", "NonInventory", "Inventory")
INCOME_ACCOUNT_TYPES = ("Income", "Other Income")
EXPENSE_ACCOUNT_TYPES = ("Cost of Goods Sold", "Expense", "Other Expense")
ASSET_ACCOUNT_TYPES = ("Other Current Asset",)

ITEM_PROPERTIES = (
    "Name", "Sku", "Description", "Active", "SubItem", "ParentRef", "Level", "FullyQualifiedName", "Taxable",
    "SalesTaxIncluded", "UnitPrice", "Type", "IncomeAccountRef", "PurchaseDesc", "PurchaseTaxIncluded",
    "PurchaseCost", "ExpenseAccountRef", "AssetAccountRef", "TrackQtyOnHand", "QtyOnHand", "InvStartDate",
    "SalesTaxCodeRef", "PurchaseTaxCodeRef", "ClassRef", "PrefVendorRef", "ReorderPoint", "ItemCategoryType",
    "domain", "sparse", "Id", "SyncToken", "MetaData",
)
CUSTOMER_PROPERTIES = (
    "DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName", "FullyQualifiedName",
    "PrintOnCheckName", "Active", "PrimaryPhone", "AlternatePhone", "Mobile", "Fax", "PrimaryEmailAddr", "WebAddr",
    "BillAddr", "ShipAddr", "Notes", "Job", "BillWithParent", "ParentRef", "Level", "SalesTermRef",
    "PaymentMethodRef", "Balance", "OpenBalanceDate", "BalanceWithJobs", "CurrencyRef", "PreferredDeliveryMethod",
    "ResaleNum", "Taxable", "TaxExemptionReasonId", "DefaultTaxCodeRef", "PrimaryTaxIdentifier", "ARAccountRef",
    "domain", "sparse", "Id", "SyncToken", "MetaData",
)
# The recorded 2010 answer lists 60 of Invoice's 83 properties; the rest are Intuit's documented ones.
INVOICE_PROPERTIES = (
    "DocNumber", "HomeTotalAmt", "TotalAmt", "TxnSource", "AllowOnlinePayment", "RecurringInfo", "EmailStatus",
    "AutoDocNumber", "TaxFormNum", "TxnDate", "FOB", "ClassRef", "AllowOnlineACHPayment", "DepositToAccountRef",
    "AllowOnlineCreditCardPayment", "CurrencyRef", "InvoiceLink", "PONumber", "ShipDate", "PaymentMethodRef",
    "TrackingNum", "TxnTaxDetail", "CustomerRef", "ShipFromAddr", "BillAddr", "Id", "ApplyTaxAfterDiscount",
    "DepartmentRef", "SalesRepRef", "ExchangeRate", "domain", "TaxFormType", "BillEmailBcc", "CustomerMemo",
    "TxnStatus", "HomeBalance", "PrintStatus", "DiscountRate", "DeliveryInfo", "AllowIPNPayment", "CustomField",
    "TransactionLocationType", "MetaData", "LinkedTxn", "PrivateNote", "ShipMethodRef", "PaymentRefNum",
    "Line", "SalesTermRef", "DueDate", "ShipAddr", "BillEmail", "BillEmailCc", "Balance", "Deposit",
    "GlobalTaxCalculation", "SyncToken", "sparse",
)
LINE_PROPERTIES = ("Id", "LineNum", "Description", "Amount", "DetailType", "SalesItemLineDetail", "LinkedTxn")
SALES_LINE_PROPERTIES = ("ItemRef", "Qty", "UnitPrice", "TaxCodeRef", "ServiceDate", "ClassRef", "ItemAccountRef",
                         "DiscountRate", "DiscountAmt", "TaxInclusiveAmt", "PriceLevelRef", "MarkupInfo")

# Sent back by clients that post what they read; QuickBooks computes these itself.
CUSTOMER_READ_ONLY = ("domain", "sparse", "MetaData", "SyncToken", "FullyQualifiedName", "Balance",
                      "BalanceWithJobs")
ITEM_LIMITS = {"Name": 100, "Sku": 100, "Description": 4000, "PurchaseDesc": 1000}
CUSTOMER_LIMITS = {"DisplayName": 500, "Title": 16, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
                   "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 110, "Notes": 2000}
ADDRESS_LIMITS = {"Line1": 500, "Line2": 500, "Line3": 500, "Line4": 500, "Line5": 500, "City": 255,
                  "Country": 255, "CountrySubDivisionCode": 255, "PostalCode": 30}
INVOICE_LIMITS = {"DocNumber": 21, "PrivateNote": 4000}
# A colon separates parent and child in FullyQualifiedName, so names may not contain one (nor a
# tab or line break): QBO answers 2040 for a customer name with colons (a reported answer).
FORBIDDEN_IN_NAMES = (":", "\t", "\n", "\r")


UPDATABLE = {
    "Item": ("Name", "Sku", "Description", "Active", "UnitPrice", "Taxable", "PurchaseDesc", "PurchaseCost",
             "IncomeAccountRef", "ExpenseAccountRef"),
    "Customer": ("DisplayName", "Title", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
                 "PrintOnCheckName", "Notes", "PrimaryEmailAddr", "PrimaryPhone", "BillAddr", "ShipAddr", "Active",
                 "SalesTermRef"),
}
UPDATE_ENVELOPE = ("Id", "SyncToken", "sparse", "domain", "MetaData")


def write(company: FakeCompany, entity: str, body: Any) -> Record:
    if not isinstance(body, dict):
        raise faults.unparsable_body("the body must be a JSON object")
    if company.settings.subscription_ended:
        raise faults.subscription_ended()
    if "Id" in body:
        return update(company, entity, body)
    return {"Item": create_item, "Customer": create_customer, "Invoice": create_invoice}[entity](company, body)


def _not_modelled(what: str) -> faults.Fault:
    return faults.Fault(400, "500", "Unsupported Operation", f"The fake QuickBooks Online does not model {what}")


def update(company: FakeCompany, entity: str, body: dict[str, Any]) -> Record:
    if entity not in UPDATABLE:
        raise _not_modelled(f"{entity} updates")
    if body.get("sparse") is not True:
        raise _not_modelled("full updates (send sparse: true)")
    _known(body, entity, ITEM_PROPERTIES if entity == "Item" else CUSTOMER_PROPERTIES)
    record = company.table(entity).get(str(body["Id"]))
    if record is None:
        raise faults.object_not_found()
    if body.get("SyncToken") != record["SyncToken"]:
        raise faults.stale_object()
    changes = {key: value for key, value in body.items() if key not in UPDATE_ENVELOPE}
    for key in changes:
        if key not in UPDATABLE[entity]:
            raise _not_modelled(f"updating {entity}.{key}")
    if entity == "Item":
        _check_item_changes(company, record, changes)
    else:
        _check_customer_changes(company, record, changes)
    return company.update(entity, record["Id"], **changes)


def _check_item_changes(company: FakeCompany, record: Record, changes: dict[str, Any]) -> None:
    _texts(changes, ITEM_LIMITS)
    if "Name" in changes:
        if not changes["Name"]:
            raise faults.required_missing("Name")
        _name(changes["Name"], "Name")
        if company.item_names.get(fold(changes["Name"]), record["Id"]) != record["Id"]:
            raise faults.duplicate_name("product or service")
    for field in ("UnitPrice", "PurchaseCost"):
        if field in changes:
            changes[field] = _number(changes[field], field)
    if "IncomeAccountRef" in changes:
        changes["IncomeAccountRef"] = _account(company, changes["IncomeAccountRef"], "IncomeAccountRef",
                                               INCOME_ACCOUNT_TYPES)
    if "ExpenseAccountRef" in changes:
        changes["ExpenseAccountRef"] = _account(company, changes["ExpenseAccountRef"], "ExpenseAccountRef",
                                                EXPENSE_ACCOUNT_TYPES)


def _check_customer_changes(company: FakeCompany, record: Record, changes: dict[str, Any]) -> None:
    _texts(changes, CUSTOMER_LIMITS)
    if "DisplayName" in changes:
        if not changes["DisplayName"]:
            raise faults.required_missing("DisplayName")
        _name(changes["DisplayName"], "DisplayName")
        if company.party_names.get(fold(changes["DisplayName"]), ("Customer", record["Id"])) != (
                "Customer", record["Id"]):
            raise faults.duplicate_name(None)
    for field in ("BillAddr", "ShipAddr"):
        _address(changes, field)
    if "SalesTermRef" in changes:
        changes["SalesTermRef"] = company.ref("Term", _reference(company, "Term", changes["SalesTermRef"],
                                                                 "SalesTermRef"))


# --- shared checks ------------------------------------------------------------------------------

def _known(body: dict[str, Any], entity: str, known: tuple[str, ...]) -> None:
    for name in body:
        if name not in known:
            raise faults.unknown_property(name, entity, known)


def _text(body: dict[str, Any], field: str, limit: int, path: str | None = None) -> str | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, str):
        raise faults.invalid_value(path or field, "must be a string")
    if len(value) > limit:
        raise faults.too_long(path or field, limit, len(value))
    return value


def _texts(body: dict[str, Any], limits: dict[str, int], prefix: str = "") -> None:
    for field, limit in limits.items():
        _text(body, field, limit, prefix + field)


def _address(body: dict[str, Any], field: str) -> None:
    address = body.get(field)
    if address is None:
        return
    if not isinstance(address, dict):
        raise faults.invalid_value(field, "must be an object")
    _texts(address, ADDRESS_LIMITS, field + ".")


def _name(value: str, field: str) -> None:
    if any(character in value for character in FORBIDDEN_IN_NAMES):
        raise faults.invalid_characters(field, value)


def _number(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise faults.invalid_value(field, "must be a number")
    return Decimal(value)


def _reference(company: FakeCompany, entity: str, ref: Any, field: str) -> Record:
    """The active record a ``{"value": Id}`` reference names: 2500 if missing, 610 if inactive."""
    if not isinstance(ref, dict) or not isinstance(ref.get("value"), str) or not ref["value"]:
        raise faults.required_missing(f"{field}.value")
    record = company.table(entity).get(ref["value"])
    if record is None:
        raise faults.invalid_reference(field, ref["value"])
    if not record.get("Active", True):
        raise faults.object_not_found()
    return record


def _account(company: FakeCompany, ref: Any, field: str, allowed: tuple[str, ...]) -> dict[str, str]:
    account = _reference(company, "Account", ref, field)
    if account["AccountType"] not in allowed:
        # Our decision: QuickBooks refuses such accounts, its exact code is not recorded.
        raise faults.business_validation(f"{field} must be an account of type {' or '.join(allowed)}")
    return company.ref("Account", account)


def _date(value: Any, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise faults.invalid_value(field, "must be a date YYYY-MM-DD") from None


# --- items --------------------------------------------------------------------------------------

def create_item(company: FakeCompany, body: dict[str, Any]) -> Record:
    _known(body, "Item", ITEM_PROPERTIES)
    if not body.get("Name"):
        raise faults.required_missing("Name")
    _texts(body, ITEM_LIMITS)
    _name(body["Name"], "Name")
    if fold(body["Name"]) in company.item_names:
        raise faults.duplicate_name("product or service")
    item_type = body.get("Type")
    if item_type is None:
        # Our strictness: QuickBooks may default an omitted Type; the bridge always says which.
        raise faults.required_missing("Type")
    if item_type not in ITEM_TYPES:
        raise faults.invalid_value("Type", f"must be one of {', '.join(ITEM_TYPES)} in this fake")
    if "IncomeAccountRef" not in body:
        raise faults.required_missing("IncomeAccountRef")
    record: Record = {
        "Name": body["Name"], "FullyQualifiedName": body["Name"], "Active": bool(body.get("Active", True)),
        "Type": item_type, "UnitPrice": _number(body.get("UnitPrice", 0), "UnitPrice"),
        "Taxable": bool(body.get("Taxable", False)), "PurchaseCost": _number(body.get("PurchaseCost", 0),
                                                                            "PurchaseCost"),
        "TrackQtyOnHand": False,
        "IncomeAccountRef": _account(company, body["IncomeAccountRef"], "IncomeAccountRef", INCOME_ACCOUNT_TYPES),
    }
    for field in ("Sku", "Description", "PurchaseDesc"):
        if body.get(field) is not None:
            record[field] = body[field]
    if item_type == "Inventory":
        for field in ("ExpenseAccountRef", "AssetAccountRef", "QtyOnHand", "InvStartDate"):
            if body.get(field) is None:
                raise faults.required_missing(field)
        if body.get("TrackQtyOnHand") is not True:
            raise faults.required_missing("TrackQtyOnHand")
        record["AssetAccountRef"] = _account(company, body["AssetAccountRef"], "AssetAccountRef", ASSET_ACCOUNT_TYPES)
        record["QtyOnHand"] = _number(body["QtyOnHand"], "QtyOnHand")
        record["InvStartDate"] = _date(body["InvStartDate"], "InvStartDate").isoformat()
        record["TrackQtyOnHand"] = True
    if body.get("ExpenseAccountRef") is not None:
        record["ExpenseAccountRef"] = _account(company, body["ExpenseAccountRef"], "ExpenseAccountRef",
                                               EXPENSE_ACCOUNT_TYPES)
    return company.store_item(record)


# --- customers ----------------------------------------------------------------------------------

def create_customer(company: FakeCompany, body: dict[str, Any]) -> Record:
    _known(body, "Customer", CUSTOMER_PROPERTIES)
    _texts(body, CUSTOMER_LIMITS)
    display_name = body.get("DisplayName") or " ".join(
        body[f] for f in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix") if body.get(f)
    ) or body.get("CompanyName")
    if not display_name:
        raise faults.required_missing("DisplayName")
    if len(display_name) > CUSTOMER_LIMITS["DisplayName"]:
        raise faults.too_long("DisplayName", CUSTOMER_LIMITS["DisplayName"], len(display_name))
    _name(display_name, "DisplayName")
    if fold(display_name) in company.party_names:
        raise faults.duplicate_name(None)
    for field in ("BillAddr", "ShipAddr"):
        _address(body, field)
    email = body.get("PrimaryEmailAddr")
    if email is not None:
        if not isinstance(email, dict):
            raise faults.invalid_value("PrimaryEmailAddr", "must be an object")
        _text(email, "Address", 100, "PrimaryEmailAddr.Address")
    record: Record = {key: value for key, value in body.items() if key not in CUSTOMER_READ_ONLY}
    record["DisplayName"] = display_name
    if body.get("SalesTermRef") is not None:
        term = _reference(company, "Term", body["SalesTermRef"], "SalesTermRef")
        record["SalesTermRef"] = company.ref("Term", term)
    currency = (body.get("CurrencyRef") or {}).get("value")
    if currency and currency != company.settings.home_currency and not company.settings.multicurrency:
        # Our decision: the error QuickBooks gives without multicurrency is not recorded.
        raise faults.business_validation("Multicurrency is not enabled for this company")
    record["CurrencyRef"] = company.currency_ref(currency)
    return company.store_customer(record)


# --- invoices -----------------------------------------------------------------------------------

def create_invoice(company: FakeCompany, body: dict[str, Any]) -> Record:
    settings = company.settings
    _known(body, "Invoice", INVOICE_PROPERTIES)
    if body.get("CustomerRef") is None:
        raise faults.required_missing("CustomerRef")
    lines = body.get("Line")
    if not isinstance(lines, list) or not lines:
        raise faults.required_missing("Line")
    customer = _reference(company, "Customer", body["CustomerRef"], "CustomerRef")
    currency = (body.get("CurrencyRef") or {}).get("value") or customer["CurrencyRef"]["value"]
    if currency != customer["CurrencyRef"]["value"]:
        # Our decision: QuickBooks refuses a currency other than the customer's; the code is not recorded.
        raise faults.business_validation("The currency of the transaction must match the customer's currency")
    _texts(body, INVOICE_LIMITS)
    _address(body, "BillAddr")
    _address(body, "ShipAddr")
    txn_date = _date(body["TxnDate"], "TxnDate") if body.get("TxnDate") else \
        company.clock().astimezone(settings.zone).date()
    if settings.closed_through is not None and txn_date <= settings.closed_through:
        raise faults.closed_period(txn_date.isoformat())
    term = None
    if body.get("SalesTermRef") is not None:
        term = _reference(company, "Term", body["SalesTermRef"], "SalesTermRef")
    elif customer.get("SalesTermRef"):
        term = company.table("Term").get(customer["SalesTermRef"]["value"])
    stored_lines = [_sales_line(company, line, number) for number, line in enumerate(lines, start=1)]
    doc_number = _doc_number(company, body)
    total = sum((line["Amount"] for line in stored_lines), Decimal("0.00"))
    record: Record = {
        "AllowIPNPayment": False, "AllowOnlinePayment": False, "AllowOnlineCreditCardPayment": False,
        "AllowOnlineACHPayment": False, "CustomField": [], "TxnDate": txn_date.isoformat(),
        "CurrencyRef": company.currency_ref(currency), "LinkedTxn": [],
        "Line": [*stored_lines, {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}],
        "TxnTaxDetail": {"TotalTax": 0}, "CustomerRef": company.ref("Customer", customer),
        "DueDate": (txn_date + timedelta(days=term["DueDays"] if term else 0)).isoformat(),
        "TotalAmt": total, "ApplyTaxAfterDiscount": False, "PrintStatus": "NotSet", "EmailStatus": "NotSet",
        "Balance": total,
    }
    if doc_number is not None:
        record["DocNumber"] = doc_number
    if currency != settings.home_currency:
        # PROTOCOL §5.1: without an ExchangeRate QuickBooks books a foreign invoice at 1:1.
        record["ExchangeRate"] = _number(body.get("ExchangeRate", 1), "ExchangeRate")
    if term is not None:
        record["SalesTermRef"] = company.ref("Term", term)
    for field in ("PrivateNote", "BillAddr", "ShipAddr", "CustomerMemo", "BillEmail"):
        if body.get(field) is not None:
            record[field] = body[field]
    for field in ("BillAddr", "ShipAddr"):  # copied from the customer, as in create_invoice
        if field not in record and customer.get(field):
            record[field] = customer[field]
    stored = company.store_invoice(record)
    _charge(company, customer, total)
    return stored


def _sales_line(company: FakeCompany, line: Any, number: int) -> Record:
    if not isinstance(line, dict):
        raise faults.invalid_value("Line", "must be a list of objects")
    _known(line, "Line", LINE_PROPERTIES)
    if line.get("DetailType") != "SalesItemLineDetail":
        raise faults.invalid_value("Line.DetailType", "must be SalesItemLineDetail in this fake")
    detail = line.get("SalesItemLineDetail")
    if not isinstance(detail, dict):
        raise faults.required_missing("Line.SalesItemLineDetail")
    _known(detail, "SalesItemLineDetail", SALES_LINE_PROPERTIES)
    if detail.get("ItemRef") is None:
        raise faults.required_missing("Line.SalesItemLineDetail.ItemRef")
    if line.get("Amount") is None:
        raise faults.required_missing("Line.Amount")
    amount = _number(line["Amount"], "Line.Amount")
    item = _reference(company, "Item", detail["ItemRef"], "ItemRef")
    stored_detail: Record = {"ItemRef": company.ref("Item", item)}
    if detail.get("Qty") is not None or detail.get("UnitPrice") is not None:
        quantity = _number(detail.get("Qty", 1), "Qty")
        unit_price = _number(detail.get("UnitPrice", item["UnitPrice"]), "UnitPrice")
        expected = (quantity * unit_price).quantize(CENT, ROUND_HALF_UP)
        if amount != expected:
            # QuickBooks refuses Amount != UnitPrice * Qty; comparing to the cent-rounded product
            # exactly is our strictness (the bridge computes it in Decimal and must match).
            raise faults.business_validation(
                f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} (UnitPrice {unit_price} * Qty "
                f"{quantity} = {expected})")
        stored_detail.update({"UnitPrice": unit_price, "Qty": quantity})
    if detail.get("TaxCodeRef") is not None:
        if company.settings.country == "US":
            # Our decision: a US company's line takes QuickBooks' own "TAX"/"NON", which are no TaxCode records.
            stored_detail["TaxCodeRef"] = detail["TaxCodeRef"]
        else:  # an unknown code is 2500, an inactive one 610, as every other reference
            stored_detail["TaxCodeRef"] = company.ref("TaxCode", _reference(company, "TaxCode", detail["TaxCodeRef"],
                                                                            "TaxCodeRef"))
    elif company.settings.country != "US":
        raise faults.business_validation(
            "Make sure all your transactions have a VAT rate before you save. (TaxCodeRef, the VAT/tax code, is "
            f"required on every line outside the US; line {number} has none)")
    else:
        stored_detail["TaxCodeRef"] = {"value": "NON"}
    stored: Record = {"Id": str(number), "LineNum": number}
    if line.get("Description") is not None:
        stored["Description"] = _text(line, "Description", 4000, "Line.Description")
    stored.update({"Amount": amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": stored_detail})
    return stored


def _doc_number(company: FakeCompany, body: dict[str, Any]) -> str | None:
    if not company.settings.custom_transaction_numbers or body.get("AutoDocNumber") is True:
        number = str(company.next_doc_number)
        company.next_doc_number += 1
        return number
    doc_number = body.get("DocNumber")
    if doc_number and company.settings.forbid_duplicate_doc_numbers:
        taken = company.invoices_by_doc_number.get(doc_number)
        if taken:
            raise faults.duplicate_doc_number(doc_number, taken[0])
    return doc_number


def _charge(company: FakeCompany, customer: Record, total: Decimal) -> None:
    """The customer's balance grows, and so does its LastUpdatedTime (SyncToken stays).

    As recorded: in get_display_name the customer's LastUpdatedTime equals the
    CreateTime of the invoice just created for it in create_invoice. So an incremental
    customer sync sees every invoiced customer again.
    """
    customer["Balance"] = Decimal(customer["Balance"]) + total
    customer["BalanceWithJobs"] = Decimal(customer["BalanceWithJobs"]) + total
    customer["MetaData"] = {**customer["MetaData"], "LastUpdatedTime": company.stamp_time()}
