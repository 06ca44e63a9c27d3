"""The data keys each request takes, and how each value is checked and formatted.

A template only lays elements out in Intuit's order; everything that could make
QuickBooks reject a message is decided here, before rendering: Latin-1 text and
maximum lengths (:mod:`.text`), Decimal formats, dates, IDs, enums, and the qbXML
version each element appeared in (an element newer than the company's version is
dropped with a DEBUG log). Limits and versions are Intuit's, from
``qbxmlops130-annotated-samples.xml``; the test suite checks them against that file.

Errors, by who must act:

* ``DataError``  - a person must change BlueTrace data or a setting (too long, not
  Latin-1, missing account, money QuickBooks cannot hold exactly);
* ``TypeError``  - the caller passed the wrong Python type (a float for money, ...);
* ``OurBug``     - the caller broke the request contract (unknown key, conflicting
  filters, malformed ListID): retrying will not help.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, auto
from typing import Any

from ....errors import DataError, OurBug
from .text import Overflow, clean_text, format_amount, format_price, format_quantity
from .versions import QbxmlVersion

logger = logging.getLogger(__name__)


class Kind(Enum):
    TEXT = auto()  # STRTYPE a person typed: Latin-1 and length policy
    TOKEN = auto()  # STRTYPE/UUIDTYPE we generate (iterator IDs, element names): printable ASCII
    ID = auto()  # IDTYPE: a QuickBooks ListID or TxnID
    GUID = auto()  # GUIDTYPE: "{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}"
    AMOUNT = auto()  # AMTTYPE
    PRICE = auto()  # PRICETYPE
    QUANTITY = auto()  # QUANTYPE
    DATE = auto()  # DATETYPE
    DATETIME = auto()  # DATETIMETYPE
    BOOL = auto()  # BOOLTYPE
    INT = auto()  # INTTYPE, at least 1 (MaxReturned)
    CHOICE = auto()  # ENUMTYPE
    GROUP = auto()  # a nested mapping (an address), or with repeated=True a list of them (invoice lines)


@dataclass(frozen=True)
class Field:
    kind: Kind
    label: str  # plain words, used in error messages: "billing address line 1"
    max_length: int | None = None
    overflow: Overflow = Overflow.REFUSE
    multiline: bool = False
    since: QbxmlVersion | None = None  # the qbXML version the element appeared in
    required: bool = False
    when_missing: str = ""  # what a person does when a required value is missing
    repeated: bool = False
    choices: tuple[str, ...] = ()
    children: Mapping[str, Field] | None = None
    pattern: re.Pattern[str] | None = None  # overrides the kind's pattern (ID and TOKEN)
    needs_one_of: tuple[str, ...] = ()  # GROUP: at least one of these children must be set


def V(text: str) -> QbxmlVersion:  # noqa: N802 - reads like the annotation "v8.0"
    return QbxmlVersion.parse(text)


def text(label: str, max_length: int | None, **options: Any) -> Field:
    return Field(Kind.TEXT, label, max_length=max_length, **options)


def free_text(label: str, max_length: int, **options: Any) -> Field:
    """Descriptions and memos: several lines allowed, truncated (not refused) when too long."""
    return Field(Kind.TEXT, label, max_length=max_length, overflow=Overflow.TRUNCATE, multiline=True, **options)


def ref(label: str, **options: Any) -> Field:
    return Field(Kind.ID, label, **options)


_ID = re.compile(r"[\x21-\x7e]{1,36}")
_TOKEN = re.compile(r"[\x21-\x7e]{1,100}")
_GUID = re.compile(r"\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}")
_ELEMENT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,49}")  # IncludeRetElement: max length 50

ACTIVE_STATUS = ("ActiveOnly", "InactiveOnly", "All")
ITERATOR = ("Start", "Continue", "Stop")
ACCOUNT_TYPES = (
    "AccountsPayable", "AccountsReceivable", "Bank", "CostOfGoodsSold", "CreditCard", "Equity", "Expense",
    "FixedAsset", "Income", "LongTermLiability", "NonPosting", "OtherAsset", "OtherCurrentAsset",
    "OtherCurrentLiability", "OtherExpense", "OtherIncome",
)  # fmt: skip

ADDRESS: dict[str, Field] = {
    "addr1": text("line 1", 41),
    "addr2": text("line 2", 41),
    "addr3": text("line 3", 41),
    "addr4": text("line 4", 41, since=V("2.0")),
    "addr5": text("line 5", 41, since=V("6.0")),
    "city": text("city", 31),
    "state": text("state", 21),
    "postal_code": text("postal code", 13),
    "country": text("country", 31),
    "note": text("note", 41, since=V("6.0")),
}

_ACCOUNTS_HINT = "Choose the {} in the bridge's settings (General tab), then sync again."


def _item_add(*, with_part_number: bool, part_number_label: str = "manufacturer part number") -> dict[str, Field]:
    fields = {
        "name": text("name", 31, required=True, when_missing="Give the item a name in BlueTrace, then sync again."),
        "bar_code_value": text("bar code", 50, since=V("12.0")),
        "is_active": Field(Kind.BOOL, "active flag"),
        "manufacturer_part_number": text(part_number_label, 31, since=V("7.0")),
        "sales_tax_code_list_id": ref("sales tax code"),
        "sales_desc": free_text("sales description", 4095),
        "sales_price": Field(Kind.PRICE, "sales price"),
        "income_account_list_id": ref(
            "income account", required=True, when_missing=_ACCOUNTS_HINT.format('income account ("AR")')
        ),
        "purchase_desc": free_text("purchase description", 4095),
        "purchase_cost": Field(Kind.PRICE, "purchase cost"),
        "external_guid": Field(Kind.GUID, "external ID", since=V("8.0")),
    }
    if not with_part_number:
        del fields["manufacturer_part_number"]
    return fields


ITEM_SERVICE_ADD = _item_add(with_part_number=False) | {
    "expense_account_list_id": ref(
        "expense account", required=True, when_missing=_ACCOUNTS_HINT.format('expense account ("AP")')
    ),
}
ITEM_NON_INVENTORY_ADD = _item_add(with_part_number=True) | {
    "expense_account_list_id": ITEM_SERVICE_ADD["expense_account_list_id"],
}
ITEM_INVENTORY_ADD = _item_add(with_part_number=True) | {
    "cogs_account_list_id": ref(
        "cost of goods sold account", required=True, when_missing=_ACCOUNTS_HINT.format("cost of goods sold account")
    ),
    "asset_account_list_id": ref(
        "inventory asset account", required=True, when_missing=_ACCOUNTS_HINT.format("inventory asset account")
    ),
    "reorder_point": Field(Kind.QUANTITY, "reorder point"),
    "quantity_on_hand": Field(Kind.QUANTITY, "quantity on hand"),
    "total_value": Field(Kind.AMOUNT, "total value"),
    "inventory_date": Field(Kind.DATE, "inventory date"),
}

CUSTOMER_ADD: dict[str, Field] = {
    "name": text("name", 41, required=True, when_missing="Give the customer a name in BlueTrace, then sync again."),
    "is_active": Field(Kind.BOOL, "active flag"),
    "company_name": text("company name", 41),
    "salutation": text("salutation", 15),
    "first_name": text("first name", 25),
    "last_name": text("last name", 25),
    "bill_address": Field(Kind.GROUP, "billing address", children=ADDRESS),
    "ship_address": Field(Kind.GROUP, "shipping address", children=ADDRESS),
    "phone": text("phone number", 21),
    "alt_phone": text("second phone number", 21),
    "fax": text("fax number", 21),
    "email": text("e-mail address", 1023),
    "contact": text("contact name", 41),
    "terms_list_id": ref("payment terms"),
    "notes": free_text("notes", 4095, since=V("3.0")),
    "external_guid": Field(Kind.GUID, "external ID", since=V("8.0")),
}

INVOICE_LINE: dict[str, Field] = {
    "item_list_id": ref("item"),
    "desc": free_text("description", 4095),
    "quantity": Field(Kind.QUANTITY, "quantity"),
    "rate": Field(Kind.PRICE, "rate"),
    "amount": Field(Kind.AMOUNT, "amount"),
    "sales_tax_code_list_id": ref("sales tax code"),
}

INVOICE_ADD: dict[str, Field] = {
    "customer_list_id": ref(
        "customer", required=True, when_missing="Link the order's customer to a QuickBooks customer, then sync again."
    ),
    "ar_account_list_id": ref("accounts receivable account"),
    "template_list_id": ref("invoice template", since=V("3.0")),
    "txn_date": Field(Kind.DATE, "date"),
    "ref_number": text("invoice number", 11),
    "bill_address": Field(Kind.GROUP, "billing address", children=ADDRESS),
    "ship_address": Field(Kind.GROUP, "shipping address", children=ADDRESS),
    "is_pending": Field(Kind.BOOL, "pending flag"),
    "po_number": text("PO number", 25),
    "terms_list_id": ref("payment terms"),
    "due_date": Field(Kind.DATE, "due date"),
    "ship_date": Field(Kind.DATE, "ship date"),
    "memo": free_text("memo", 4095),
    "is_to_be_printed": Field(Kind.BOOL, "to-be-printed flag"),
    "is_to_be_emailed": Field(Kind.BOOL, "to-be-e-mailed flag", since=V("6.0")),
    "external_guid": Field(Kind.GUID, "external ID", since=V("9.0")),
    "lines": Field(
        Kind.GROUP, "line", children=INVOICE_LINE, repeated=True, required=True,
        needs_one_of=("item_list_id", "desc"),
        when_missing="Add at least one line to the order in BlueTrace, then sync again.",
    ),
}  # fmt: skip


RET_ELEMENTS = Field(Kind.TOKEN, "returned element", repeated=True, since=V("4.0"), pattern=_ELEMENT_NAME)


def _list_query(*, iterator: bool, full_name_length: int) -> dict[str, Field]:
    fields = {
        "iterator": Field(Kind.CHOICE, "iterator", choices=ITERATOR),
        "iterator_id": Field(Kind.TOKEN, "iterator ID"),
        "list_ids": ref("QuickBooks ID", repeated=True),
        "full_names": text("full name", full_name_length, repeated=True),
        "max_returned": Field(Kind.INT, "maximum count"),
        "active_status": Field(Kind.CHOICE, "active status", choices=ACTIVE_STATUS),
        "from_modified_date": Field(Kind.DATETIME, "modified-since date"),
        "to_modified_date": Field(Kind.DATETIME, "modified-until date"),
        "include_ret_elements": RET_ELEMENTS,
    }
    if not iterator:
        del fields["iterator"], fields["iterator_id"]
    return fields


ITEM_QUERY = _list_query(iterator=True, full_name_length=159)
CUSTOMER_QUERY = _list_query(iterator=True, full_name_length=209)
TERMS_QUERY = _list_query(iterator=False, full_name_length=31)
ACCOUNT_QUERY = _list_query(iterator=False, full_name_length=159) | {
    "account_types": Field(Kind.CHOICE, "account type", choices=ACCOUNT_TYPES, repeated=True),
}
INVOICE_QUERY: dict[str, Field] = {
    "iterator": Field(Kind.CHOICE, "iterator", choices=ITERATOR),
    "iterator_id": Field(Kind.TOKEN, "iterator ID"),
    "txn_ids": ref("QuickBooks transaction ID", repeated=True),
    "ref_numbers": text("invoice number", 11, repeated=True),
    "max_returned": Field(Kind.INT, "maximum count"),
    "from_modified_date": Field(Kind.DATETIME, "modified-since date"),
    "to_modified_date": Field(Kind.DATETIME, "modified-until date"),
    "customer_list_ids": ref("customer", repeated=True, since=V("2.0")),
    "include_line_items": Field(Kind.BOOL, "include-lines flag"),
    "include_ret_elements": RET_ELEMENTS,
}

# ListDelType / TxnDelType values of the qbXML 13.0 XSD. The requests and every value here date from
# qbXML 2.0 to 3.0 (ItemFixedAsset), all older than the oldest version we render: no version gate needed.
LIST_DEL_TYPES = (
    "Account", "BillingRate", "Class", "Currency", "Customer", "CustomerMsg", "CustomerType", "DateDrivenTerms",
    "Employee", "InventorySite", "ItemDiscount", "ItemFixedAsset", "ItemGroup", "ItemInventory",
    "ItemInventoryAssembly", "ItemNonInventory", "ItemOtherCharge", "ItemPayment", "ItemSalesTax",
    "ItemSalesTaxGroup", "ItemService", "ItemSubtotal", "JobType", "OtherName", "PaymentMethod",
    "PayrollItemNonWage", "PayrollItemWage", "PriceLevel", "SalesRep", "SalesTaxCode", "ShipMethod",
    "StandardTerms", "ToDo", "UnitOfMeasureSet", "Vehicle", "Vendor", "VendorType", "WorkersCompCode",
)  # fmt: skip
TXN_DEL_TYPES = (
    "ARRefundCreditCard", "Bill", "BillPaymentCheck", "BillPaymentCreditCard", "BuildAssembly", "Charge", "Check",
    "CreditCardCharge", "CreditCardCredit", "CreditMemo", "Deposit", "Estimate", "InventoryAdjustment", "Invoice",
    "ItemReceipt", "JournalEntry", "PurchaseOrder", "ReceivePayment", "SalesOrder", "SalesReceipt",
    "SalesTaxPaymentCheck", "TimeTracking", "TransferInventory", "VehicleMileage", "VendorCredit",
)  # fmt: skip
_DELETED_DATES = {
    "from_deleted_date": Field(Kind.DATETIME, "deleted-since date"),
    "to_deleted_date": Field(Kind.DATETIME, "deleted-until date"),
    "include_ret_elements": RET_ELEMENTS,
}
LIST_DELETED_QUERY: dict[str, Field] = {
    "del_types": Field(Kind.CHOICE, "list type", choices=LIST_DEL_TYPES, repeated=True, required=True),
    **_DELETED_DATES,
}
TXN_DELETED_QUERY: dict[str, Field] = {
    "del_types": Field(Kind.CHOICE, "transaction type", choices=TXN_DEL_TYPES, repeated=True, required=True),
    **_DELETED_DATES,
}

LIST_QUERY_GROUPS = (("list_ids",), ("full_names",), ("max_returned", "active_status", "from_modified_date",
                     "to_modified_date", "account_types"))  # fmt: skip
INVOICE_QUERY_GROUPS = (("txn_ids",), ("ref_numbers",), ("max_returned", "from_modified_date", "to_modified_date",
                        "customer_list_ids"))  # fmt: skip
"""qbXML lets a query select by IDs, or by names, or by filters: never two of these at once."""


class Cleaner:
    """Checks and formats one request's data against its fields, for one qbXML version."""

    def __init__(self, request_type: str, record: str, version: QbxmlVersion):
        self.request_type = request_type
        self.record = record
        self.version = version

    def clean(self, fields: Mapping[str, Field], data: Mapping[str, Any], path: str = "", label: str = "") -> dict:
        """Every key of ``fields`` -> formatted str, list of str, nested dict, or None (absent).

        Raises:
            DataError, TypeError, OurBug: see the module docstring.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"{self.request_type}: {path or 'data'} must be a mapping, not {type(data).__name__}")
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise OurBug(f"{self.request_type} does not take {', '.join(map(repr, unknown))} (at {path or 'top level'})")
        cleaned: dict[str, Any] = {}
        for key, field in fields.items():
            key_path = f"{path}.{key}" if path else key
            key_label = f"{label} {field.label}".strip()
            value = data.get(key)
            if value is not None and field.since and self.version < field.since:
                logger.debug(
                    "%s: dropping %s, which needs qbXML %s (company speaks %s)",
                    self.request_type, key_path, field.since, self.version,
                )  # fmt: skip
                value = None
            cleaned[key] = self._clean_value(field, value, key_path, key_label)
            if field.required and cleaned[key] in (None, []):
                missing = f"{self.record} has no {key_label}s" if field.repeated else f"the {key_label} of {self.record} is missing"
                raise DataError(
                    f"{missing[0].upper()}{missing[1:]}; QuickBooks needs it. {field.when_missing}",
                    record=self.record,
                    field=key_path,
                    action=field.when_missing,
                )
        return cleaned

    def _clean_value(self, field: Field, value: Any, path: str, label: str) -> Any:
        if not field.repeated:
            return None if value is None else self._clean_one(field, value, path, label)
        if value is None:
            return []
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
            raise TypeError(f"{self.request_type}: {path} must be a list, not {type(value).__name__}")
        items = []
        for index, item in enumerate(value, start=1):
            cleaned = self._clean_one(field, item, f"{path}[{index - 1}]", f"{label} {index}")
            if cleaned is not None:
                items.append(cleaned)
        return items

    def _clean_one(self, field: Field, value: Any, path: str, label: str) -> Any:  # noqa: C901 - one branch per kind
        kind = field.kind
        where = {"record": self.record, "field": path, "label": label}
        if kind is Kind.TEXT:
            cleaned = clean_text(
                value, max_length=field.max_length, overflow=field.overflow, multiline=field.multiline, **where
            )
            return cleaned or None
        if kind is Kind.GROUP:
            assert field.children is not None
            group = self.clean(field.children, value, path, label)
            if field.needs_one_of and all(group[key] is None for key in field.needs_one_of):
                wanted = " or ".join(field.children[key].label for key in field.needs_one_of)
                raise DataError(
                    f"The {label} of {self.record} has no {wanted}; QuickBooks needs one. "
                    "Complete or remove the line in BlueTrace, then sync again.",
                    record=self.record,
                    field=path,
                )
            return group if any(v not in (None, []) for v in group.values()) else None
        if kind is Kind.AMOUNT:
            return format_amount(value, **where)
        if kind is Kind.PRICE:
            return format_price(value, **where)
        if kind is Kind.QUANTITY:
            return format_quantity(value, **where)
        if kind is Kind.BOOL:
            if not isinstance(value, bool):
                raise TypeError(f"{self.request_type}: {path} must be True or False, not {value!r}")
            return "true" if value else "false"
        if kind is Kind.DATE:
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                raise TypeError(f"{self.request_type}: {path} must be a datetime.date, not {type(value).__name__}")
            return value.isoformat()
        if kind is Kind.DATETIME:
            return self._datetime(value, path)
        if kind is Kind.INT:
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{self.request_type}: {path} must be an int, not {type(value).__name__}")
            if value < 1:
                raise OurBug(f"{self.request_type}: {path} must be at least 1, not {value}")
            return str(value)
        if kind is Kind.GUID:
            return self._guid(value, path)
        pattern = field.pattern or {Kind.ID: _ID, Kind.TOKEN: _TOKEN, Kind.CHOICE: None}[kind]
        if not isinstance(value, str):
            raise TypeError(f"{self.request_type}: {path} must be a str, not {type(value).__name__}")
        if kind is Kind.CHOICE and value not in field.choices:
            raise OurBug(f"{self.request_type}: {path} must be one of {', '.join(field.choices)}, not {value!r}")
        if pattern is not None and not pattern.fullmatch(value):
            raise OurBug(f"{self.request_type}: {path} is not a valid {field.label}: {value!r}")
        return value

    def _datetime(self, value: Any, path: str) -> str:
        if isinstance(value, dt.datetime):
            offset = value.utcoffset()
            if offset is not None and offset.seconds % 60:
                raise OurBug(f"{self.request_type}: {path} has a time zone offset qbXML cannot express: {offset}")
            return value.replace(microsecond=0).isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        raise TypeError(f"{self.request_type}: {path} must be a datetime, not {type(value).__name__}")

    def _guid(self, value: Any, path: str) -> str:
        if isinstance(value, uuid.UUID):
            return "{" + str(value).upper() + "}"
        if isinstance(value, str) and _GUID.fullmatch(value):
            return value.upper()
        raise OurBug(f"{self.request_type}: {path} must be a uuid.UUID or '{{XXXXXXXX-...}}', not {value!r}")


def check_one_selection(request_type: str, data: Mapping[str, Any], groups: Sequence[Sequence[str]]) -> None:
    """Refuse a query that mixes selections qbXML allows only one of (see :data:`LIST_QUERY_GROUPS`).

    Raises:
        OurBug: keys of two groups are set.
    """
    used = [group for group in groups if any(data.get(key) not in (None, [], ()) for key in group)]
    if len(used) > 1:
        keys = [key for group in used for key in group if data.get(key) not in (None, [], ())]
        raise OurBug(f"{request_type} selects by only one of IDs, names or filters; got {', '.join(keys)}")
