"""Add handlers of the fake QuickBooks: items (service, non-inventory, other charge,
inventory), customers, invoices, and payments received against invoices.

The rules a real company file applies, and the statuses it answers with:
- 3100 when the name is taken (customers share one namespace with vendors,
  employees and other names; item names are unique across item kinds);
- 3140 when a reference (CustomerRef, ItemRef, TermsRef, AccountRef, ParentRef,
  PrefVendorRef, ...) names nothing in the file, or an inactive customer/item;
  a reference to a list the fake does not hold (classes, templates, sales reps)
  is unknown too, exactly as in an empty company file. Sales tax codes ``Tax`` and
  ``Non`` exist, as in every US file;
- 3170/3175/3180 when the ``lock_error`` fault fires (nothing is saved).
Fields the fake does not keep are accepted and logged; fields that would change
amounts and that the fake cannot compute (RatePercent, linked credits, groups) get
3250 naming them. An invoice without TermsRef takes the customer's terms and a
due date computed from them; line amounts are quantity x rate in ``Decimal``,
rounded half up to cents, the rate defaulting to the item's price.
"""
from __future__ import annotations

import calendar
import logging
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from lxml import etree

from .company import FakeCompany, QuickBooksStatus
from .handling import Handler, HandlerContext, Outcome
from .records import Address, Entity, EntityKind, Invoice, InvoiceLine, Item, ItemKind, Terms, money
from .rets import customer_ret, invoice_ret, item_ret, receive_payment_ret

logger = logging.getLogger(__name__)

Element = etree._Element
SALES_TAX_CODES = {"tax", "non"}
LIST_LOCK_CODES = (3170, 3175)
TXN_LOCK_CODE = 3180


# ------------------------------------------------------------------ helpers
def _invalid_reference(what: str, value: str, where: str, reason: str | None = None) -> QuickBooksStatus:
    reason = reason or "Invalid argument.  The specified record does not exist in the list."
    return QuickBooksStatus(3140, f'There is an invalid reference to QuickBooks {what} "{value}" in the {where}.  '
                                  f"QuickBooks error message: {reason}")


def _resolve(ref: Element | None, finder: Callable[..., object | None], what: str, where: str,
             must_be_active: bool = False):
    """The record a ``*Ref`` names (ListID wins over FullName), or None without a ref.

    Raises:
        QuickBooksStatus: 3140 when it names nothing (or an inactive record, if asked).
    """
    if ref is None:
        return None
    list_id, full_name = ref.findtext("ListID"), ref.findtext("FullName")
    record = finder(list_id=list_id) if list_id is not None else finder(full_name=full_name)
    if record is None:
        raise _invalid_reference(what, list_id if list_id is not None else (full_name or ""), where)
    if must_be_active and not getattr(record, "is_active", True):
        raise _invalid_reference(what, list_id or full_name or "", where, "This list element is inactive.")
    return record


def _check_sales_tax_code(ref: Element | None, where: str) -> None:
    if ref is not None and (ref.findtext("FullName") or "").casefold() not in SALES_TAX_CODES:
        raise _invalid_reference("SalesTaxCode", ref.findtext("ListID") or ref.findtext("FullName") or "", where)


def _screen_fields(element: Element, handled: set[str], where: str, unsupported: frozenset[str] = frozenset()) -> None:
    """Refuse references to lists the fake does not hold; log other fields it drops.

    Raises:
        QuickBooksStatus: 3140 for an unknown ``*Ref``, 3250 for an unsupported field.
    """
    for child in element:
        if not isinstance(child.tag, str) or child.tag in handled:
            continue
        if child.tag in unsupported:
            raise QuickBooksStatus(3250, f"This feature is not enabled or not available in this version of "
                                         f"QuickBooks (the simulator does not implement {element.tag}/{child.tag}).")
        if child.tag.endswith("Ref"):
            raise _invalid_reference(child.tag[: -len("Ref")], child.findtext("ListID") or
                                     child.findtext("FullName") or "", where)
        logger.info("fake QuickBooks accepts but does not keep %s/%s", element.tag, child.tag)


