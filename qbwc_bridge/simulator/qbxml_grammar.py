"""The fake QuickBooks' own grammar of the requests the bridge sends, checked without Intuit's files.

``qbwc-bridge simulate`` must run from a plain ``pip install``, where Intuit's XSDs are
absent (they are reference data in ``shared/``, never copied into the package). So the
fake carries the facts it needs as data, written by us from the qbXML 13.0 schema and
Intuit's annotated samples: per request, the child elements in order with how often
each may occur, QuickBooks Desktop's maximum lengths and the enumerations. It covers
the elements the bridge sends (plus the host/company/preferences query QBWC sends
itself); anything else is refused as unknown, which is stricter than QuickBooks but
never looser. ``tests/simulator/test_qbxml_grammar.py`` proves it refuses what the XSD
refuses for every request we send.

Like QuickBooks, a wrong name, order, occurrence or value refuses the whole message set
(0x80040400); an over-long text only fails its own request (status 3070).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

Element = etree._Element


@dataclass(frozen=True)
class Value:
    """What a leaf element may hold: a type name, a maximum length, or one of ``choices``."""

    kind: str
    max_length: int | None = None
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class El:
    """An element occurring ``low``..``high`` times (``high=None``: any number)."""

    name: str
    content: "Value | Seq | Choice"
    low: int = 0
    high: int | None = 1


@dataclass(frozen=True)
class Seq:
    """Parts in this order; ``optional`` lets the whole sequence be absent."""

    parts: tuple["El | Seq | Choice", ...]
    optional: bool = False


@dataclass(frozen=True)
class Choice:
    """Exactly one of ``parts`` (none when ``optional``)."""

    parts: tuple["El | Seq | Choice", ...]
    optional: bool = False


Part = El | Seq | Choice


def seq(*parts: Part, optional: bool = False) -> Seq:
    return Seq(parts, optional)


def choice(*parts: Part, optional: bool = False) -> Choice:
    return Choice(parts, optional)


def text(max_length: int | None = None) -> Value:
    return Value("text", max_length)


def enum(*choices: str) -> Value:
    return Value("enum", choices=choices)


ID = Value("id", 36)
GUID = Value("guid")
BOOL = Value("bool")
INT = Value("int")
DATE = Value("date")
DATETIME = Value("datetime")
AMOUNT = Value("amount")
PRICE = Value("price")
QUANTITY = Value("quantity")

# Lexical forms of qbXML's simple types (qbxmltypes130.xsd).
_PATTERNS = {
    "id": re.compile(r"\S+"),
    "guid": re.compile(r"0|\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}"),
    "bool": re.compile(r"true|false"),
    "int": re.compile(r"[+-]?\d+"),
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "datetime": re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?([+-]\d{2}:\d{2}|Z)?)?"),
    "amount": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
    "price": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
    "quantity": re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)"),
}


def ref(full_name_length: int | None) -> Seq:
    """A ``*Ref``: ListID and/or FullName."""
    return seq(El("ListID", ID), El("FullName", text(full_name_length)))


ADDRESS = seq(*(El(f"Addr{n}", text(41)) for n in range(1, 6)), El("City", text(31)), El("State", text(21)),
              El("PostalCode", text(13)), El("Country", text(31)), El("Note", text(41)))
ACTIVE_STATUS = enum("ActiveOnly", "InactiveOnly", "All")
INCLUDE_RET_ELEMENT = El("IncludeRetElement", text(50), 0, None)
BAR_CODE = El("BarCode", seq(El("BarCodeValue", text(50)), El("AssignEvenIfUsed", BOOL), El("AllowOverride", BOOL)))
ACCOUNT_TYPES = enum("AccountsPayable", "AccountsReceivable", "Bank", "CostOfGoodsSold", "CreditCard", "Equity",
                     "Expense", "FixedAsset", "Income", "LongTermLiability", "NonPosting", "OtherAsset",
                     "OtherCurrentAsset", "OtherCurrentLiability", "OtherExpense", "OtherIncome")


def list_query(*filters: Part) -> Seq:
    """ListID+ | FullName+ | (MaxReturned, ActiveStatus, modified dates, ``filters``), then IncludeRetElement."""
    return seq(
        choice(El("ListID", ID, 1, None), El("FullName", text(), 1, None),
               seq(El("MaxReturned", INT), El("ActiveStatus", ACTIVE_STATUS), El("FromModifiedDate", DATETIME),
                   El("ToModifiedDate", DATETIME), *filters), optional=True),
        INCLUDE_RET_ELEMENT,
    )


def item_add(name: str, *middle: Part) -> Seq:
    return seq(El(name, seq(El("Name", text(31), 1), BAR_CODE, El("IsActive", BOOL), *middle,
                            El("ExternalGUID", GUID)), 1),
               INCLUDE_RET_ELEMENT)


SALES_AND_PURCHASE = El("SalesAndPurchase", seq(
    El("SalesDesc", text(4095)), El("SalesPrice", PRICE), El("IncomeAccountRef", ref(159)),
    El("PurchaseDesc", text(4095)), El("PurchaseCost", PRICE), El("ExpenseAccountRef", ref(159))), 1)

INVOICE_LINE = seq(El("ItemRef", ref(None)), El("Desc", text(4095)), El("Quantity", QUANTITY), El("Rate", PRICE),
                   El("Amount", AMOUNT), El("SalesTaxCodeRef", ref(3)))

LIST_DEL_TYPES = enum(
    "Account", "BillingRate", "Class", "Currency", "Customer", "CustomerMsg", "CustomerType", "DateDrivenTerms",
    "Employee", "InventorySite", "ItemDiscount", "ItemFixedAsset", "ItemGroup", "ItemInventory",
    "ItemInventoryAssembly", "ItemNonInventory", "ItemOtherCharge", "ItemPayment", "ItemSalesTax",
    "ItemSalesTaxGroup", "ItemService", "ItemSubtotal", "JobType", "OtherName", "PaymentMethod",
    "PayrollItemNonWage", "PayrollItemWage", "PriceLevel", "SalesRep", "SalesTaxCode", "ShipMethod",
    "StandardTerms", "ToDo", "UnitOfMeasureSet", "Vehicle", "Vendor", "VendorType", "WorkersCompCode")
TXN_DEL_TYPES = enum(
    "ARRefundCreditCard", "Bill", "BillPaymentCheck", "BillPaymentCreditCard", "BuildAssembly", "Charge", "Check",
    "CreditCardCharge", "CreditCardCredit", "CreditMemo", "Deposit", "Estimate", "InventoryAdjustment", "Invoice",
    "ItemReceipt", "JournalEntry", "PurchaseOrder", "ReceivePayment", "SalesOrder", "SalesReceipt",
    "SalesTaxPaymentCheck", "TimeTracking", "TransferInventory", "VehicleMileage", "VendorCredit")
DELETED_DATES = El("DeletedDateRangeFilter", seq(El("FromDeletedDate", DATETIME), El("ToDeletedDate", DATETIME)))

REQUESTS: dict[str, Seq] = {
    "HostQueryRq": seq(INCLUDE_RET_ELEMENT),
    "CompanyQueryRq": seq(INCLUDE_RET_ELEMENT, El("OwnerID", GUID, 0, None)),
    "PreferencesQueryRq": seq(INCLUDE_RET_ELEMENT),
    "ItemQueryRq": list_query(),
    "CustomerQueryRq": list_query(),
    "TermsQueryRq": list_query(),
    "AccountQueryRq": list_query(El("AccountType", ACCOUNT_TYPES, 0, None)),
    "InvoiceQueryRq": seq(
        choice(El("TxnID", ID, 1, None), El("RefNumber", text(), 1, None),
               seq(El("MaxReturned", INT),
                   El("ModifiedDateRangeFilter", seq(El("FromModifiedDate", DATETIME), El("ToModifiedDate", DATETIME))),
                   El("EntityFilter", choice(El("ListID", ID, 1, None), El("FullName", text(), 1, None)))),
               optional=True),
        El("IncludeLineItems", BOOL), INCLUDE_RET_ELEMENT),
    "ListDeletedQueryRq": seq(El("ListDelType", LIST_DEL_TYPES, 1, None), DELETED_DATES, INCLUDE_RET_ELEMENT),
    "TxnDeletedQueryRq": seq(El("TxnDelType", TXN_DEL_TYPES, 1, None), DELETED_DATES, INCLUDE_RET_ELEMENT),
    "ItemServiceAddRq": item_add("ItemServiceAdd", El("SalesTaxCodeRef", ref(3)), SALES_AND_PURCHASE),
    "ItemNonInventoryAddRq": item_add("ItemNonInventoryAdd", El("ManufacturerPartNumber", text(31)),
                                      El("SalesTaxCodeRef", ref(3)), SALES_AND_PURCHASE),
    "ItemInventoryAddRq": item_add(
        "ItemInventoryAdd", El("ManufacturerPartNumber", text(31)), El("SalesTaxCodeRef", ref(3)),
        El("SalesDesc", text(4095)), El("SalesPrice", PRICE), El("IncomeAccountRef", ref(159)),
        El("PurchaseDesc", text(4095)), El("PurchaseCost", PRICE), El("COGSAccountRef", ref(159)),
        El("AssetAccountRef", ref(159)), El("ReorderPoint", QUANTITY), El("QuantityOnHand", QUANTITY),
        El("TotalValue", AMOUNT), El("InventoryDate", DATE)),
    "CustomerAddRq": seq(El("CustomerAdd", seq(
        El("Name", text(41), 1), El("IsActive", BOOL), El("CompanyName", text(41)), El("Salutation", text(15)),
        El("FirstName", text(25)), El("LastName", text(25)), El("BillAddress", ADDRESS), El("ShipAddress", ADDRESS),
        El("Phone", text(21)), El("AltPhone", text(21)), El("Fax", text(21)), El("Email", text(1023)),
        El("Contact", text(41)), El("TermsRef", ref(31)), El("Notes", text(4095)), El("ExternalGUID", GUID)), 1),
        INCLUDE_RET_ELEMENT),
    "InvoiceAddRq": seq(El("InvoiceAdd", seq(
        El("CustomerRef", ref(209), 1), El("ARAccountRef", ref(159)), El("TemplateRef", ref(31)), El("TxnDate", DATE),
        El("RefNumber", text(11)), El("BillAddress", ADDRESS), El("ShipAddress", ADDRESS), El("IsPending", BOOL),
        El("PONumber", text(25)), El("TermsRef", ref(31)), El("DueDate", DATE), El("ShipDate", DATE),
        El("Memo", text(4095)),
        El("IsToBePrinted", BOOL), El("IsToBeEmailed", BOOL), El("ExternalGUID", GUID),
        El("InvoiceLineAdd", INVOICE_LINE, 0, None)), 1),
        INCLUDE_RET_ELEMENT),
    # What a bookkeeper's Receive Payments is (the bridge never sends it; tests and support do).
    "ReceivePaymentAddRq": seq(El("ReceivePaymentAdd", seq(
        El("CustomerRef", ref(209), 1), El("ARAccountRef", ref(159)), El("TxnDate", DATE), El("RefNumber", text(20)),
        El("TotalAmount", AMOUNT), El("PaymentMethodRef", ref(31)), El("Memo", text(4095)),
        El("DepositToAccountRef", ref(159)), El("ExternalGUID", GUID),
        choice(El("IsAutoApply", BOOL, 1),
               El("AppliedToTxnAdd", seq(El("TxnID", ID, 1), El("PaymentAmount", AMOUNT)), 1, None))), 1),
        INCLUDE_RET_ELEMENT),
}

# Attributes of each request element; "*" is any text.
_PLAIN = {"requestID": "*"}
_META = {**_PLAIN, "metaData": ("NoMetaData", "MetaDataOnly", "MetaDataAndResponseData")}
_ITERATED = {**_META, "iterator": ("Start", "Continue", "Stop"), "iteratorID": "*"}
ATTRIBUTES: dict[str, dict[str, object]] = {
    **{name: _PLAIN for name in REQUESTS},
    "TermsQueryRq": _META,
    "AccountQueryRq": _META,
    "ItemQueryRq": _ITERATED,
    "CustomerQueryRq": _ITERATED,
    "InvoiceQueryRq": _ITERATED,
    "ListDeletedQueryRq": _META,
    "TxnDeletedQueryRq": _META,
}
MESSAGE_SET_ATTRIBUTES = {"onError": ("stopOnError", "continueOnError", "rollbackOnError"),
                          "responseData": ("includeAll", "includeNone"), "newMessageSetID": "*",
                          "oldMessageSetID": "*"}


class GrammarError(Exception):
    """The request breaks the grammar: QuickBooks refuses the whole message set (0x80040400)."""


@dataclass(frozen=True)
class TooLong:
    """An over-long text: QuickBooks answers status 3070 for that request only."""

    path: str
    value: str
    max_length: int


def check_message_set(messages: Element) -> None:
    """Check ``<QBXMLMsgsRq>`` and every request in it against the grammar.

    Raises:
        GrammarError: an unknown request or element, a wrong order, occurrence,
            attribute or value, with the element path.
    """
    _check_attributes(messages, MESSAGE_SET_ATTRIBUTES, "QBXMLMsgsRq")
    for request in _children(messages):
        if request.tag not in REQUESTS:
            raise GrammarError(f"QBXMLMsgsRq/{request.tag}: the built-in checks do not know this request "
                               f"(use Intuit's XSD: --schema-dir)")
        _check_attributes(request, ATTRIBUTES[request.tag], request.tag)
        _check_content(request, REQUESTS[request.tag], request.tag)


def too_long(request: Element) -> TooLong | None:
    """The first text in ``request`` longer than QuickBooks Desktop allows (call after ``check_message_set``)."""
    return _first_too_long(request, REQUESTS[request.tag], request.tag)


def _children(element: Element) -> list[Element]:
    return [child for child in element if isinstance(child.tag, str)]


def _check_attributes(element: Element, allowed: dict[str, object], path: str) -> None:
    for name, value in element.attrib.items():
        if name not in allowed:
            raise GrammarError(f"{path}: unknown attribute {name!r}")
        if allowed[name] != "*" and value not in allowed[name]:
            raise GrammarError(f"{path}: attribute {name}={value!r} is not one of {', '.join(allowed[name])}")


def _check_content(element: Element, content: Value | Seq | Choice, path: str) -> None:
    children = _children(element)
    if isinstance(content, Value):
        if children:
            raise GrammarError(f"{path}/{children[0].tag}: unexpected element in a value")
        _check_value(element.text or "", content, path)
        return
    if (element.text or "").strip():
        raise GrammarError(f"{path}: text is not allowed here")
    tags = [child.tag for child in children]
    furthest = [0]
    if len(tags) not in _ends(content, tags, 0, furthest):
        if furthest[0] < len(tags):
            raise GrammarError(f"{path}/{tags[furthest[0]]}: element not expected here "
                               f"(unknown, out of order or repeated)")
        raise GrammarError(f"{path}: a required element is missing after {tags[-1] if tags else 'the start'}")
    for child in children:
        _check_content(child, _declared(content, child.tag), f"{path}/{child.tag}")


def _check_value(value: str, declared: Value, path: str) -> None:
    if declared.kind == "enum":
        if value not in declared.choices:
            raise GrammarError(f"{path}: {value!r} is not one of {', '.join(declared.choices)}")
    elif declared.kind != "text" and not _PATTERNS[declared.kind].fullmatch(value):
        raise GrammarError(f"{path}: {value!r} is not a valid {declared.kind}")


def _ends(part: Part, tags: list[str], start: int, furthest: list[int]) -> set[int]:
    """Every position ``part`` can end at when matched from ``start`` (a small backtracking NFA)."""
    if isinstance(part, El):
        positions, reached = {start}, {start} if part.low == 0 else set()
        count = 0
        while positions and (part.high is None or count < part.high):
            positions = {p + 1 for p in positions if p < len(tags) and tags[p] == part.name}
            count += 1
            if positions:
                furthest[0] = max(furthest[0], *positions)
            if count >= part.low:
                reached |= positions
        return reached
    if isinstance(part, Seq):
        positions = {start}
        for inner in part.parts:
            positions = set().union(*(_ends(inner, tags, p, furthest) for p in positions)) if positions else set()
        return positions | ({start} if part.optional else set())
    reached = set().union(*(_ends(inner, tags, start, furthest) for inner in part.parts))
    return reached | ({start} if part.optional else set())


def _declared(part: Part, tag: str) -> Value | Seq | Choice | None:
    """The content declared for child ``tag`` (a name has one content within a parent)."""
    if isinstance(part, El):
        return part.content if part.name == tag else None
    for inner in part.parts:
        found = _declared(inner, tag)
        if found is not None:
            return found
    return None


def _first_too_long(element: Element, content: Value | Seq | Choice, path: str) -> TooLong | None:
    if isinstance(content, Value):
        value = element.text or ""
        if content.max_length is not None and len(value) > content.max_length:
            return TooLong(path, value, content.max_length)
        return None
    for child in _children(element):
        found = _first_too_long(child, _declared(content, child.tag), f"{path}/{child.tag}")
        if found is not None:
            return found
    return None
