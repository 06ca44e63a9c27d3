"""The fake QuickBooks request processor: what QBXMLRP2 does with a message set.

It is deliberately as strict as QuickBooks: a message set that is not well-formed,
lacks ``<?qbxml version?>``, breaks the qbXML grammar (element order!), carries a
character outside ISO-8859-1 or a field newer than its declared version is refused
as a whole (HRESULT 0x80040400, empty response); a version the file does not
support gets 0x80040423. Given Intuit's XSD folder, the grammar is Intuit's XSD and
its annotated samples (lengths, field versions, every request type); without it, our
own :mod:`.qbxml_grammar`, which covers the requests the bridge sends and refuses
anything else (it states no field versions). The XSD is the stricter judge of every
request the grammar covers (``tests/simulator/test_qbxml_grammar.py``), so with the
XSD our grammar would add nothing and would refuse requests the bridge never sends
that tests still throw at the fake. Otherwise each ``*Rq`` is answered in order with its
``requestID`` echoed, stopping at the first error unless ``continueOnError``
(``rollbackOnError`` behaves like ``stopOnError``: QuickBooks Desktop does not roll
back). With the XSD, every response we produce is validated against it too: if the
fake ever answers something QuickBooks could not, it raises :class:`SimulatorBug`.

Iterators live in a :class:`ProcessorSession` (QuickBooks' BeginSession/EndSession)
and die with it: a ``Continue`` in a later session gets status 3391.

A non-Latin-1 character is refused loudly (real QuickBooks versions differ: some
store ``?``); the fake refuses so a test notices before a customer does.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..backends.desktop.schema import load_qbxml_schema
from . import adds, queries
from .company import FakeCompany, QuickBooksStatus
from .faults import FaultInjector, Faults
from .field_rules import FieldRules, load_field_rules
from .handling import Element, Handler, HandlerContext, Iterator, Outcome
from .qbxml_grammar import GrammarError, check_message_set, too_long

logger = logging.getLogger(__name__)

HRESULT_PARSE_ERROR = "0x80040400"
HRESULT_VERSION_UNSUPPORTED = "0x80040423"
HRESULT_COULD_NOT_START = "0x80040408"
HRESULT_OTHER_FILE_OPEN = "0x8004040A"
HRESULT_WRONG_MODE = "0x80040410"

HRESULT_MESSAGES = {
    HRESULT_PARSE_ERROR: "QuickBooks found an error when parsing the provided XML text stream.",
    HRESULT_VERSION_UNSUPPORTED: "The version of QBXML that was requested is not supported or is unknown.",
    HRESULT_COULD_NOT_START: "Could not start QuickBooks.",
    HRESULT_OTHER_FILE_OPEN: "A QuickBooks company data file is already open and it is different "
                             "from the one requested.",
    HRESULT_WRONG_MODE: "The QuickBooks company data file is currently open in a mode other than "
                        "the one specified by your application.",
}

_XML_DECLARATION = re.compile(r"<\?xml[^>]*\?>")


class SimulatorBug(AssertionError):
    """The fake produced a response QuickBooks never would (it fails its own XSD check)."""


class ConnectionFailure(Exception):
    """OpenConnection/BeginSession failed: what QBWC passes to connectionError."""

    def __init__(self, hresult: str):
        super().__init__(f"{hresult} {HRESULT_MESSAGES[hresult]}")
        self.hresult = hresult
        self.message = HRESULT_MESSAGES[hresult]


class _Refused(Exception):
    def __init__(self, hresult: str, detail: str):
        super().__init__(detail)
        self.hresult = hresult
        self.detail = detail


@dataclass(frozen=True)
class ProcessResult:
    """What QBWC forwards to receiveResponseXML: a response, or an HRESULT and message.

    ``detail`` says why a message set was refused; QBWC never shows it, we log it.
    """

    response: str
    hresult: str = ""
    message: str = ""
    detail: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.hresult)


def _handlers() -> dict[str, Handler]:
    return {**queries.HANDLERS, **adds.HANDLERS}


class RequestProcessor:
    """QuickBooks with one company file open, as the Web Connector sees it.

    Args:
        company: the open company file.
        schema_folder: Intuit's qbXML 13.0 XSD folder
            (``qbwc_bridge.backends.desktop.schema.schema_dir(shared_dir)``), or None
            to rely on the built-in grammar alone.
        faults: faults to inject (connection, lock and slow faults act here).
    """

    def __init__(self, company: FakeCompany, schema_folder: Path | None = None,
                 faults: Faults | FaultInjector | None = None):
        self.company = company
        self.schema_folder = Path(schema_folder) if schema_folder is not None else None
        self.schema = load_qbxml_schema(self.schema_folder) if self.schema_folder else None
        self.field_rules: FieldRules | None = load_field_rules(self.schema_folder) if self.schema_folder else None
        injector = faults.injector() if isinstance(faults, Faults) else faults
        self.faults: FaultInjector = injector or Faults().injector()
        self.handlers = _handlers()
        self.sessions_opened = 0

    @property
    def validation(self) -> str:
        """Which checks incoming message sets get, in words for a transcript."""
        if self.schema_folder is None:
            return "built-in checks (the requests the bridge sends)"
        return f"Intuit's XSD and annotated samples from {self.schema_folder}"

    def begin_session(self, company_path: str = "") -> "ProcessorSession":
        """Open the company file (``""`` = the one already open).

        Raises:
            ConnectionFailure: QuickBooks not running / file open in another mode
                (faults), or a different company file was asked for.
        """
        failure = self.faults.connection_attempt()
        if failure == "not_running":
            raise ConnectionFailure(HRESULT_COULD_NOT_START)
        if failure == "other_mode":
            raise ConnectionFailure(HRESULT_WRONG_MODE)
        if company_path and company_path.casefold() != self.company.settings.file_path.casefold():
            raise ConnectionFailure(HRESULT_OTHER_FILE_OPEN)
        self.sessions_opened += 1
        return ProcessorSession(self, self.sessions_opened)


class ProcessorSession:
    """One BeginSession..EndSession span: owns the iterators."""

    def __init__(self, processor: RequestProcessor, number: int):
        self.processor = processor
        self.number = number
        self.iterators: dict[str, Iterator] = {}
        self.closed = False
        self._iterator_count = 0

    # -------------------------------------------------------------- iterators
    def new_iterator(self, remaining: list[str], page_size: int | None) -> str:
        self._iterator_count += 1
        iterator_id = "{%08X-0000-4000-8000-%012X}" % (self.number, self._iterator_count)
        self.iterators[iterator_id] = Iterator(remaining, page_size)
        return iterator_id

    def end(self) -> None:
        """EndSession: iterators are gone."""
        self.iterators.clear()
        self.closed = True

    # -------------------------------------------------------------- message sets
    def host_company_preferences(self, owner_id: str) -> str:
        """The HostQuery + CompanyQuery(OwnerID) + PreferencesQuery response QBWC puts in strHCPResponse."""
        major, minor = self.processor.company.settings.max_version
        request = (
            f'<?xml version="1.0" ?><?qbxml version="{major}.{minor}"?><QBXML><QBXMLMsgsRq onError="continueOnError">'
            f'<HostQueryRq requestID="0"/><CompanyQueryRq requestID="1"><OwnerID>{owner_id}</OwnerID></CompanyQueryRq>'
            f'<PreferencesQueryRq requestID="2"/></QBXMLMsgsRq></QBXML>'
        )
        result = self._process(request)
        if result.refused:
            raise SimulatorBug(f"the HCP query was refused: {result.detail}")
        return result.response

    def process(self, request: str) -> ProcessResult:
        """Process one message set as QuickBooks would (may stall: ``slow`` fault)."""
        if self.closed:
            raise RuntimeError("the QuickBooks session is closed")
        stall = self.processor.faults.message_set()
        if stall:
            time.sleep(stall)
        result = self._process(request)
        if result.refused:
            logger.warning("fake QuickBooks refused a message set: %s %s", result.hresult, result.detail)
        return result

    def _process(self, request: str) -> ProcessResult:
        try:
            document = _parse(request)
            version = _declared_version(document, self.processor.company.settings.supported_versions)
            if self.processor.schema is not None:
                _check_schema(self.processor.schema, document)
            _check_latin1(document.getroot())
            messages = document.getroot().find("QBXMLMsgsRq")
            if messages is None:
                raise _Refused(HRESULT_PARSE_ERROR, "only QBXMLMsgsRq message sets are simulated")
            if self.processor.schema is None:
                _check_grammar(messages)
            self._check_field_versions(messages, version)
        except _Refused as refused:
            return ProcessResult("", refused.hresult, HRESULT_MESSAGES[refused.hresult], refused.detail)
        for recovery in ("newMessageSetID", "oldMessageSetID"):
            if messages.get(recovery) is not None:
                logger.warning("fake QuickBooks ignores %s (message-set error recovery is not simulated)", recovery)
        response_root = etree.Element("QBXML")
        responses = etree.SubElement(response_root, "QBXMLMsgsRs")
        keep_going = messages.get("onError") == "continueOnError"
        with_data = messages.get("responseData") != "includeNone"
        for request_element in (child for child in messages if isinstance(child.tag, str)):
            outcome = self._answer(request_element)
            if not with_data:
                outcome.rets = []
            responses.append(_response_element(request_element, outcome))
            if outcome.severity == "Error" and not keep_going:
                break
        schema = self.processor.schema
        if schema is not None and not schema.validate(etree.ElementTree(response_root)):
            raise SimulatorBug(f"fake QuickBooks produced an invalid response: "
                               f"{schema.error_log.last_error}")
        body = etree.tostring(response_root, pretty_print=True, encoding="unicode")
        return ProcessResult('<?xml version="1.0" ?>\n' + body)

    def _answer(self, request: Element) -> Outcome:
        context = HandlerContext(self.processor.company, self, self.processor.faults)
        handler = self.processor.handlers.get(request.tag)
        try:
            self._check_lengths(request)
            if handler is None:
                raise QuickBooksStatus(3250, f"This feature is not enabled or not available in this version of "
                                             f"QuickBooks (the simulator does not implement {request.tag}).")
            outcome = handler(context, request)
        except QuickBooksStatus as status:
            return Outcome(code=status.code, severity=status.severity, message=status.message)
        wanted = {e.text for e in request.findall("IncludeRetElement")}
        if wanted:
            for ret in outcome.rets:
                for child in list(ret):
                    if child.tag not in wanted:
                        ret.remove(child)
        return outcome

    def _check_lengths(self, request: Element) -> None:
        rules = self.processor.field_rules
        if rules is None:
            over = too_long(request)
            if over is not None:
                raise QuickBooksStatus(3070, f'The string "{over.value}" in the field '
                                             f'"{over.path.rsplit("/", 1)[-1]}" is too long.')
            return
        for element in request.iter():
            if not isinstance(element.tag, str) or len(element) or element.text is None:
                continue
            path = tuple(ancestor.tag for ancestor in reversed(list(element.iterancestors()))
                         if ancestor.tag not in ("QBXML", "QBXMLMsgsRq")) + (element.tag,)
            limit = rules.max_length(path)
            if limit is not None and len(element.text) > limit:
                raise QuickBooksStatus(3070, f'The string "{element.text}" in the field "{element.tag}" is too long.')

    def _check_field_versions(self, messages: Element, version: tuple[int, int]) -> None:
        rules = self.processor.field_rules
        if rules is None:  # the built-in grammar states no versions: the bridge's own tests prove them
            return

        def walk(element: Element, path: tuple[str, ...]) -> None:
            needed = rules.introduced_in(path)
            if needed is not None and needed > version:
                raise _Refused(HRESULT_PARSE_ERROR, f"<{element.tag}> needs qbXML {needed[0]}.{needed[1]}, "
                                                    f"the message set declares {version[0]}.{version[1]}")
            for child in element:
                if isinstance(child.tag, str):
                    walk(child, path + (child.tag,))

        for request in messages:
            if isinstance(request.tag, str):
                walk(request, (request.tag,))


def _parse(request: str) -> etree._ElementTree:
    """Parse hardened; an XML declaration is allowed only at the very start."""
    declaration = _XML_DECLARATION.match(request)
    text = request[declaration.end():] if declaration else request
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, remove_comments=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as error:
        raise _Refused(HRESULT_PARSE_ERROR, f"not well-formed: {error}") from None
    return root.getroottree()


def _check_schema(schema: etree.XMLSchema, document: etree._ElementTree) -> None:
    """XSD validation as QuickBooks' parser does it: order, names, types, enumerations.

    Over-long strings are not parse errors in QuickBooks (they get status 3070 per
    request, see ``_check_lengths``), so the XSD's maxLength facets are not applied here.
    """
    if schema.validate(document):
        return
    structural = [e for e in schema.error_log if e.type_name != "SCHEMAV_CVC_MAXLENGTH_VALID"]
    if structural:
        raise _Refused(HRESULT_PARSE_ERROR, f"XSD: line {structural[0].line}: {structural[0].message}")


def _check_grammar(messages: Element) -> None:
    try:
        check_message_set(messages)
    except GrammarError as error:
        raise _Refused(HRESULT_PARSE_ERROR, f"built-in checks: {error}") from None


def _declared_version(document: etree._ElementTree, supported: tuple[str, ...]) -> tuple[int, int]:
    node = document.getroot().getprevious()
    while node is not None:
        if isinstance(node, etree._ProcessingInstruction) and node.target == "qbxml":
            declared = (node.get("version") or "").strip()
            if declared not in supported:
                raise _Refused(HRESULT_VERSION_UNSUPPORTED, f"qbXML {declared!r} is not one of {', '.join(supported)}")
            major, _, minor = declared.partition(".")
            return int(major), int(minor or 0)
        node = node.getprevious()
    raise _Refused(HRESULT_PARSE_ERROR, 'no <?qbxml version="..."?> processing instruction before <QBXML>')


def _check_latin1(root: Element) -> None:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for value in [element.text or "", *element.attrib.values()]:
            for character in value:
                if ord(character) > 0xFF:
                    raise _Refused(HRESULT_PARSE_ERROR, f"<{element.tag}> holds U+{ord(character):04X} "
                                                        f"({character!r}), which ISO-8859-1 cannot store")


def _response_element(request: Element, outcome: Outcome) -> Element:
    response = etree.Element(request.tag[: -len("Rq")] + "Rs")
    if request.get("requestID") is not None:
        response.set("requestID", request.get("requestID"))
    response.set("statusCode", str(outcome.code))
    response.set("statusSeverity", outcome.severity)
    response.set("statusMessage", outcome.message)
    if outcome.iterator_remaining is not None:
        response.set("iteratorRemainingCount", str(outcome.iterator_remaining))
    if outcome.iterator_id is not None:
        response.set("iteratorID", outcome.iterator_id)
    for ret in outcome.rets:
        response.append(ret)
    return response
