"""QuickBooks Online's error answers: read every shape it sends, then say what one means.

:func:`parse_fault` turns an error answer into one :class:`QboFault`, whatever its shape:

* JSON ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}``, the
  usual one; 401s come as ``{"fault": {"error": [{"message", "detail", ...}]}}`` instead
  (recorded: ``minimul__qbo_api__spec_vcr_error_401.yml__0.json``);
* XML ``<IntuitResponse><Fault type><Error code><Message/><Detail/></Error></Fault>``, which
  is what throttling (3001) answers with even to a JSON request;
* OAuth style ``{"error": "invalid_grant", "error_description": ...}``;
* anything else a gateway in front of QuickBooks says: empty, HTML, plain text.

Codes are strings in JSON (``"6240"``) and may carry zeros (``errorCode=003001`` inside a
message), so they are read as numbers.

:func:`explain` classifies a fault into a :class:`FaultMeaning`: one reason of a short list,
whether trying again can help, whether a fresh access token is needed, and what we tell a
bookkeeper (plain words, no codes: the code travels separately for support).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from lxml import etree

# A gateway's HTML page or a stack trace is not worth keeping whole in a message.
_DETAIL_LIMIT = 500
# QuickBooks echoes part of the refused token in its 401 detail ("Token expired: AB01...").
_TOKEN_ECHO = re.compile(r"(Token (?:expired|invalid|revoked)\s*:\s*)\S+", re.IGNORECASE)
_ERROR_CODE_IN_MESSAGE = re.compile(r"errorCode=(\d+)")
# entities are never resolved and nothing is fetched: the body comes from the network.
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass(frozen=True)
class QboFault:
    """One error answer of QuickBooks Online (the first of its errors, which is the cause).

    ``code`` is ``None`` when the answer carried none (a gateway's page, an OAuth error);
    ``type`` is QuickBooks' fault type (``ValidationFault``, ``SERVICE``, ``AUTHENTICATION``,
    ``SystemFault``), ``"OAuth"`` for OAuth-style errors and ``""`` when unknown.
    """

    http_status: int
    code: int | None
    message: str
    detail: str
    element: str | None
    type: str


class FaultReason:
    """The reasons :class:`FaultMeaning` names (plain strings, so they compare and serialise as such)."""

    DUPLICATE_NAME = "duplicate_name"
    INVALID_REFERENCE = "invalid_reference"
    STALE = "stale"
    DUPLICATE_NUMBER = "duplicate_number"
    CLOSED_PERIOD = "closed_period"
    SUBSCRIPTION_ENDED = "subscription_ended"
    VALIDATION = "validation"
    EXPIRED_TOKEN = "expired_token"
    THROTTLED = "throttled"
    SERVER = "server"
    OUR_BUG = "our_bug"
    OTHER = "other"


@dataclass(frozen=True)
class FaultMeaning:
    """What a fault means for us and for the bookkeeper.

    ``retryable``: trying again can succeed without a person changing anything — later
    (throttled, server), after a fresh token (``needs_refresh``) or after re-reading the
    record (stale). ``needs_refresh``: the access token was refused; get a fresh one, and if
    a fresh one is refused too, the company must be connected again (Reconnect).
    ``quickbooks_message``: QuickBooks' own words, for the screen next to ours.
    """

    reason: str
    retryable: bool
    needs_refresh: bool
    explanation: str
    action: str
    quickbooks_message: str


def parse_fault(http_status: int, body: bytes | str | None) -> QboFault:
    """The fault in an error answer of any shape (never raises: an unreadable body is described)."""
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else (body or "")
    stripped = text.strip()
    parsed = None
    if stripped.startswith(("{", "[")):
        parsed = _parse_json(http_status, stripped)
    elif stripped.startswith("<"):
        parsed = _parse_xml(http_status, stripped)
    if parsed is None:
        words = _without_tags(stripped)
        parsed = QboFault(http_status, None, _clip(words, 120), _clip(words), None, "")
    if not parsed.message:
        # Something must name the fault in a log line and on the screen.
        parsed = replace(parsed, message=f"HTTP {http_status}")
    return parsed


def _parse_json(http_status: int, text: str) -> QboFault | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    fault = _get(document, "Fault")
    if isinstance(fault, dict):
        errors = _get(fault, "Error")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        message = _text(_get(first, "Message"))
        return QboFault(
            http_status=http_status,
            code=_code(_get(first, "code"), message),
            message=message,
            detail=_clip(without_token_echo(_text(_get(first, "Detail")))),
            element=_text(_get(first, "element")) or None,
            type=_text(_get(fault, "type")),
        )
    if isinstance(document.get("error"), str):
        return QboFault(
            http_status=http_status,
            code=None,
            message=document["error"],
            detail=_clip(_text(document.get("error_description"))),
            element=None,
            type="OAuth",
        )
    return None


def _parse_xml(http_status: int, text: str) -> QboFault | None:
    try:
        root = etree.fromstring(text.encode("utf-8"), parser=_XML_PARSER)
    except etree.XMLSyntaxError:
        return None
    fault = _find(root, "Fault")
    if fault is None:
        return None
    error = _find(fault, "Error")
    error = error if error is not None else fault
    message_node, detail_node = _find(error, "Message"), _find(error, "Detail")
    message = _text(message_node.text if message_node is not None else "")
    return QboFault(
        http_status=http_status,
        code=_code(error.get("code"), message),
        message=message,
        detail=_clip(without_token_echo(_text(detail_node.text if detail_node is not None else ""))),
        element=error.get("element") or None,
        type=fault.get("type", ""),
    )


def _find(node, name: str):
    """The first descendant called ``name`` in any namespace (QuickBooks' is not always declared)."""
    for child in node.iter():
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return child
    return None


def _get(mapping: dict, key: str):
    """``mapping[key]`` in QuickBooks' spelling or in the all-lowercase one of its 401s."""
    value = mapping.get(key)
    return value if value is not None else mapping.get(key.lower())


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _code(raw: object, message: str) -> int | None:
    for candidate in (_text(raw), *_ERROR_CODE_IN_MESSAGE.findall(message)):
        if candidate.isdigit():
            return int(candidate)
    return None


def without_token_echo(text: str) -> str:
    """``text`` without the token QuickBooks quotes back in its 401 details (for details and logs alike)."""
    return _TOKEN_ECHO.sub(r"\1[redacted]", text)


def _without_tags(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", text)).strip()


def _clip(text: str, limit: int = _DETAIL_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- what a fault means -------------------------------------------------------------------

_SERVER_REPORT = "If this keeps happening for more than an hour, report it to support."
_OUR_BUG_EXPLANATION = (
    "The bridge sent QuickBooks Online a request it could not understand. This is a fault in the bridge, "
    "not in your data or in QuickBooks."
)
_OUR_BUG_ACTION = (
    "Report this to support with the time it happened. Nothing needs changing in QuickBooks; "
    "the bridge will not send this again until it is fixed."
)
_OUR_BUG_CODES = frozenset({2010, 2020, 2030, 2050, 4000, 4001, 500})
_TOKEN_CODES = frozenset({3200, 3201, 3202})
# What QuickBooks calls the lists in "<List> element id <N> not found".
_REFERENCE_KINDS = {
    "accounts": "account",
    "account": "account",
    "names": "customer, vendor or employee",
    "customer": "customer",
    "customers": "customer",
    "items": "product or service",
    "item": "product or service",
    "klasses": "class",
    "class": "class",
    "departments": "location",
    "department": "location",
    "taxcode": "tax code",
    "taxcodes": "tax code",
    "taxagency": "tax agency",
    "term": "payment term",
    "terms": "payment term",
    "salesterm": "payment term",
    "paymentmethod": "payment method",
}
# What a Ref field in our request points at ("Line.SalesItemLineDetail.ItemRef" → item).
_REF_FIELD_KINDS = {
    "itemref": "product or service",
    "customerref": "customer",
    "incomeaccountref": "account",
    "expenseaccountref": "account",
    "assetaccountref": "account",
    "accountref": "account",
    "salestermref": "payment term",
    "taxcoderef": "tax code",
    "classref": "class",
    "departmentref": "location",
}
_REFERENCE_ID = re.compile(r"\b([A-Za-z]+) (?:element id|with Id) (\S+?)(?: not found| is invalid| was not found|\.|$)")
_DELETED_NAME = re.compile(r"restore (.+?) \(deleted\)")
_DUPLICATE_KIND = re.compile(r"Another (?:\$\$)?([A-Za-z ,]+?)(?:\$\$)? is already using this", re.IGNORECASE)
_DOC_NUMBER = re.compile(r"DocNumber=(\S+)")
_VALIDATION_PREFIX = re.compile(
    r"^(?:A business validation error has occurred while processing your request\s*:?\s*)?"
    r"(?:Business Validation Error\s*:?\s*)?",
    re.IGNORECASE,
)


def explain(fault: QboFault) -> FaultMeaning:
    """What ``fault`` means: a reason, whether to retry or refresh, and words for the bookkeeper."""
    code, status = fault.code, fault.http_status
    quickbooks_message = _quickbooks_words(fault)
    if code == 6240:
        kind = _duplicate_kind(fault.detail)
        return _refused(
            FaultReason.DUPLICATE_NAME,
            f"QuickBooks already has a {kind} with this name. A name can be used only once across "
            "customers, vendors and employees, inactive ones included.",
            "Match this record to the one in QuickBooks, or give it a different name in the bridge and "
            "create it again.",
            quickbooks_message,
        )
    if code in (610, 2500):
        return _refused(
            FaultReason.INVALID_REFERENCE,
            _reference_explanation(fault),
            "In QuickBooks, make the record active again (or restore it), or choose another one in the "
            "bridge's settings or matches, then try again.",
            quickbooks_message,
        )
    if code == 5010:
        return FaultMeaning(
            FaultReason.STALE,
            retryable=True,
            needs_refresh=False,
            explanation="Someone changed this record in QuickBooks while the bridge was saving it.",
            action="Nothing to do: the bridge reads the record again and saves once more.",
            quickbooks_message=quickbooks_message,
        )
    if code == 6140:
        number = _DOC_NUMBER.search(fault.detail)
        which = f"number {number.group(1)}" if number else "this number"
        return _refused(
            FaultReason.DUPLICATE_NUMBER,
            f"QuickBooks already has a transaction with {which}, and the company does not allow two "
            "with the same number.",
            "Check in QuickBooks whether that invoice belongs to this order. If it does not, renumber or "
            "delete the other one in QuickBooks, or let QuickBooks number invoices (the bridge's General "
            "tab), then try again.",
            quickbooks_message,
        )
    if code == 6210:
        return _refused(
            FaultReason.CLOSED_PERIOD,
            "The books are closed for this date in QuickBooks, so nothing dated then can be added.",
            "In QuickBooks, change the closing date (Settings → Account and settings → Advanced → "
            "Close the books), or ask your accountant to, then try again.",
            quickbooks_message,
        )
    if code == 6190:
        return _refused(
            FaultReason.SUBSCRIPTION_ENDED,
            "The QuickBooks Online subscription of this company has ended or is suspended, so QuickBooks "
            "accepts no new records.",
            "Renew or reactivate the subscription in QuickBooks (Settings → Billing & subscription), "
            "then try again.",
            quickbooks_message,
        )
    if code == 6000:
        words = _VALIDATION_PREFIX.sub("", fault.detail).strip() or fault.message
        return _refused(
            FaultReason.VALIDATION,
            f"QuickBooks refused it: “{words}”",
            "Change what QuickBooks asks for (in QuickBooks or in the bridge), then try again.",
            quickbooks_message,
        )
    if code in _TOKEN_CODES or (status == 401 and code not in _OUR_BUG_CODES):
        return FaultMeaning(
            FaultReason.EXPIRED_TOKEN,
            retryable=True,
            needs_refresh=True,
            explanation="QuickBooks Online no longer accepted the bridge's sign-in for this company.",
            action="Nothing to do at first: the bridge signs in again by itself. If this stays, press "
            "Reconnect on the connection card and approve the bridge in QuickBooks.",
            quickbooks_message=quickbooks_message,
        )
    if code == 3001 or status == 429:
        return FaultMeaning(
            FaultReason.THROTTLED,
            retryable=True,
            needs_refresh=False,
            explanation="QuickBooks Online asked the bridge to slow down: too many requests for this "
            "company in a short time (other apps connected to it count too).",
            action="Nothing to do: the bridge waits and tries again.",
            quickbooks_message=quickbooks_message,
        )
    if code in _OUR_BUG_CODES:
        return _refused(FaultReason.OUR_BUG, _OUR_BUG_EXPLANATION, _OUR_BUG_ACTION, quickbooks_message)
    if status >= 500:
        return FaultMeaning(
            FaultReason.SERVER,
            retryable=True,
            needs_refresh=False,
            explanation="QuickBooks Online had a problem of its own and could not answer.",
            action=f"Nothing to do: the bridge tries again later. {_SERVER_REPORT}",
            quickbooks_message=quickbooks_message,
        )
    return _refused(
        FaultReason.OTHER,
        "QuickBooks Online refused this, for a reason the bridge does not know how to explain.",
        "Read QuickBooks' message below; if it does not tell you what to change, report it to support.",
        quickbooks_message,
    )


def _refused(reason: str, explanation: str, action: str, quickbooks_message: str) -> FaultMeaning:
    return FaultMeaning(reason, False, False, explanation, action, quickbooks_message)


def _quickbooks_words(fault: QboFault) -> str:
    if fault.message and fault.detail and fault.detail != fault.message:
        return f"{fault.message}: {fault.detail}"
    return fault.message or fault.detail


def _duplicate_kind(detail: str) -> str:
    found = _DUPLICATE_KIND.search(detail)
    return found.group(1).strip().lower() if found else "record"


def _reference_explanation(fault: QboFault) -> str:
    deleted = _DELETED_NAME.search(fault.detail)
    if deleted:
        return f"“{deleted.group(1)}” was deleted in QuickBooks, so it cannot be used."
    found = _REFERENCE_ID.search(fault.detail)
    if found and found.group(1).lower() in _REFERENCE_KINDS:
        kind, record_id = _REFERENCE_KINDS[found.group(1).lower()], found.group(2)
        return f"The {kind} with QuickBooks id {record_id} is inactive or no longer exists in QuickBooks."
    kind = _ref_field_kind(fault.element) or _ref_field_kind(fault.detail)
    if kind:
        return f"The {kind} this uses is inactive or no longer exists in QuickBooks."
    return (
        "Something this uses (an account, customer, product or service, vendor or employee) is inactive "
        "or no longer exists in QuickBooks."
    )


def _ref_field_kind(text: str | None) -> str | None:
    if not text:
        return None
    for word in re.findall(r"[A-Za-z]+Ref\b", text):
        if word.lower() in _REF_FIELD_KINDS:
            return _REF_FIELD_KINDS[word.lower()]
    return None
