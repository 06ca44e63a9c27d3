"""qbXML requests: one autoescaped Jinja2 template per request, and message sets of them.

QuickBooks rejects a whole message set for one misplaced element (HRESULT
0x80040400), so requests are never assembled by hand: a template in
``qbxml_templates/`` fixes the element order Intuit's XSD demands, and
:mod:`.fields` checks and formats every value before it reaches the template.
References to QuickBooks records are passed as ListIDs (``*_list_id`` keys).

Data keys per request type (all optional unless marked *required*; absent or None
means "leave the element out"; lists may be empty):

===================== ==================================================================
request_type          data keys
===================== ==================================================================
ItemQuery             iterator ("Start" | "Continue" | "Stop"), iterator_id, list_ids,
                      full_names, max_returned, active_status ("ActiveOnly" |
                      "InactiveOnly" | "All"), from_modified_date, to_modified_date,
                      include_ret_elements (default :data:`ITEM_RET_ELEMENTS`; [] = all)
CustomerQuery         as ItemQuery (default :data:`CUSTOMER_RET_ELEMENTS`); customers
                      cannot be queried by e-mail in QuickBooks Desktop: use list_ids or
                      full_names
TermsQuery            list_ids, full_names, max_returned, active_status,
                      from_modified_date, to_modified_date, include_ret_elements
AccountQuery          as TermsQuery, plus account_types (e.g. ["Income", "Expense"])
ListDeletedQuery      del_types *required* (ListDelType values: "ItemService",
                      "Customer", ...), from_deleted_date, to_deleted_date,
                      include_ret_elements (none by default: the Ret is small)
TxnDeletedQuery       as ListDeletedQuery, del_types being TxnDelType values ("Invoice")
InvoiceQuery          iterator, iterator_id, txn_ids, ref_numbers, max_returned,
                      from_modified_date, to_modified_date, customer_list_ids,
                      include_line_items (bool), include_ret_elements
ItemServiceAdd        name *required*, bar_code_value (12.0), is_active,
                      sales_tax_code_list_id, sales_desc, sales_price,
                      income_account_list_id *required* (settings' "AR" account),
                      purchase_desc, purchase_cost, expense_account_list_id *required*
                      (settings' "AP" account), external_guid (8.0)
ItemNonInventoryAdd   as ItemServiceAdd, plus manufacturer_part_number (7.0)
ItemInventoryAdd      name *required*, bar_code_value, is_active,
                      manufacturer_part_number, sales_tax_code_list_id, sales_desc,
                      sales_price, income_account_list_id *required*, purchase_desc,
                      purchase_cost, cogs_account_list_id *required*,
                      asset_account_list_id *required*, reorder_point,
                      quantity_on_hand, total_value, inventory_date, external_guid
CustomerAdd           name *required*, is_active, company_name, salutation, first_name,
                      last_name, bill_address, ship_address, phone, alt_phone, fax,
                      email, contact, terms_list_id, notes (3.0), external_guid (8.0)
InvoiceAdd            customer_list_id *required*, ar_account_list_id, template_list_id,
                      txn_date, ref_number, bill_address, ship_address, is_pending,
                      po_number, terms_list_id, due_date, ship_date, memo,
                      is_to_be_printed, is_to_be_emailed (6.0), external_guid (9.0),
                      lines *required*: [{item_list_id, desc, quantity, rate, amount,
                      sales_tax_code_list_id}, ...]
===================== ==================================================================

An address (bill_address, ship_address) is a mapping with addr1 ... addr5, city,
state, postal_code, country, note. Types: text is ``str``; money (amount,
total_value) and prices/quantities are ``Decimal`` (or ``int``), never ``float``;
``*_date`` are ``datetime.date`` except the ``*_modified_date`` and ``*_deleted_date`` filters, which take a
``datetime.datetime`` (naive = QuickBooks' local time); external_guid is a
``uuid.UUID``; flags are ``bool``; max_returned is an ``int`` >= 1. A version in
parentheses is the qbXML version the element appeared in: for an older company it is
left out (DEBUG log), never sent.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jinja2
from lxml import etree
from markupsafe import Markup

from ....errors import OurBug
from ....resources import data_dir
from . import fields as f
from .versions import DEFAULT_VERSION, OLDEST_SUPPORTED, QbxmlVersion

logger = logging.getLogger(__name__)

ON_ERROR = ("continueOnError", "stopOnError")
MAX_REQUEST_ID_LENGTH = 50
DEFAULT_MAX_REQUESTS = 50
DEFAULT_MAX_BYTES = 256 * 1024

ITEM_RET_ELEMENTS = (
    "ListID", "TimeModified", "EditSequence", "Name", "FullName", "BarCodeValue", "IsActive",
    "ManufacturerPartNumber", "SalesOrPurchase", "SalesAndPurchase", "SalesDesc", "SalesPrice",
)  # fmt: skip
"""What item sync reads. IncludeRetElement names top-level elements of the Ret: service
and non-inventory items keep Desc/Price inside SalesOrPurchase or SalesAndPurchase,
inventory items have SalesDesc/SalesPrice directly."""

CUSTOMER_RET_ELEMENTS = (
    "ListID", "TimeModified", "EditSequence", "Name", "FullName", "IsActive", "CompanyName", "FirstName",
    "LastName", "BillAddress", "ShipAddress", "Phone", "Email", "TermsRef",
)  # fmt: skip

RET_ELEMENT_SINCE = {
    "BarCodeValue": f.V("12.0"),
    "ClassRef": f.V("12.0"),
    "ManufacturerPartNumber": f.V("7.0"),
    "UnitOfMeasureSetRef": f.V("7.0"),
    "ExternalGUID": f.V("8.0"),
}
"""Ret elements newer than qbXML 4.0 (IncludeRetElement itself): not asked for from older companies."""


@dataclass(frozen=True)
class _Request:
    template: str
    fields: Mapping[str, f.Field]
    noun: str  # what the record is called in messages: "item", "customer", "invoice", ...
    selection_groups: Sequence[Sequence[str]] = ()
    default_ret_elements: tuple[str, ...] = ()


REQUESTS: dict[str, _Request] = {
    "ItemQuery": _Request("item_query.xml.j2", f.ITEM_QUERY, "item query", f.LIST_QUERY_GROUPS, ITEM_RET_ELEMENTS),
    "CustomerQuery": _Request(
        "customer_query.xml.j2", f.CUSTOMER_QUERY, "customer query", f.LIST_QUERY_GROUPS, CUSTOMER_RET_ELEMENTS
    ),
    "TermsQuery": _Request("terms_query.xml.j2", f.TERMS_QUERY, "terms query", f.LIST_QUERY_GROUPS),
    "AccountQuery": _Request("account_query.xml.j2", f.ACCOUNT_QUERY, "account query", f.LIST_QUERY_GROUPS),
    "InvoiceQuery": _Request("invoice_query.xml.j2", f.INVOICE_QUERY, "invoice query", f.INVOICE_QUERY_GROUPS),
    "ListDeletedQuery": _Request("list_deleted_query.xml.j2", f.LIST_DELETED_QUERY, "deleted list query"),
    "TxnDeletedQuery": _Request("txn_deleted_query.xml.j2", f.TXN_DELETED_QUERY, "deleted transaction query"),
    "ItemServiceAdd": _Request("item_service_add.xml.j2", f.ITEM_SERVICE_ADD, "item"),
    "ItemNonInventoryAdd": _Request("item_non_inventory_add.xml.j2", f.ITEM_NON_INVENTORY_ADD, "item"),
    "ItemInventoryAdd": _Request("item_inventory_add.xml.j2", f.ITEM_INVENTORY_ADD, "item"),
    "CustomerAdd": _Request("customer_add.xml.j2", f.CUSTOMER_ADD, "customer"),
    "InvoiceAdd": _Request("invoice_add.xml.j2", f.INVOICE_ADD, "invoice"),
}


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("qbxml_templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _record_label(request: _Request, data: Mapping[str, Any]) -> str:
    """How error messages name the record: "item 'Blue widget'", "invoice 1001", "the item query"."""
    if request.noun.endswith("query"):
        return f"the {request.noun}"
    identity = data.get("ref_number") if request.noun == "invoice" else data.get("name")
    if not isinstance(identity, str) or not identity.strip():
        return f"a new {request.noun}"
    shown = identity.strip()
    shown = shown if len(shown) <= 40 else shown[:40] + "..."
    return f"{request.noun} {shown}" if request.noun == "invoice" else f"{request.noun} '{shown}'"


def _check_version(version: QbxmlVersion) -> None:
    if not isinstance(version, QbxmlVersion) or not OLDEST_SUPPORTED <= version <= DEFAULT_VERSION:
        raise OurBug(f"cannot render for qbXML {version}: supported {OLDEST_SUPPORTED} to {DEFAULT_VERSION}")


def _check_iterator(request_type: str, cleaned: Mapping[str, Any]) -> None:
    iterator, iterator_id = cleaned.get("iterator"), cleaned.get("iterator_id")
    if iterator in ("Continue", "Stop") and iterator_id is None:
        raise OurBug(f"{request_type}: iterator={iterator!r} needs the iterator_id QuickBooks returned")
    if iterator_id is not None and iterator in (None, "Start"):
        raise OurBug(f"{request_type}: iterator_id is only sent with iterator='Continue' or 'Stop'")


def _ret_elements(request: _Request, data: Mapping[str, Any], cleaned: list[str], version: QbxmlVersion) -> list[str]:
    names = list(request.default_ret_elements) if data.get("include_ret_elements") is None else cleaned
    kept = [name for name in names if version >= RET_ELEMENT_SINCE.get(name, OLDEST_SUPPORTED)]
    if len(kept) < len(names):
        logger.debug("Not asking qbXML %s for %s", version, sorted(set(names) - set(kept)))
    return kept


def render_request(
    request_type: str, request_id: str, data: Mapping[str, Any], version: QbxmlVersion = DEFAULT_VERSION
) -> str:
    """Render one ``<{request_type}Rq requestID="...">`` element for the company's qbXML version.

    ``request_id`` (at most 50 printable ASCII characters) comes back on the matching
    ``*Rs``, so the caller can map each response to its outbox entry. See the module
    docstring for the data keys of each request type.

    Raises:
        DataError: a value a person must fix (too long, not Latin-1, missing account, ...).
        TypeError: a value of the wrong Python type (a float for money, ...).
        OurBug: unknown request type or key, conflicting selections, bad request_id or version.
    """
    request = REQUESTS.get(request_type)
    if request is None:
        raise OurBug(f"no qbXML template for {request_type!r}; known: {', '.join(REQUESTS)}")
    _check_version(version)
    if not (isinstance(request_id, str) and 0 < len(request_id) <= MAX_REQUEST_ID_LENGTH and request_id.isascii()
            and request_id.isprintable()):  # fmt: skip
        raise OurBug(f"requestID must be 1 to {MAX_REQUEST_ID_LENGTH} printable ASCII characters: {request_id!r}")
    if not isinstance(data, Mapping):
        raise TypeError(f"{request_type} data must be a mapping, not {type(data).__name__}")
    cleaner = f.Cleaner(request_type, _record_label(request, data), version)
    cleaned = cleaner.clean(request.fields, data)
    f.check_one_selection(request_type, cleaned, request.selection_groups)
    _check_iterator(request_type, cleaned)
    if "include_ret_elements" in cleaned:
        cleaned["include_ret_elements"] = _ret_elements(request, data, cleaned["include_ret_elements"], version)
    template = _environment().get_template(request.template)
    return template.render(request_id=request_id, d=cleaned).strip()


def _request_ids(fragments: Iterable[str]) -> list[str]:
    """The requestID of each fragment, checking each is one well-formed ``*Rq`` element."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    ids = []
    for fragment in fragments:
        try:
            element = etree.fromstring(fragment.encode("utf-8"), parser)
        except etree.XMLSyntaxError as error:
            raise OurBug(f"not a rendered qbXML request ({error}): {fragment[:80]!r}") from error
        if not element.tag.endswith("Rq") or not element.get("requestID"):
            raise OurBug(f"not a qbXML request with a requestID: <{element.tag}>")
        ids.append(element.get("requestID"))
    return ids


