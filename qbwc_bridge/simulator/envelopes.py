"""SOAP 1.1 envelopes exactly as QBWC 2.3 writes them, and the strict reading of answers.

Requests copy the recorded Web Connector POST bodies byte for byte in shape: one
line, ``soap:``/``xsi:``/``xsd:`` prefixes declared on the envelope, the operation
element carrying the default namespace ``http://developer.intuit.com/``, empty
parameters as ``<hresult />``, and the qbXML as escaped text (``&lt;QBXML&gt;``).

Answers are read the way .NET's XmlSerializer reads them, which is stricter than most
SOAP stacks: the ``<opResponse>``, ``<opResult>`` and each ``<string>`` of an array must
be in ``http://developer.intuit.com/`` (the real QBWC silently sees *nothing* in an
element of another namespace, then fails with QBWC1012 "Index was outside the bounds
of the array"). :func:`read_answer` raises :class:`AnswerError` with a short reason;
the connector turns it into the QBWC error code of the operation.
"""
from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

INTUIT_NS = "http://developer.intuit.com/"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_ENVELOPE_OPEN = (
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soap:Body>"
)
_ENVELOPE_CLOSE = "</soap:Body></soap:Envelope>"

PARAMETERS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": ("ticket", "strHCPResponse", "strCompanyFileName", "qbXMLCountry", "qbXMLMajorVers",
                       "qbXMLMinorVers"),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}


class AnswerError(Exception):
    """The server's answer is not what a .NET SOAP client can read."""


def soap_action(operation: str) -> str:
    """The quoted SOAPAction header value QBWC sends."""
    return f'"{INTUIT_NS}{operation}"'


def request_envelope(operation: str, *values: str | int) -> bytes:
    """The POST body for ``operation`` with its parameters in WSDL order."""
    names = PARAMETERS[operation]
    if len(values) != len(names):
        raise TypeError(f"{operation} takes {len(names)} parameters, got {len(values)}")
    if not names:
        body = f'<{operation} xmlns="{INTUIT_NS}" />'
    else:
        parts = []
        for name, value in zip(names, values):
            text = escape(str(value))
            parts.append(f"<{name}>{text}</{name}>" if text else f"<{name} />")
        body = f'<{operation} xmlns="{INTUIT_NS}">{"".join(parts)}</{operation}>'
    return (_ENVELOPE_OPEN + body + _ENVELOPE_CLOSE).encode("utf-8")


@dataclass(frozen=True)
class Answer:
    """A readable answer: ``value`` is a str, an int or a list of str (authenticate)."""

    value: str | int | list[str] | None


def _parse(body: bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        return etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise AnswerError(f"the response is not well-formed XML ({error})") from None


def _is_nil(element: etree._Element) -> bool:
    return element.get(f"{{{XSI_NS}}}nil") in ("true", "1")


def fault_text(body: bytes) -> str | None:
    """The faultstring of a SOAP fault, or None if ``body`` is not a fault."""
    try:
        root = _parse(body)
    except AnswerError:
        return None
    fault = root.find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    if fault is None:
        return None
    return (fault.findtext("faultstring") or fault.findtext(f"{{{SOAP_NS}}}faultstring") or "").strip() or "(empty)"


def read_answer(operation: str, body: bytes) -> Answer:
    """Read ``<operation>Response/<operation>Result`` like QBWC's XmlSerializer would.

    Raises:
        AnswerError: not well-formed, not a SOAP 1.1 envelope, a fault, wrong or
            missing elements or namespaces, or a value of the wrong type.
    """
    root = _parse(body)
    if root.tag != f"{{{SOAP_NS}}}Envelope":
        raise AnswerError(f"the root element is {_name(root)}, not a SOAP 1.1 soap:Envelope")
    soap_body = root.find(f"{{{SOAP_NS}}}Body")
    if soap_body is None:
        raise AnswerError("the envelope has no soap:Body")
    children = [child for child in soap_body if isinstance(child.tag, str)]
    if children and children[0].tag == f"{{{SOAP_NS}}}Fault":
        raise AnswerError(f"SOAP fault: {fault_text(body)}")
    expected = f"{{{INTUIT_NS}}}{operation}Response"
    if len(children) != 1 or children[0].tag != expected:
        found = ", ".join(_name(c) for c in children) or "nothing"
        raise AnswerError(f"expected <{operation}Response> in {INTUIT_NS}, found {found}")
    results = [child for child in children[0] if isinstance(child.tag, str)]
    result_tag = f"{{{INTUIT_NS}}}{operation}Result"
    if not results:
        if operation == "clientVersion":
            return Answer(None)  # the guide allows Null: proceed
        raise AnswerError(f"<{operation}Response> has no <{operation}Result> in {INTUIT_NS}")
    if len(results) != 1 or results[0].tag != result_tag:
        found = ", ".join(_name(c) for c in results)
        raise AnswerError(f"expected <{operation}Result> in {INTUIT_NS}, found {found}")
    result = results[0]
    if operation == "authenticate":
        return Answer(_string_array(result))
    if operation == "receiveResponseXML":
        text = (result.text or "").strip()
        try:
            return Answer(int(text))
        except ValueError:
            raise AnswerError(f"<receiveResponseXMLResult> is {text!r}, not an int") from None
    if len(result):
        raise AnswerError(f"<{operation}Result> holds elements, a string was expected")
    return Answer(None if _is_nil(result) else (result.text or ""))


def _string_array(result: etree._Element) -> list[str]:
    items = []
    for child in result:
        if not isinstance(child.tag, str):
            continue
        if child.tag != f"{{{INTUIT_NS}}}string":
            raise AnswerError(f"Index was outside the bounds of the array (an ArrayOfString item is {_name(child)}, "
                              f"not <string> in {INTUIT_NS})")
        items.append("" if _is_nil(child) else (child.text or ""))
    if len(items) < 2:
        raise AnswerError(f"Index was outside the bounds of the array (authenticate returned {len(items)} "
                          f"string(s); at least 2 are required)")
    return items


def _name(element: etree._Element) -> str:
    qname = etree.QName(element)
    return f"<{qname.localname}> in {qname.namespace}" if qname.namespace else f"<{qname.localname}> (no namespace)"
