"""Reading QuickBooks' qbXML responses: streaming, hardened, lenient.

* **Streaming**: lxml ``iterparse`` and every record is cleared as soon as it has
  been read, so a 100 MB ItemQueryRs costs the memory of one record, not of the
  document (:func:`iter_response_records` never holds a list of records at all).
* **Hardened**: no entity expansion, no network, no DTD; a DOCTYPE is refused
  outright (no legitimate QuickBooks response has one), ``huge_tree`` stays off.
* **Lenient**: unknown elements, values outside Intuit's enums and attributes we do
  not use are kept as text or ignored, never fatal: QuickBooks versions newer than
  our XSD add elements, and one odd field must not cost a whole sync.
* Anything that is not well-formed qbXML raises :class:`QbxmlParseError` with a
  plain message, never a raw lxml traceback.

Every ``*Rs`` becomes a :class:`QbxmlResponse`: request ID, type, status explained
(:mod:`..status`), iterator state and its records, each a :class:`QbxmlRecord`
whose fields are text (``str``), nested aggregates (``dict``) or repeated children
(``list``). Values stay text: the caller converts what it uses (``Decimal`` for
money, see :meth:`QbxmlRecord.decimal`).
"""
from __future__ import annotations

import dataclasses
import io
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from lxml import etree

from ....errors import BridgeError
from ..status import StatusInfo, explain_status

logger = logging.getLogger(__name__)

MESSAGES_ELEMENT = "QBXMLMsgsRs"
# No entity expansion, no network, no DTD, no giant text nodes; comments and PIs dropped.
HARDENED = {"resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
            "remove_comments": True, "remove_pis": True}
_POSITION_SUFFIX = re.compile(r",? line \d+, column \d+$")

REPEATED_ELEMENTS = frozenset({
    "AdditionalContactRef", "AdditionalNotesRet", "AppliedToTxnRet", "AssignToObject", "BillingRatePerItemRet",
    "CategoryAccountMapping", "ColData", "ColDesc", "ColTitle", "CompanyFileEventOperation", "ComponentItemLineRet",
    "ContactsRet", "CreditMemoLineGroupRet", "CreditMemoLineRet", "DataExt", "DataExtRet", "DataRow", "DefaultUnit",
    "DepositLineRet", "Earnings", "EnabledIf", "EnabledIfNot", "EstimateLineGroupRet", "EstimateLineRet",
    "ExpenseLineRet", "InventoryAdjustmentLineRet", "InvoiceLineGroupRet", "InvoiceLineRet", "ItemGroupLine",
    "ItemGroupLineRet", "ItemInventoryAssemblyLine", "ItemLineRet", "JournalCreditLine", "JournalDebitLine",
    "LeadContactsRet", "LinkedTxn", "ListEventOperation", "ListEventSubscription", "ListEventType", "LocationsRet",
    "PrefillAccountRef", "PriceLevelPerItemRet", "PurchaseOrderLineGroupRet", "PurchaseOrderLineRet", "RateHistory",
    "RefundAppliedToTxnRet", "RelatedUnit", "SalesOrderLineGroupRet", "SalesOrderLineRet", "SalesReceiptLineGroupRet",
    "SalesReceiptLineRet", "SalesTaxPayableLineRet", "SalesTaxPaymentCheckLineRet", "Service", "ShipToAddress",
    "SubtotalRow", "SupportedQBXMLVersion", "TextRow", "TotalRow", "TransferInventoryLineRet", "TxnEventOperation",
    "TxnEventSubscription", "TxnEventType", "TxnLineDetail", "VisibleIf", "VisibleIfNot",
})  # fmt: skip
"""Children Intuit's XSD lets repeat inside a Ret: always a list, even when one came back.
Any other child that repeats anyway becomes a list from its second occurrence."""