def render_message_set(
    fragments: Sequence[str], version: QbxmlVersion = DEFAULT_VERSION, on_error: str = "continueOnError"
) -> str:
    """Wrap requests from :func:`render_request` in one qbXML document for the Web Connector.

    The fragments must have been rendered for the same ``version``. With
    ``continueOnError`` QuickBooks runs every request even when one fails; with
    ``stopOnError`` the requests after a failure are not run (and get no response).

    Raises:
        OurBug: a fragment is not a rendered request, two share a requestID, the set is
            empty, or ``on_error``/``version`` is invalid.
    """
    _check_version(version)
    if on_error not in ON_ERROR:
        raise OurBug(f"onError must be one of {ON_ERROR}, not {on_error!r}")
    if not fragments:
        raise OurBug("a qbXML message set needs at least one request")
    ids = _request_ids(fragments)
    duplicates = sorted({request_id for request_id in ids if ids.count(request_id) > 1})
    if duplicates:
        raise OurBug(f"requestIDs must be unique within a message set: {duplicates}")
    template = _environment().get_template("message_set.xml.j2")
    # The fragments were rendered (and escaped) by render_request and parsed above.
    safe = [Markup(fragment) for fragment in fragments]  # noqa: S704
    return template.render(version=str(version), on_error=on_error, fragments=safe)


