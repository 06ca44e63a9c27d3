"""A scripted SOAP server for the simulator's own tests (the real endpoint is tested elsewhere).

Each operation answers from a script: a Python value (str, int, list of str) becomes a
correct document/literal envelope, a :class:`Raw` is sent byte for byte (HTML pages,
faults, wrong namespaces). Every POST is recorded with its headers and parameters so
tests can check what the simulated Web Connector sent.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from lxml import etree

from tests.support.live_server import LiveServer

NS = "http://developer.intuit.com/"


@dataclass(frozen=True)
class Raw:
    body: bytes
    status: str = "200 OK"
    content_type: str = "text/xml; charset=utf-8"


def envelope(operation: str, value: Any, ns: str = NS) -> bytes:
    """A correct answer envelope, as a .NET web service would write it."""
    if isinstance(value, list):
        inner = "".join(f"<string>{escape(v)}</string>" for v in value)
    else:
        inner = escape(str(value))
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body><{operation}Response xmlns="{ns}"><{operation}Result>{inner}</{operation}Result>'
            f"</{operation}Response></soap:Body></soap:Envelope>").encode()


def soap_fault(message: str) -> Raw:
    return Raw((f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
                f'envelope/"><soap:Body><soap:Fault><faultcode>soap:Server</faultcode><faultstring>{escape(message)}'
                f"</faultstring></soap:Fault></soap:Body></soap:Envelope>").encode(), status="500 Internal Server Error")


@dataclass
class Received:
    operation: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes


Script = Callable[[dict[str, str]], Any]


@dataclass
class ScriptedServer:
    """Answers QBWC calls from ``script`` (operation → callable(params) → value or Raw)."""

    script: dict[str, Script] = field(default_factory=dict)
    requests_to_send: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    get_status: str = "200 OK"
    port: int = 0

    def __post_init__(self) -> None:
        defaults: dict[str, Script] = {
            "serverVersion": lambda p: "stub 1.0",
            "clientVersion": lambda p: "",
            "authenticate": lambda p: ["ticket-0001", ""],
            "sendRequestXML": lambda p: self.requests_to_send.pop(0) if self.requests_to_send else "",
            "receiveResponseXML": lambda p: 100 if not self.requests_to_send else 50,
            "getLastError": lambda p: "nothing to do",
            "connectionError": lambda p: "done",
            "closeConnection": lambda p: "OK",
        }
        self.script = {**defaults, **self.script}

    @property
    def operations(self) -> list[str]:
        return [r.operation for r in self.received]

    def params_of(self, operation: str) -> list[dict[str, str]]:
        return [r.params for r in self.received if r.operation == operation]

    def __call__(self, environ: dict, start_response: Callable) -> list[bytes]:
        if environ["REQUEST_METHOD"] == "GET":
            start_response(self.get_status, [("Content-Type", "text/html")])
            return [b"<html><body>QuickBooks bridge</body></html>"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        root = etree.fromstring(body)
        operation_element = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
        operation = etree.QName(operation_element).localname
        params = {etree.QName(child).localname: child.text or "" for child in operation_element}
        headers = {key[5:].replace("_", "-").title(): value for key, value in environ.items()
                   if key.startswith("HTTP_")}
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        self.received.append(Received(operation, params, headers, body))
        answer = self.script[operation](params)
        reply = answer if isinstance(answer, Raw) else Raw(envelope(operation, answer))
        start_response(reply.status, [("Content-Type", reply.content_type), ("Content-Length", str(len(reply.body)))])
        return [reply.body]


class RunningServer:
    """The scripted app served by the suite's :class:`LiveServer` (waitress, 127.0.0.1, port 0).

    ``url`` names the host ``localhost``: the Web Connector refuses IP addresses in a .qwc.
    """

    def __init__(self, app: ScriptedServer):
        self.app = app
        self._live = LiveServer(app, threads=2).__enter__()
        self.port = urlsplit(self._live.url).port
        self._running = True

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}/qbwc"

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._live.__exit__(None, None, None)