class QbxmlParseError(BridgeError):
    """QuickBooks' answer (or what the transport made of it) is not readable qbXML.

    Not our bug and not the data's: the outbox must treat every request of that
    message set as unconfirmed and look each Add up before sending it again.
    """

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(
            message,
            explanation="The answer from QuickBooks could not be read, so the bridge cannot tell what was saved.",
            action="Nothing to do now: the bridge checks QuickBooks before sending anything again. "
            "If this keeps happening, send this message to support.",
        )
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class QbxmlRecord:
    """One ``*Ret`` (or other child of a ``*Rs``): its element name and its fields."""

    ret_type: str  # e.g. "ItemServiceRet"
    fields: dict[str, Any]

    def get(self, path: str, default: Any = None) -> Any:
        """A field by dotted path: ``record.get("SalesOrPurchase.Price")``; ``default`` when absent."""
        value: Any = self.fields
        for part in path.split("."):
            if not isinstance(value, dict) or part not in value:
                return default
            value = value[part]
        return value

    def decimal(self, path: str) -> Decimal | None:
        """A money or quantity field as Decimal; None when absent or empty.

        Raises:
            QbxmlParseError: the field is present but not a number.
        """
        value = self.get(path)
        if value is None or value == "":
            return None
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise QbxmlParseError(f"QuickBooks sent {value!r} as {path} of a {self.ret_type}, which is not a number")
        return number


@dataclass(frozen=True)
class QbxmlResponse:
    """One ``*Rs``: which request it answers, how it went, and what came back."""

    rs_type: str  # e.g. "ItemQueryRs"
    request_id: str | None
    status: StatusInfo
    iterator_id: str | None = None
    iterator_remaining_count: int | None = None
    records: list[QbxmlRecord] = field(default_factory=list)


def _as_stream(source: bytes | str | BinaryIO) -> tuple[BinaryIO, str | None]:
    if isinstance(source, str):
        # Already decoded: whatever encoding the XML declaration names no longer applies.
        return io.BytesIO(source.encode("utf-8")), "utf-8"
    if isinstance(source, (bytes, bytearray, memoryview)):
        return io.BytesIO(bytes(source)), None
    if hasattr(source, "read"):
        return source, None
    raise TypeError(f"a qbXML response is bytes, str or a binary file, not {type(source).__name__}")


def _fields(element: etree._Element) -> dict[str, Any]:
    result: dict[str, Any] = {}
    grown: set[str] = set()  # tags that were single and became lists
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):  # comments, processing instructions
            continue
        value = _fields(child) if len(child) else (child.text or "")
        if tag in REPEATED_ELEMENTS:
            result.setdefault(tag, []).append(value)
        elif tag not in result:
            result[tag] = value
        elif tag in grown:
            result[tag].append(value)
        else:
            result[tag] = [result[tag], value]
            grown.add(tag)
    return result


def _int_attribute(element: etree._Element, name: str) -> int | None:
    text = element.get(name)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        logger.debug("Ignoring %s=%r on %s: not a number", name, text, element.tag)
        return None


def _header(rs: etree._Element) -> QbxmlResponse:
    code = _int_attribute(rs, "statusCode")
    if code is None:
        raise QbxmlParseError(f"QuickBooks sent a {rs.tag} without a status code", line=rs.sourceline)
    return QbxmlResponse(
        rs_type=rs.tag,
        request_id=rs.get("requestID"),
        status=explain_status(code, rs.get("statusSeverity", ""), rs.get("statusMessage", "")),
        iterator_id=rs.get("iteratorID"),
        iterator_remaining_count=_int_attribute(rs, "iteratorRemainingCount"),
    )