@functools.cache
def _envelope_bytes() -> int:
    template = _environment().get_template("message_set.xml.j2")
    return len(template.render(version=str(DEFAULT_VERSION), on_error="continueOnError", fragments=[]).encode())


def split_message_sets(
    requests: Sequence[str], max_requests: int = DEFAULT_MAX_REQUESTS, max_bytes: int = DEFAULT_MAX_BYTES
) -> list[list[str]]:
    """Group rendered requests, in order, into message sets of bounded count and size.

    Smaller sets keep each Web Connector round trip well inside its timeouts and
    limit what one stopOnError failure holds back. A single request bigger than
    ``max_bytes`` travels alone (with a warning) rather than not at all.

    Raises:
        ValueError: a limit is below 1.
    """
    if max_requests < 1 or max_bytes < 1:
        raise ValueError("max_requests and max_bytes must be at least 1")
    sets: list[list[str]] = []
    current: list[str] = []
    size = _envelope_bytes()
    for request in requests:
        request_bytes = len(request.encode("utf-8")) + 1  # + the newline between requests
        if current and (len(current) >= max_requests or size + request_bytes > max_bytes):
            sets.append(current)
            current, size = [], _envelope_bytes()
        if size + request_bytes > max_bytes:
            logger.warning("A qbXML request of %d bytes exceeds the %d-byte message set limit", request_bytes, max_bytes)
        current.append(request)
        size += request_bytes
    if current:
        sets.append(current)
    return sets
