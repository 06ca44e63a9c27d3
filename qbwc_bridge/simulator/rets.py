"""Render company records as qbXML ``*Ret`` elements, children in the XSD's order.

Element order is what breaks integrations, so every builder below lists its children
in the order of Intuit's 13.0 schema; the self-tests validate each kind of response
against the XSD. Absent values are omitted, never written empty.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from lxml import etree

from .company import CompanySettings, FakeCompany
from .records import (
    Account,
    Address,
    DataExtension,
    Deletion,
    Entity,
    Invoice,
    InvoiceLine,
    Item,
    ItemKind,
    Stamp,
    Terms,
    money,
)

Element = etree._Element


# ------------------------------------------------------------------ formatting
def format_amount(value: Decimal) -> str:
    """AMTTYPE: always two decimals (``206.00``)."""
    return f"{money(value):f}"


def format_price(value: Decimal) -> str:
    """PRICETYPE: at least two, at most five decimals (``103.00``, ``0.12345``)."""
    quantized = value.quantize(Decimal("0.00001")).normalize()
    if quantized.as_tuple().exponent > -2:  # type: ignore[operator]
        quantized = quantized.quantize(Decimal("0.01"))
    return f"{quantized:f}"


def format_quantity(value: Decimal) -> str:
    """QUANTYPE: as QuickBooks shows it (``2``, ``1.5``)."""
    normalized = value.quantize(Decimal("0.00001")).normalize()
    return f"{normalized:f}"


def format_datetime(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def format_bool(value: bool) -> str:
    return "true" if value else "false"


def add(parent: Element, tag: str, text: str | None = None) -> Element | None:
    """Append ``<tag>text</tag>``; skip it when ``text`` is None (absent field)."""
    if text is None:
        return None
    child = etree.SubElement(parent, tag)
    child.text = text
    return child


def add_ref(parent: Element, tag: str, list_id: str | None, full_name: str | None) -> None:
    if list_id is None:
        return
    ref = etree.SubElement(parent, tag)
    add(ref, "ListID", list_id)
    add(ref, "FullName", full_name)


def add_address(parent: Element, tag: str, address: Address) -> None:
    if address.is_empty():
        return
    element = etree.SubElement(parent, tag)
    add(element, "Addr1", address.addr1)
    add(element, "Addr2", address.addr2)
    add(element, "City", address.city)
    add(element, "State", address.state)
    add(element, "PostalCode", address.postal_code)
    add(element, "Country", address.country)


def _stamp(element: Element, stamp_id_tag: str, record) -> None:
    add(element, stamp_id_tag, record.stamp.id)
    add(element, "TimeCreated", format_datetime(record.stamp.time_created))
    add(element, "TimeModified", format_datetime(record.stamp.time_modified))
    add(element, "EditSequence", record.stamp.edit_sequence)


def _opt(value: Decimal | None, formatter) -> str | None:
    return None if value is None else formatter(value)


# ------------------------------------------------------------------ lists
def account_ret(company: FakeCompany, account: Account) -> Element:
    ret = etree.Element("AccountRet")
    _stamp(ret, "ListID", account)
    add(ret, "Name", account.name)
    add(ret, "FullName", account.name)
    add(ret, "IsActive", format_bool(account.is_active))
    add(ret, "Sublevel", "0")
    add(ret, "AccountType", account.account_type)
    add(ret, "AccountNumber", account.account_number)
    add(ret, "Balance", "0.00")
    add(ret, "TotalBalance", "0.00")
    return ret


def terms_ret(company: FakeCompany, terms: Terms) -> Element:
    if terms.is_date_driven:
        ret = etree.Element("DateDrivenTermsRet")
        _stamp(ret, "ListID", terms)
        add(ret, "Name", terms.name)
        add(ret, "IsActive", format_bool(terms.is_active))
        add(ret, "DayOfMonthDue", str(terms.day_of_month_due))
        add(ret, "DueNextMonthDays", _opt(terms.due_next_month_days, str))
        add(ret, "DiscountDayOfMonth", _opt(terms.discount_day_of_month, str))
        add(ret, "DiscountPct", _opt(terms.discount_pct, format_price))
        return ret
    ret = etree.Element("StandardTermsRet")
    _stamp(ret, "ListID", terms)
    add(ret, "Name", terms.name)
    add(ret, "IsActive", format_bool(terms.is_active))
    add(ret, "StdDueDays", _opt(terms.std_due_days, str))
    add(ret, "StdDiscountDays", _opt(terms.std_discount_days, str))
    add(ret, "DiscountPct", _opt(terms.discount_pct, format_price))
    return ret


def _account_ref(company: FakeCompany, parent: Element, tag: str, account_id: str | None) -> None:
    account = company.accounts.get(account_id) if account_id else None
    if account is not None:
        add_ref(parent, tag, account.stamp.id, account.name)


def item_ret(company: FakeCompany, item: Item) -> Element:
    """``Item<Kind>Ret`` for any item kind the fake holds."""
    ret = etree.Element(f"Item{item.kind.value}Ret")
    _stamp(ret, "ListID", item)
    add(ret, "Name", item.name)
    add(ret, "FullName", item.full_name)
    add(ret, "BarCodeValue", item.bar_code_value)
    add(ret, "IsActive", format_bool(item.is_active))
    parent = company.items.get(item.parent_id) if item.parent_id else None
    if parent is not None:
        add_ref(ret, "ParentRef", parent.stamp.id, parent.full_name)
    add(ret, "Sublevel", str(item.sublevel))
    if item.kind in (ItemKind.NON_INVENTORY, ItemKind.INVENTORY):
        add(ret, "ManufacturerPartNumber", item.manufacturer_part_number)
    if item.kind is ItemKind.INVENTORY:
        add(ret, "SalesDesc", item.description)
        add(ret, "SalesPrice", _opt(item.price, format_price))
        _account_ref(company, ret, "IncomeAccountRef", item.income_account_id)
        add(ret, "PurchaseDesc", item.purchase_description)
        add(ret, "PurchaseCost", _opt(item.purchase_cost, format_price))
        _account_ref(company, ret, "COGSAccountRef", item.cogs_account_id)
        _account_ref(company, ret, "AssetAccountRef", item.asset_account_id)
        add(ret, "QuantityOnHand", format_quantity(item.quantity_on_hand or Decimal("0")))
        add(ret, "AverageCost", _opt(item.purchase_cost, format_price))
        add(ret, "QuantityOnOrder", "0")
        add(ret, "QuantityOnSalesOrder", "0")
    elif item.sales_and_purchase:
        form = etree.SubElement(ret, "SalesAndPurchase")
        add(form, "SalesDesc", item.description)
        add(form, "SalesPrice", _opt(item.price, format_price))
        _account_ref(company, form, "IncomeAccountRef", item.income_account_id)
        add(form, "PurchaseDesc", item.purchase_description)
        add(form, "PurchaseCost", _opt(item.purchase_cost, format_price))
        _account_ref(company, form, "ExpenseAccountRef", item.expense_account_id)
    else:
        form = etree.SubElement(ret, "SalesOrPurchase")
        add(form, "Desc", item.description)
        add(form, "Price", _opt(item.price, format_price))
        _account_ref(company, form, "AccountRef", item.account_id)
    add(ret, "ExternalGUID", item.external_guid)
    return ret


def customer_ret(company: FakeCompany, customer: Entity) -> Element:
    ret = etree.Element("CustomerRet")
    _stamp(ret, "ListID", customer)
    add(ret, "Name", customer.name)
    add(ret, "FullName", customer.full_name)
    add(ret, "IsActive", format_bool(customer.is_active))
    parent = company.entities.get(customer.parent_id) if customer.parent_id else None
    if parent is not None:
        add_ref(ret, "ParentRef", parent.stamp.id, parent.full_name)
    add(ret, "Sublevel", str(customer.sublevel))
    add(ret, "CompanyName", customer.company_name)
    add(ret, "FirstName", customer.first_name)
    add(ret, "LastName", customer.last_name)
    add_address(ret, "BillAddress", customer.bill_address)
    add(ret, "Phone", customer.phone)
    add(ret, "Email", customer.email)
    terms = company.terms.get(customer.terms_id) if customer.terms_id else None
    if terms is not None:
        add_ref(ret, "TermsRef", terms.stamp.id, terms.name)
    add(ret, "Balance", format_amount(customer.balance))
    add(ret, "TotalBalance", format_amount(customer.balance))
    add(ret, "AccountNumber", customer.account_number)
    add(ret, "JobStatus", "None")
    add(ret, "Notes", customer.notes)
    return ret


# ------------------------------------------------------------------ transactions
def invoice_line_ret(company: FakeCompany, line: InvoiceLine) -> Element:
    ret = etree.Element("InvoiceLineRet")
    add(ret, "TxnLineID", line.txn_line_id)
    item = company.items.get(line.item_id) if line.item_id else None
    if item is not None:
        add_ref(ret, "ItemRef", item.stamp.id, item.full_name)
    add(ret, "Desc", line.description)
    add(ret, "Quantity", _opt(line.quantity, format_quantity))
    add(ret, "Rate", _opt(line.rate, format_price))
    add(ret, "Amount", format_amount(line.amount))
    return ret


def invoice_ret(company: FakeCompany, invoice: Invoice, include_lines: bool = True) -> Element:
    ret = etree.Element("InvoiceRet")
    _stamp(ret, "TxnID", invoice)
    add(ret, "TxnNumber", str(invoice.txn_number))
    customer = company.entities[invoice.customer_id]
    add_ref(ret, "CustomerRef", customer.stamp.id, customer.full_name)
    _account_ref(company, ret, "ARAccountRef", invoice.ar_account_id)
    add(ret, "TxnDate", invoice.txn_date.isoformat())
    add(ret, "RefNumber", invoice.ref_number)
    add_address(ret, "BillAddress", invoice.bill_address)
    add(ret, "IsPending", "false")
    add(ret, "IsFinanceCharge", "false")
    add(ret, "PONumber", invoice.po_number)
    terms = company.terms.get(invoice.terms_id) if invoice.terms_id else None
    if terms is not None:
        add_ref(ret, "TermsRef", terms.stamp.id, terms.name)
    add(ret, "DueDate", invoice.due_date.isoformat() if isinstance(invoice.due_date, date) else None)
    add(ret, "Subtotal", format_amount(invoice.subtotal))
    add(ret, "SalesTaxPercentage", "0.00")
    add(ret, "SalesTaxTotal", "0.00")
    # QuickBooks shows payments applied as a negative amount (a credit against the invoice).
    add(ret, "AppliedAmount", format_amount(-invoice.applied_amount))
    add(ret, "BalanceRemaining", format_amount(invoice.balance_remaining))
    add(ret, "Memo", invoice.memo)
    add(ret, "IsPaid", format_bool(invoice.balance_remaining == 0))
    add(ret, "IsToBePrinted", format_bool(invoice.is_to_be_printed))
    add(ret, "IsToBeEmailed", "false")
    add(ret, "ExternalGUID", invoice.external_guid)
    if include_lines:
        for line in invoice.lines:
            ret.append(invoice_line_ret(company, line))
    return ret


def receive_payment_ret(company: FakeCompany, stamp: Stamp, customer: Entity, txn_date: date,
                        ref_number: str | None, memo: str | None, applied: list[tuple[Invoice, Decimal]]) -> Element:
    """A ReceivePaymentRet: the payment, then each invoice it paid with what that invoice still owes."""
    ret = etree.Element("ReceivePaymentRet")
    add(ret, "TxnID", stamp.id)
    add(ret, "TimeCreated", format_datetime(stamp.time_created))
    add(ret, "TimeModified", format_datetime(stamp.time_modified))
    add(ret, "EditSequence", stamp.edit_sequence)
    add_ref(ret, "CustomerRef", customer.stamp.id, customer.full_name)
    add(ret, "TxnDate", txn_date.isoformat())
    add(ret, "RefNumber", ref_number)
    add(ret, "TotalAmount", format_amount(sum((amount for _invoice, amount in applied), Decimal("0"))))
    add(ret, "Memo", memo)
    add(ret, "UnusedPayment", "0.00")
    add(ret, "UnusedCredits", "0.00")
    for invoice, amount in applied:
        applied_ret = etree.SubElement(ret, "AppliedToTxnRet")
        add(applied_ret, "TxnID", invoice.stamp.id)
        add(applied_ret, "TxnType", "Invoice")
        add(applied_ret, "TxnDate", invoice.txn_date.isoformat())
        add(applied_ret, "RefNumber", invoice.ref_number)
        add(applied_ret, "BalanceRemaining", format_amount(invoice.balance_remaining))
        add(applied_ret, "Amount", format_amount(amount))
    return ret


# ------------------------------------------------------------------ host / company / preferences
def list_deleted_ret(deletion: Deletion) -> Element:
    ret = etree.Element("ListDeletedRet")
    add(ret, "ListDelType", deletion.del_type)
    add(ret, "ListID", deletion.id)
    add(ret, "TimeCreated", format_datetime(deletion.time_created))
    add(ret, "TimeDeleted", format_datetime(deletion.time_deleted))
    add(ret, "FullName", deletion.name)
    return ret


def txn_deleted_ret(deletion: Deletion) -> Element:
    ret = etree.Element("TxnDeletedRet")
    add(ret, "TxnDelType", deletion.del_type)
    add(ret, "TxnID", deletion.id)
    add(ret, "TimeCreated", format_datetime(deletion.time_created))
    add(ret, "TimeDeleted", format_datetime(deletion.time_deleted))
    add(ret, "RefNumber", deletion.name)
    return ret


def host_ret(settings: CompanySettings) -> Element:
    ret = etree.Element("HostRet")
    add(ret, "ProductName", settings.product_name)
    add(ret, "MajorVersion", settings.product_major_version)
    add(ret, "MinorVersion", "0")
    add(ret, "Country", settings.country)
    for version in settings.supported_versions:
        add(ret, "SupportedQBXMLVersion", version)
    add(ret, "IsAutomaticLogin", "false")
    add(ret, "QBFileMode", settings.file_mode)
    return ret


def company_ret(settings: CompanySettings, extensions: Iterable[DataExtension]) -> Element:
    ret = etree.Element("CompanyRet")
    add(ret, "IsSampleCompany", "false")
    add(ret, "CompanyName", settings.company_name)
    add(ret, "LegalCompanyName", settings.legal_name or settings.company_name)
    add(ret, "FirstMonthFiscalYear", "January")
    add(ret, "FirstMonthIncomeTaxYear", "January")
    for extension in extensions:
        data_ext = etree.SubElement(ret, "DataExtRet")
        add(data_ext, "OwnerID", extension.owner_id)
        add(data_ext, "DataExtName", extension.name)
        add(data_ext, "DataExtType", "STR255TYPE")
        add(data_ext, "DataExtValue", extension.value)
    return ret


def preferences_ret(settings: CompanySettings) -> Element:
    """The preferences a QuickBooks Pro file reports (shape of a recorded HCP response)."""
    ret = etree.Element("PreferencesRet")
    sections: list[tuple[str, list[tuple[str, str]]]] = [
        ("AccountingPreferences", [("IsUsingAccountNumbers", "false"), ("IsRequiringAccounts", "true"),
                                   ("IsUsingClassTracking", "false"), ("IsUsingAuditTrail", "true"),
                                   ("IsAssigningJournalEntryNumbers", "true")]),
        ("FinanceChargePreferences", [("AnnualInterestRate", "0.00"), ("MinFinanceCharge", "0.00"),
                                      ("GracePeriod", "0"), ("IsAssessingForOverdueCharges", "false"),
                                      ("CalculateChargesFrom", "DueDate"), ("IsMarkedToBePrinted", "false")]),
        ("JobsAndEstimatesPreferences", [("IsUsingEstimates", "true"), ("IsUsingProgressInvoicing", "false"),
                                         ("IsPrintingItemsWithZeroAmounts", "false")]),
        ("MultiCurrencyPreferences", [("IsMultiCurrencyOn", "false")]),
        ("PurchasesAndVendorsPreferences", [("IsUsingInventory", format_bool(settings.uses_inventory)),
                                            ("DaysBillsAreDue", "10"), ("IsAutomaticallyUsingDiscounts", "false")]),
        ("ReportsPreferences", [("AgingReportBasis", "AgeFromDueDate"), ("SummaryReportBasis", "Accrual")]),
        ("SalesAndCustomersPreferences", [("IsTrackingReimbursedExpensesAsIncome", "false"),
                                          ("IsAutoApplyingPayments", "true")]),
        ("CurrentAppAccessRights", [("IsAutomaticLoginAllowed", "false"), ("IsPersonalDataAccessAllowed", "false")]),
    ]
    for section, values in sections:
        element = etree.SubElement(ret, section)
        for tag, text in values:
            add(element, tag, text)
    return ret