def _decimal(text: str | None) -> Decimal | None:
    if text is None or text.strip() == "":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        raise QuickBooksStatus(3030, f'The value "{text}" is not a valid number.') from None


def _bool(text: str | None, default: bool) -> bool:
    return default if text is None or text.strip() == "" else text.strip().lower() in ("true", "1")


def _address(element: Element | None) -> Address:
    if element is None:
        return Address()
    _screen_fields(element, {"Addr1", "Addr2", "City", "State", "PostalCode", "Country"}, "address")
    return Address(element.findtext("Addr1"), element.findtext("Addr2"), element.findtext("City"),
                   element.findtext("State"), element.findtext("PostalCode"), element.findtext("Country"))


def _lock_check(context: HandlerContext, list_name: str, name: str) -> None:
    if context.faults.add_locked():
        code = context.faults.lock_choice(LIST_LOCK_CODES)
        reason = ("This list has been modified by another user." if code == 3170 else
                  "The list is locked by another user, try again later.")
        raise QuickBooksStatus(code, f'There was an error when saving a {list_name} list, element "{name}".  '
                                     f"QuickBooks error message: {reason}")


def _account_finder(company: FakeCompany):
    return lambda list_id=None, full_name=None: company.find_account(list_id, full_name)


# ------------------------------------------------------------------ items
ITEM_FIELDS = {"Name", "BarCode", "IsActive", "ParentRef", "SalesTaxCodeRef", "ExternalGUID"}
FORM_FIELDS = {"SalesOrPurchase": {"Desc", "Price", "AccountRef"},
               "SalesAndPurchase": {"SalesDesc", "SalesPrice", "IncomeAccountRef", "PurchaseDesc", "PurchaseCost",
                                    "ExpenseAccountRef", "PrefVendorRef"}}
INVENTORY_FIELDS = {"ManufacturerPartNumber", "SalesDesc", "SalesPrice", "IncomeAccountRef", "PurchaseDesc",
                    "PurchaseCost", "COGSAccountRef", "PrefVendorRef", "AssetAccountRef", "ReorderPoint", "Max",
                    "QuantityOnHand", "TotalValue", "InventoryDate"}


def _item_add(kind: ItemKind) -> Handler:
    def handler(context: HandlerContext, request: Element) -> Outcome:
        company = context.company
        add = request.find(f"Item{kind.value}Add")
        where = "item"
        handled = set(ITEM_FIELDS)
        if kind in (ItemKind.NON_INVENTORY, ItemKind.INVENTORY):
            handled.add("ManufacturerPartNumber")
        handled |= INVENTORY_FIELDS if kind is ItemKind.INVENTORY else set(FORM_FIELDS)
        _screen_fields(add, handled, where)
        _check_sales_tax_code(add.find("SalesTaxCodeRef"), where)
        accounts = _account_finder(company)
        parent = _resolve(add.find("ParentRef"), lambda **k: company.find_item(**k), "Item", where)
        values: dict[str, object] = {
            "parent_id": parent.stamp.id if parent else None,
            "is_active": _bool(add.findtext("IsActive"), True),
            "bar_code_value": add.findtext("BarCode/BarCodeValue"),
            "external_guid": add.findtext("ExternalGUID"),
            "manufacturer_part_number": add.findtext("ManufacturerPartNumber"),
        }
        if kind is ItemKind.INVENTORY:
            form = add
            values.update(
                description=add.findtext("SalesDesc"), price=_decimal(add.findtext("SalesPrice")),
                quantity_on_hand=_decimal(add.findtext("QuantityOnHand")) or Decimal("0"),
                cogs_account_id=_ref_id(_resolve(add.find("COGSAccountRef"), accounts, "Account", where)),
                asset_account_id=_ref_id(_resolve(add.find("AssetAccountRef"), accounts, "Account", where)))
        else:
            form = add.find("SalesOrPurchase")
            if form is not None:
                _screen_fields(form, FORM_FIELDS["SalesOrPurchase"], where, unsupported=frozenset({"PricePercent"}))
                values.update(description=form.findtext("Desc"), price=_decimal(form.findtext("Price")),
                              account_id=_ref_id(_resolve(form.find("AccountRef"), accounts, "Account", where)))
            else:
                form = add.find("SalesAndPurchase")
                _screen_fields(form, FORM_FIELDS["SalesAndPurchase"], where)
                values.update(sales_and_purchase=True, description=form.findtext("SalesDesc"),
                              price=_decimal(form.findtext("SalesPrice")),
                              expense_account_id=_ref_id(_resolve(form.find("ExpenseAccountRef"), accounts,
                                                                  "Account", where)))
        if kind is ItemKind.INVENTORY or values.get("sales_and_purchase"):
            values.update(
                income_account_id=_ref_id(_resolve(form.find("IncomeAccountRef"), accounts, "Account", where)),
                purchase_description=form.findtext("PurchaseDesc"),
                purchase_cost=_decimal(form.findtext("PurchaseCost")))
            _resolve(form.find("PrefVendorRef"), lambda **k: company.find_entity(EntityKind.VENDOR, **k),
                     "Vendor", where)
        name = add.findtext("Name") or ""
        _lock_check(context, "Item", name)
        item = company.add_item(lambda stamp: Item(stamp, kind, name, name, **values))  # type: ignore[arg-type]
        logger.info("fake QuickBooks added item %s %r", item.stamp.id, item.full_name)
        return Outcome([item_ret(company, item)])
    return handler


