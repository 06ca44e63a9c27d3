"""The Web Connector SOAP endpoint: the only module that imports spyne.

spyne gives the exact document/literal wrapped shape QBWC expects (every element,
including the ``<string>`` items of authenticate's ArrayOfString, in the Intuit
namespace). A thin WSGI guard in front refuses what spyne should never parse: bodies
over the size limit (413), anything but UTF-8 (415, or 400 for bytes that claim to be
UTF-8 and are not) and any DTD (entity expansion, external entities).

The DTD check looks for bytes, so it holds only for UTF-8: a UTF-16 body spells
``<!DOCTYPE`` with a NUL after each letter and would pass it, leaving the parser's own
settings as the only defence. The Web Connector always sends UTF-8, so nothing else is
read at all.
"""
from __future__ import annotations

import codecs
import logging
import re
import sys
import time
from io import BytesIO
from xml.sax.saxutils import escape

from spyne import Application, Array, Fault, Integer, ServiceBase, Unicode, const, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication
from werkzeug.http import parse_options_header

from .. import metrics
from ..backends.desktop.web_connector import BAD_LOGIN_ANSWER, BUSY_ANSWER, NO_WORK_ANSWER, WebConnectorService
from ..store.db import database_unavailable
from .source_address import Network, source_address

log = logging.getLogger(__name__)

TNS = "http://developer.intuit.com/"
ArrayOfString = Array(Unicode, type_name="ArrayOfString")
# spyne ends a call with a full gc.collect() (at most once a second) to close attachment files
# promptly. We take no attachments, and a full collection of a server's heap costs tens of
# milliseconds: during an initial sync that was a tenth of the server's CPU.
const.MIN_GC_INTERVAL = float("inf")
# Where SoapEndpoint leaves the caller's address for the callbacks (authenticate's throttle).
SOURCE_KEY = "qbwc_bridge.source_address"


def _service(ctx) -> WebConnectorService:
    return ctx.app.web_connector  # set by create_soap_app


class QBWebConnectorSvc(ServiceBase):
    """Operation and parameter names are QBWC's own: they must not change."""

    @rpc(_returns=Unicode)
    def serverVersion(ctx):
        return _service(ctx).server_version()

    @rpc(Unicode, _returns=Unicode)
    def clientVersion(ctx, strVersion):
        return _service(ctx).client_version(strVersion)

    @rpc(Unicode, Unicode, _returns=ArrayOfString)
    def authenticate(ctx, strUserName, strPassword):
        return _service(ctx).authenticate(strUserName, strPassword, source=ctx.transport.req_env[SOURCE_KEY])

    @rpc(Unicode, Unicode, Unicode, Unicode, Integer, Integer, _returns=Unicode)
    def sendRequestXML(ctx, ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers):
        return _service(ctx).send_request_xml(
            ticket, strHCPResponse, strCompanyFileName, qbXMLCountry, qbXMLMajorVers, qbXMLMinorVers
        )

    @rpc(Unicode, Unicode, Unicode, Unicode, _returns=Integer)
    def receiveResponseXML(ctx, ticket, response, hresult, message):
        return _service(ctx).receive_response_xml(ticket, response, hresult, message)

    @rpc(Unicode, Unicode, Unicode, _returns=Unicode)
    def connectionError(ctx, ticket, hresult, message):
        return _service(ctx).connection_error(ticket, hresult, message)

    @rpc(Unicode, _returns=Unicode)
    def getLastError(ctx, ticket):
        return _service(ctx).get_last_error(ticket)

    @rpc(Unicode, _returns=Unicode)
    def closeConnection(ctx, ticket):
        return _service(ctx).close_connection(ticket)

    @rpc(Unicode, Unicode, _returns=Unicode)
    def getInteractiveURL(ctx, wcTicket, sessionID):
        return _service(ctx).get_interactive_url(wcTicket, sessionID)

    @rpc(Unicode, _returns=Unicode)
    def interactiveDone(ctx, wcTicket):
        return _service(ctx).interactive_done(wcTicket)

    @rpc(Unicode, Unicode, _returns=Unicode)
    def interactiveRejected(ctx, wcTicket, reason):
        return _service(ctx).interactive_rejected(wcTicket, reason)