def _forget(element: etree._Element) -> None:
    """Free a finished element and the siblings before it (iterparse keeps them otherwise)."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _check_document(element: etree._Element) -> None:
    tree = element.getroottree()
    if tree.docinfo.doctype:
        raise QbxmlParseError("Refused a qbXML response that declares a DOCTYPE (QuickBooks never sends one)")
    if tree.getroot().tag != "QBXML":
        raise QbxmlParseError(f"Not a qbXML response: the document is <{tree.getroot().tag}>, not <QBXML>")


def iter_response_records(source: bytes | str | BinaryIO) -> Iterator[tuple[QbxmlResponse, QbxmlRecord | None]]:
    """Stream a response: ``(response, record)`` for each record, as soon as it is read.

    ``response`` carries the ``*Rs`` header (request ID, status, iterator) and an
    empty ``records`` list: the records come one by one beside it, so a 100k-item
    ItemQueryRs never sits in memory. A ``*Rs`` without records (an error, an empty
    query) is yielded once as ``(response, None)``, so every request gets an answer.

    Raises:
        QbxmlParseError: the document is not well-formed, not qbXML, or declares a DOCTYPE
            (records before the fault may already have been yielded).
        TypeError: ``source`` is not bytes, str or a binary file.
    """
    stream, encoding = _as_stream(source)
    events = etree.iterparse(stream, events=("end",), encoding=encoding, **HARDENED)
    checked = False
    current_rs: etree._Element | None = None
    header: QbxmlResponse | None = None
    try:
        for _event, element in events:
            if not checked:
                _check_document(element)
                checked = True
            parent = element.getparent()
            if parent is None:
                continue
            if parent.tag == MESSAGES_ELEMENT:  # a *Rs has ended
                if element is not current_rs and element.tag.endswith("Rs"):
                    yield _header(element), None
                elif not element.tag.endswith("Rs"):
                    logger.debug("Ignoring <%s> in a qbXML response", element.tag)
                current_rs = header = None
                _forget(element)
                continue
            grandparent = parent.getparent()
            if grandparent is not None and grandparent.tag == MESSAGES_ELEMENT and parent.tag.endswith("Rs"):
                if parent is not current_rs:  # the first record of this *Rs
                    current_rs, header = parent, _header(parent)
                record = QbxmlRecord(element.tag, _fields(element))
                _forget(element)
                yield header, record
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (None, None)
        reason = _POSITION_SUFFIX.sub("", error.msg or "unreadable")
        raise QbxmlParseError(
            f"QuickBooks' answer is not well-formed XML (line {line}, column {column}): {reason}",
            line=line,
            column=column,
        ) from None
    if not checked:
        raise QbxmlParseError("QuickBooks' answer is empty")


def parse_response(source: bytes | str | BinaryIO) -> list[QbxmlResponse]:
    """Every ``*Rs`` of a response, in document order, with its records.

    The answer is read as one tree: lxml builds it in C, where streaming pays a Python
    step for every element, and the records list holds the whole answer anyway (a SOAP
    body is bounded by the endpoint's size limit). What is not well-formed is read again
    by :func:`iter_response_records`, so every fault is reported exactly as streaming
    reports it. For query responses too big for memory, use :func:`iter_response_records`.

    Raises:
        QbxmlParseError: the document is not well-formed, not qbXML, or declares a DOCTYPE.
        TypeError: ``source`` is not bytes, str or a binary file.
    """
    if isinstance(source, str):
        # Already decoded: whatever encoding the XML declaration names no longer applies.
        data, encoding = source.encode("utf-8"), "utf-8"
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data, encoding = bytes(source), None
    elif hasattr(source, "read"):
        data, encoding = source.read(), None
    else:
        raise TypeError(f"a qbXML response is bytes, str or a binary file, not {type(source).__name__}")
    try:
        root = etree.fromstring(data, etree.XMLParser(encoding=encoding, **HARDENED))
    except etree.XMLSyntaxError:
        return _parse_streaming(source if encoding else data)
    _check_document(root)
    responses: list[QbxmlResponse] = []
    for messages in root.iter(MESSAGES_ELEMENT):
        for rs in messages:
            if not isinstance(rs.tag, str):
                continue
            if not rs.tag.endswith("Rs"):
                logger.debug("Ignoring <%s> in a qbXML response", rs.tag)
                continue
            records = [QbxmlRecord(child.tag, _fields(child)) for child in rs if isinstance(child.tag, str)]
            responses.append(dataclasses.replace(_header(rs), records=records))
    return responses


def _parse_streaming(source: bytes | str) -> list[QbxmlResponse]:
    responses: list[QbxmlResponse] = []
    current: QbxmlResponse | None = None
    for header, record in iter_response_records(source):
        if header is not current:
            current = header
            responses.append(dataclasses.replace(header, records=[]))
        if record is not None:
            responses[-1].records.append(record)
    return responses