def _ref_id(record) -> str | None:
    return record.stamp.id if record is not None else None


# ------------------------------------------------------------------ customers
CUSTOMER_FIELDS = {"Name", "IsActive", "ParentRef", "CompanyName", "FirstName", "LastName", "BillAddress", "Phone",
                   "Email", "TermsRef", "AccountNumber", "Notes", "SalesTaxCodeRef"}


def customer_add(context: HandlerContext, request: Element) -> Outcome:
    company = context.company
    add = request.find("CustomerAdd")
    where = "customer"
    _screen_fields(add, CUSTOMER_FIELDS, where)
    _check_sales_tax_code(add.find("SalesTaxCodeRef"), where)
    parent = _resolve(add.find("ParentRef"), lambda **k: company.find_entity(EntityKind.CUSTOMER, **k),
                      "Customer", where)
    terms = _resolve(add.find("TermsRef"), lambda **k: company.find_terms(**k), "Terms", where)
    name = add.findtext("Name") or ""
    _lock_check(context, "Customer", name)
    customer = company.add_entity(lambda stamp: Entity(
        stamp, EntityKind.CUSTOMER, name, name,
        parent_id=parent.stamp.id if parent else None,
        is_active=_bool(add.findtext("IsActive"), True),
        company_name=add.findtext("CompanyName"), first_name=add.findtext("FirstName"),
        last_name=add.findtext("LastName"), bill_address=_address(add.find("BillAddress")),
        phone=add.findtext("Phone"), email=add.findtext("Email"), terms_id=terms.stamp.id if terms else None,
        account_number=add.findtext("AccountNumber"), notes=add.findtext("Notes")))
    logger.info("fake QuickBooks added customer %s %r", customer.stamp.id, customer.full_name)
    return Outcome([customer_ret(company, customer)])


# ------------------------------------------------------------------ invoices
INVOICE_FIELDS = {"CustomerRef", "ARAccountRef", "TxnDate", "RefNumber", "BillAddress", "IsPending", "PONumber",
                  "TermsRef", "DueDate", "Memo", "IsToBePrinted", "IsToBeEmailed", "ExternalGUID",
                  "CustomerSalesTaxCodeRef", "InvoiceLineAdd"}
INVOICE_UNSUPPORTED = frozenset({"LinkToTxnID", "SetCredit", "InvoiceLineGroupAdd", "ExchangeRate"})
LINE_FIELDS = {"ItemRef", "Desc", "Quantity", "Rate", "Amount", "SalesTaxCodeRef", "ServiceDate", "UnitOfMeasure"}
LINE_UNSUPPORTED = frozenset({"RatePercent", "PriceLevelRef", "OverrideItemAccountRef"})