_UNSUPPORTED = "415 Unsupported Media Type"
# Byte-order marks of the encodings an XML parser would switch to by itself.
_FOREIGN_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_DECLARED_ENCODING = re.compile(rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([^"']*)["']""")

# What a call's answer means, for qbwc_bridge_soap_calls_total{outcome}: a few fixed words.
_AUTHENTICATE_OUTCOMES = {BAD_LOGIN_ANSWER: "refused", BUSY_ANSWER: "busy", NO_WORK_ANSWER: "none", "": "ok"}
# The Web Connector's own HRESULT argument of these calls (counted as a QuickBooks error).
_HRESULT_ARGUMENT = {"receiveResponseXML": 2, "connectionError": 1}


def _call_started(ctx) -> None:
    ctx.udc = time.perf_counter()


def _call_answered(ctx) -> None:
    operation = ctx.method_request_string.rpartition("}")[2]
    answer = ctx.out_object[0] if ctx.out_object else None
    if operation == "authenticate" and answer:
        outcome = _AUTHENTICATE_OUTCOMES.get(answer[1], "error")
    elif operation in _HRESULT_ARGUMENT:
        hresult = ctx.in_object[_HRESULT_ARGUMENT[operation]]
        if hresult:
            metrics.count_hresult(hresult)
        outcome = "error" if answer == -1 or operation == "connectionError" else "ok"
    else:
        outcome = "ok"
    _observe(ctx, operation, outcome)


# The database away (down, restarting, read-only, full): not our bug, so not spyne's "500 Internal
# Error" but a 503 whose fault says so; the Web Connector reports it and its next run carries on.
UNAVAILABLE_STATUS = "503 Service Unavailable"
UNAVAILABLE_FAULT = "Server.Unavailable"
UNAVAILABLE_MESSAGE = ("The QuickBooks bridge is unavailable for a moment (its database does not answer). "
                       "Nothing was lost: the next scheduled run carries on.")


def _call_failed(ctx) -> None:
    # Fired inside spyne's ``except`` block, so the original exception is still the current one.
    operation = ctx.method_request_string.rpartition("}")[2] if ctx.method_request_string else "unknown"
    error = sys.exc_info()[1]
    if database_unavailable(error):
        ctx.out_error = Fault(UNAVAILABLE_FAULT, UNAVAILABLE_MESSAGE)
        ctx.transport.resp_code = UNAVAILABLE_STATUS
        log.warning("%s: answered 503 (the database is unavailable: %s)", operation, type(error).__name__)
    _observe(ctx, operation, "fault")


class _DatabaseAwayIsNotABug(logging.Filter):
    """spyne logs every exception a call raises as CRITICAL, with its traceback, before our handler
    sees it. The database away for a moment is not our bug: :func:`_call_failed` answers 503 and logs
    one line, and a restart of PostgreSQL no longer fills the log with tracebacks. Others keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and database_unavailable(record.exc_info[1]))


_SPYNE_CALL_ERRORS = logging.getLogger("spyne.application.server")
_DATABASE_AWAY = _DatabaseAwayIsNotABug()


def _call_closed(ctx) -> None:
    # A MethodContext and its transport refer to each other, so only the cyclic collector frees
    # them, and with them the whole request: body, envelope tree and qbXML answer, megabytes for
    # each page of a sync. The answer has been written by now: let go of all that at once.
    ctx.in_string = ctx.in_document = ctx.in_header_doc = ctx.in_body_doc = ctx.in_object = None


def _observe(ctx, operation: str, outcome: str) -> None:
    metrics.SOAP_CALLS.labels(operation=operation, outcome=outcome).inc()
    if isinstance(ctx.udc, float):
        metrics.SOAP_CALL_SECONDS.labels(operation=operation).observe(time.perf_counter() - ctx.udc)




def _fault(message: str, status: str = "400 Bad Request") -> tuple[str, list[tuple[str, str]], bytes]:
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
        f"<faultcode>soap:Client</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soap:Fault></soap:Body></soap:Envelope>"
    ).encode("utf-8")
    return status, [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))], body


class SoapEndpoint:
    """WSGI app at /qbwc: GET answers 200 (QBWC's certificate check), ?wsdl the WSDL, POST SOAP."""

    def __init__(self, service: WebConnectorService, max_body_bytes: int, trusted_proxies: tuple[Network, ...]):
        application = Application(
            [QBWebConnectorSvc], tns=TNS, name="QBWebConnectorSvc", in_protocol=Soap11(), out_protocol=Soap11()
        )
        application.web_connector = service
        application.event_manager.add_listener("method_call", _call_started)
        application.event_manager.add_listener("method_return_object", _call_answered)
        application.event_manager.add_listener("method_exception_object", _call_failed)
        application.event_manager.add_listener("method_context_closed", _call_closed)
        _SPYNE_CALL_ERRORS.addFilter(_DATABASE_AWAY)  # the same filter once, however many endpoints
        # spyne refuses bodies over its own 2 MiB default with a 500; the limit is ours, checked above.
        self.spyne = WsgiApplication(application, max_content_length=max_body_bytes)
        self.max_body_bytes = max_body_bytes
        self.trusted_proxies = trusted_proxies

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        environ[SOURCE_KEY] = source_address(environ, self.trusted_proxies)
        if method in ("GET", "HEAD") and "wsdl" not in environ.get("QUERY_STRING", "").lower():
            body = b"QuickBooks Web Connector endpoint of qbwc-bridge. Add this account's .qwc file to the Web Connector.\n"
            start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body] if method == "GET" else [b""]
        if method == "POST":
            refused = self._screen(environ)
            if refused is not None:
                status, headers, body = refused
                start_response(status, headers)
                return [body]
        return self.spyne(environ, start_response)

    def _screen(self, environ):
        """Read the body once (bounded) and refuse oversize or DTD-carrying requests."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _fault("Invalid Content-Length")
        if length > self.max_body_bytes:
            log.warning("refused a %d-byte SOAP request (limit %d)", length, self.max_body_bytes)
            return _fault(f"Request body too large (limit {self.max_body_bytes} bytes)", "413 Request Entity Too Large")
        body = environ["wsgi.input"].read(length) if length else environ["wsgi.input"].read(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return _fault(f"Request body too large (limit {self.max_body_bytes} bytes)", "413 Request Entity Too Large")
        problem = _not_utf8(body, environ.get("CONTENT_TYPE", ""))
        if problem is not None:
            log.warning("refused a SOAP request: %s", problem[0])
            return _fault(*problem)
        if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
            log.warning("refused a SOAP request carrying a DTD")
            return _fault("Document type declarations are not accepted")
        if not body.strip():
            return _fault("Empty request body")
        environ["wsgi.input"] = BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return None


def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name == "utf-8"
    except LookupError:
        return False


def _not_utf8(body: bytes, content_type: str) -> tuple[str, str] | None:
    """(fault message, HTTP status) for a body that is not UTF-8, however it says so; None for UTF-8.

    Checked: the Content-Type's charset, a UTF-16/32 byte-order mark, the XML declaration's
    encoding, and the bytes themselves.
    """
    only = "the Web Connector endpoint reads UTF-8 only"
    charset = parse_options_header(content_type)[1].get("charset")
    if charset and not _is_utf8(charset):
        return f"The request is sent as {charset[:40]!r}; {only}", _UNSUPPORTED
    if body.startswith(_FOREIGN_BOMS) or b"\x00" in body:
        # XML never holds U+0000, so a NUL byte means UTF-16 or UTF-32, with or without a BOM.
        return f"The request is UTF-16 or UTF-32; {only}", _UNSUPPORTED
    declared = _DECLARED_ENCODING.match(body.removeprefix(codecs.BOM_UTF8))
    if declared is not None:
        name = declared.group(1).decode("ascii", "replace")[:40]
        if not _is_utf8(name):
            return f"The request declares encoding {name!r}; {only}", _UNSUPPORTED
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"The request is not valid UTF-8 (byte {exc.start} of the body)", "400 Bad Request"
    return None