def due_date(terms: Terms | None, txn_date: date) -> date:
    """When an invoice is due under ``terms`` (no terms: on the transaction date)."""
    if terms is None:
        return txn_date
    if not terms.is_date_driven:
        return txn_date + timedelta(days=terms.std_due_days or 0)

    def in_month(year: int, month: int) -> date:
        return date(year, month, min(terms.day_of_month_due or 1, calendar.monthrange(year, month)[1]))

    due = in_month(txn_date.year, txn_date.month)
    if due < txn_date or (due - txn_date).days < (terms.due_next_month_days or 0):
        year, month = (txn_date.year + 1, 1) if txn_date.month == 12 else (txn_date.year, txn_date.month + 1)
        due = in_month(year, month)
    return due


def invoice_add(context: HandlerContext, request: Element) -> Outcome:
    company = context.company
    add = request.find("InvoiceAdd")
    where = "Invoice"
    _screen_fields(add, INVOICE_FIELDS, where, INVOICE_UNSUPPORTED)
    _check_sales_tax_code(add.find("CustomerSalesTaxCodeRef"), where)
    customer: Entity = _resolve(add.find("CustomerRef"), lambda **k: company.find_entity(EntityKind.CUSTOMER, **k),
                                "Customer", where, must_be_active=True)
    ar_account = _resolve(add.find("ARAccountRef"), _account_finder(company), "Account", where) or \
        _accounts_receivable(company)
    terms = _resolve(add.find("TermsRef"), lambda **k: company.find_terms(**k), "Terms", where)
    if terms is None and customer.terms_id:
        terms = company.terms.get(customer.terms_id)
    txn_date = date.fromisoformat(add.findtext("TxnDate")) if add.findtext("TxnDate") else company.now().date()
    lines = [_invoice_line(company, line) for line in add.findall("InvoiceLineAdd")]
    bill_address = _address(add.find("BillAddress"))
    if bill_address.is_empty():
        bill_address = customer.bill_address
    if context.faults.add_locked():
        raise QuickBooksStatus(TXN_LOCK_CODE, "There was an error when saving a Invoice.  QuickBooks error "
                                              "message: Unable to lock the data; another user is using it.")
    invoice = company.add_invoice(Invoice(
        stamp=company.new_txn_stamp(),
        txn_number=company.next_txn_number,
        customer_id=customer.stamp.id,
        ar_account_id=ar_account.stamp.id,
        txn_date=txn_date,
        ref_number=add.findtext("RefNumber") or company.next_invoice_ref_number(),
        bill_address=bill_address,
        po_number=add.findtext("PONumber"),
        terms_id=terms.stamp.id if terms else None,
        due_date=date.fromisoformat(add.findtext("DueDate")) if add.findtext("DueDate") else due_date(terms, txn_date),
        memo=add.findtext("Memo"),
        is_to_be_printed=_bool(add.findtext("IsToBePrinted"), True),
        external_guid=add.findtext("ExternalGUID"),
        lines=lines,
    ))
    logger.info("fake QuickBooks added invoice %s ref %r total %s", invoice.stamp.id, invoice.ref_number,
                invoice.subtotal)
    return Outcome([invoice_ret(company, invoice)])


def _accounts_receivable(company: FakeCompany):
    existing = next((a for a in company.accounts.values() if a.account_type == "AccountsReceivable"), None)
    return existing or company.add_account("Accounts Receivable", "AccountsReceivable")


def _invoice_line(company: FakeCompany, line: Element) -> InvoiceLine:
    where = "Invoice line"
    _screen_fields(line, LINE_FIELDS, where, LINE_UNSUPPORTED)
    _check_sales_tax_code(line.find("SalesTaxCodeRef"), where)
    item: Item | None = _resolve(line.find("ItemRef"), lambda **k: company.find_item(**k), "Item", where,
                                 must_be_active=True)
    quantity = _decimal(line.findtext("Quantity"))
    rate = _decimal(line.findtext("Rate"))
    amount = _decimal(line.findtext("Amount"))
    if rate is None and amount is None and item is not None:
        rate = item.price
    if amount is None:
        amount = money((quantity if quantity is not None else Decimal("1")) * (rate or Decimal("0")))
    elif rate is None and quantity:
        rate = amount / quantity
    description = line.findtext("Desc")
    if description is None and item is not None:
        description = item.description
    return InvoiceLine(company.new_txn_id(), item.stamp.id if item else None, description, quantity, rate,
                       money(amount))


RECEIVE_PAYMENT_FIELDS = {"CustomerRef", "ARAccountRef", "TxnDate", "RefNumber", "TotalAmount", "PaymentMethodRef",
                          "Memo", "DepositToAccountRef", "ExternalGUID", "IsAutoApply", "AppliedToTxnAdd"}
# The payment methods and deposit accounts of a real file are not lists the fake holds: accepted, not kept.
RECEIVE_PAYMENT_UNSUPPORTED = frozenset({"IsAutoApply", "CreditCardTxnInfo", "ExchangeRate"})


def receive_payment_add(context: HandlerContext, request: Element) -> Outcome:
    """Receive Payments, applied to named invoices of the customer (what a bookkeeper does in QuickBooks).

    Each ``AppliedToTxnAdd`` names an invoice of this customer and the amount paid on it. What the fake does
    not model gets 3250 naming it: auto-apply, a payment with no amount or more than the invoice owes (an
    unused payment becomes a credit in QuickBooks), a TotalAmount other than the amounts applied.
    """
    company = context.company
    add = request.find("ReceivePaymentAdd")
    where = "ReceivePayment"
    _screen_fields(add, RECEIVE_PAYMENT_FIELDS, where, RECEIVE_PAYMENT_UNSUPPORTED)
    customer: Entity = _resolve(add.find("CustomerRef"), lambda **k: company.find_entity(EntityKind.CUSTOMER, **k),
                                "Customer", where)
    applied: list[tuple[Invoice, Decimal]] = []
    for link in add.findall("AppliedToTxnAdd"):
        txn_id = link.findtext("TxnID") or ""
        invoice = company.invoices.get(txn_id)
        if invoice is None or invoice.customer_id != customer.stamp.id:
            raise _invalid_reference("Invoice", txn_id, where,
                                     "The transaction is not an open invoice of this customer.")
        amount = _decimal(link.findtext("PaymentAmount"))
        if amount is None or amount <= 0 or money(amount) > invoice.balance_remaining - sum(
                (paid for other, paid in applied if other is invoice), Decimal("0")):
            raise _not_modelled(f"{where}/AppliedToTxnAdd/PaymentAmount {link.findtext('PaymentAmount')!r} "
                                f"(invoice {invoice.ref_number} owes {invoice.balance_remaining}; unused payments)")
        applied.append((invoice, money(amount)))
    total = sum((amount for _invoice, amount in applied), Decimal("0"))
    stated = _decimal(add.findtext("TotalAmount"))
    if stated is not None and money(stated) != total:
        raise _not_modelled(f"{where}/TotalAmount {stated} other than the {total} applied (unused payments)")
    if context.faults.add_locked():
        raise QuickBooksStatus(TXN_LOCK_CODE, "There was an error when saving a Receive Payment.  QuickBooks error "
                                              "message: Unable to lock the data; another user is using it.")
    stamp = company.new_txn_stamp()
    for invoice, amount in applied:
        company.receive_payment(invoice.stamp.id, amount, payment_id=stamp.id)
    txn_date = date.fromisoformat(add.findtext("TxnDate")) if add.findtext("TxnDate") else company.now().date()
    return Outcome([receive_payment_ret(company, stamp, customer, txn_date, add.findtext("RefNumber"),
                                        add.findtext("Memo"), applied)])


def _not_modelled(what: str) -> QuickBooksStatus:
    return QuickBooksStatus(3250, f"This feature is not enabled or not available in this version of QuickBooks (the "
                                  f"simulator does not implement {what}).")


HANDLERS: dict[str, Handler] = {
    "ItemServiceAddRq": _item_add(ItemKind.SERVICE),
    "ItemNonInventoryAddRq": _item_add(ItemKind.NON_INVENTORY),
    "ItemOtherChargeAddRq": _item_add(ItemKind.OTHER_CHARGE),
    "ItemInventoryAddRq": _item_add(ItemKind.INVENTORY),
    "CustomerAddRq": customer_add,
    "InvoiceAddRq": invoice_add,
    "ReceivePaymentAddRq": receive_payment_add,
}
