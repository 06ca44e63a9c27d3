"""A Web Connector (QBWC 2.3) that drives a server over real HTTP against a fake QuickBooks.

Adding a .qwc applies QBWC's file rules, GETs the AppURL (QBWC1048 unless 200) and the
AppSupport URL (QBWC1003/1004 unless 200/202), and stamps the .qwc's FileID into the
company under its OwnerID, as QBWC does. A session then follows chapter 2 and 10 of
Intuit's guide:

serverVersion → clientVersion (``W:`` warn, ``E:`` refuse, ``O:`` upgrade) →
authenticate (``nvu`` / ``none`` / ``busy`` / ``""`` / a company path; postpone and
minimum-interval values) → connectionError while QuickBooks cannot open the file
(at most two retries, ``done`` stops) → sendRequestXML (HCP response on the first
call only) / receiveResponseXML loop, where an empty or ``NoOp`` request leads to
getLastError and a ``NoOp`` answer to a pause → closeConnection.

Every answer is read strictly (:mod:`.envelopes`): HTTP status, content type, SOAP
faults, well-formedness, element names and namespaces. Trouble ends the session with
the code the user of the real Web Connector would see: QBWC1012 for serverVersion,
clientVersion and authenticate, QBWC1041 sendRequestXML, QBWC1042
receiveResponseXML, QBWC1043 getLastError, QBWC1044 closeConnection, QBWC1045
connectionError. A refusing clientVersion shows QBWC1037, a company file QuickBooks
cannot open QBWC1013. Each session is bounded by ``max_calls_per_session`` so a
misbehaving server can never hang a test.
"""
from __future__ import annotations

import logging
import re
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import NoReturn

from .envelopes import AnswerError, fault_text, read_answer, request_envelope, soap_action
from .faults import FaultInjector, Faults
from .http_transport import HttpReply, HttpTransport
from .qwc import QwcFile, QwcRejected
from .request_processor import ConnectionFailure, ProcessorSession, RequestProcessor
from .transcript import Call, Exchange, Problem, Transcript

logger = logging.getLogger(__name__)

QBWC_VERSION = "2.3.0.215"
MAX_CONNECTION_RETRIES = 2
ERROR_CODES = {
    "serverVersion": "QBWC1012",
    "clientVersion": "QBWC1012",
    "authenticate": "QBWC1012",
    "sendRequestXML": "QBWC1041",
    "receiveResponseXML": "QBWC1042",
    "getLastError": "QBWC1043",
    "closeConnection": "QBWC1044",
    "connectionError": "QBWC1045",
}
CALL_FAILED = {
    "serverVersion": "Authentication failed due to error message",
    "clientVersion": "Authentication failed due to error message",
    "authenticate": "Authentication failed due to error message",
    "sendRequestXML": "SendRequestXML failed due to error message",
    "receiveResponseXML": "ReceiveResponseXML failed due to error message",
    "getLastError": "getLastError failed due to error message",
    "closeConnection": "CloseConnection failed due to error message",
    "connectionError": "ConnectionError failed due to error message",
}
_REQUEST_NAMES = re.compile(r"<(\w+(?<!Msgs)Rq)\b")
_RESPONSE_STATUSES = re.compile(r"<(\w+Rs)\b[^>]*?statusCode=\"(-?\d+)\"")


class _SessionOver(Exception):
    """Unwinds a session that cannot go on (the transcript already says why)."""


class WebConnector:
    """One Web Connector installation with one QuickBooks (a :class:`RequestProcessor`).

    Args:
        quickbooks: the fake QuickBooks with its company file open.
        password: what the user typed into QBWC for the application.
        faults: faults for the whole simulation (the connector's and QuickBooks').
        transport: HTTP client; tests may pass a configured :class:`HttpTransport`.
        noop_pause: seconds QBWC waits after a ``NoOp`` (the real one: about 5).
        on_noop: called during each ``NoOp`` pause, once the pause has passed, with the pause's number in
            the session (from 1): the world moving on while the Web Connector waits (an order packed).
        max_calls_per_session: SOAP calls after which a session is abandoned.
        accept_warnings: whether the "user" clicks OK on a ``W:`` clientVersion warning.
    """

    def __init__(self, quickbooks: RequestProcessor, password: str, *, faults: Faults | None = None,
                 transport: HttpTransport | None = None, client_version: str = QBWC_VERSION,
                 noop_pause: float = 5.0, max_calls_per_session: int = 500, accept_warnings: bool = True,
                 on_noop: Callable[[int], None] | None = None):
        self.quickbooks = quickbooks
        if faults is not None:
            quickbooks.faults = faults.injector()
        self.faults: FaultInjector = quickbooks.faults
        self.password = password
        self.transport = transport or HttpTransport()
        self.client_version = client_version
        self.noop_pause = noop_pause
        self.on_noop = on_noop
        self.max_calls_per_session = max_calls_per_session
        self.accept_warnings = accept_warnings
        self.applications: dict[str, QwcFile] = {}
        self.application: QwcFile | None = None
        self.sessions_run = 0

    # ------------------------------------------------------------------ adding a .qwc
    def add_application(self, qwc: QwcFile | str | Path | bytes) -> Transcript:
        """Add a .qwc as a user would. Check ``transcript.ok``; on success it is the application.

        ``qwc`` may be a :class:`QwcFile`, a path, or the file's content (bytes, or a str
        starting with ``<``).
        """
        started = time.monotonic()
        transcript = Transcript(application="?", url="?", kind="add", started_at=_now())
        try:
            parsed = _as_qwc(qwc)
            transcript.application, transcript.url = parsed.app_name, parsed.app_url
            self._check_unique(parsed)
        except QwcRejected as rejected:
            transcript.errors.append(Problem(rejected.code, "add .qwc", rejected.message))
            transcript.outcome = f"refused ({rejected.code})"
            return transcript
        app_check = self._get(transcript, "GET AppURL", parsed.app_url, started)
        if app_check is None or app_check.status != 200:
            reason = "no answer" if app_check is None else f"HTTP {app_check.status} {app_check.reason}"
            transcript.errors.append(Problem("QBWC1048", "GET AppURL", "QuickBooks Web Connector could not verify "
                                             f"the web application server certificate ({parsed.app_url}: {reason})."))
        else:
            support = self._get(transcript, "GET AppSupport", parsed.app_support, started)
            if support is None:
                transcript.errors.append(Problem("QBWC1004", "GET AppSupport", f"The application "
                                                 f"{parsed.app_name}'s support URL (AppSupport) could not be reached."))
            elif support.status not in (200, 202):
                transcript.errors.append(Problem("QBWC1003", "GET AppSupport", f"The application "
                                                 f"{parsed.app_name}'s support URL (AppSupport) could not be reached "
                                                 f"(HTTP {support.status})."))
        transcript.seconds = time.monotonic() - started
        if transcript.errors:
            transcript.outcome = f"refused ({transcript.errors[0].code})"
            return transcript
        self.quickbooks.company.set_data_extension(parsed.owner_id, "FileID", parsed.file_id)
        transcript.notes.append(f"FileID {parsed.file_id} stamped into the company file under OwnerID "
                                f"{parsed.owner_id}")
        if parsed.run_every_seconds:
            transcript.notes.append(f"scheduled to run every {parsed.run_every_seconds} s")
        self.applications[parsed.app_name] = parsed
        self.application = parsed
        transcript.outcome = "added"
        return transcript

    def _check_unique(self, qwc: QwcFile) -> None:
        for name, other in self.applications.items():
            same_pair = (other.owner_id.casefold(), other.file_id.casefold()) == \
                (qwc.owner_id.casefold(), qwc.file_id.casefold())
            if same_pair and name != qwc.app_name:
                raise QwcRejected("QBWC1039", "There was a problem adding the application. Unique OwnerID/FileID "
                                              f"pair value required ({name} already uses it).")

    def _get(self, transcript: Transcript, label: str, url: str, started: float) -> HttpReply | None:
        begin = time.monotonic()
        try:
            reply = self.transport.get(url)
            summary = f"{url} → HTTP {reply.status}"
        except OSError as error:
            reply, summary = None, f"{url} → {error}"
        transcript.calls.append(Call(label, begin - started, time.monotonic() - begin, summary))
        return reply

    # ------------------------------------------------------------------ sessions
    def run(self, sessions: int = 1) -> list[Transcript]:
        """Run ``sessions`` update sessions one after another (like scheduled runs)."""
        return [self.run_session() for _ in range(sessions)]

    def run_session(self) -> Transcript:
        """One update session of the current application, start to end.

        Raises:
            RuntimeError: no .qwc was added successfully.
        """
        if self.application is None:
            raise RuntimeError("add a .qwc first (WebConnector.add_application)")
        self.sessions_run += 1
        self.faults.drain()
        transcript = Transcript(self.application.app_name, self.application.app_url, number=self.sessions_run,
                                started_at=_now())
        started = time.monotonic()
        try:
            self._session(transcript, started)
        except _SessionOver:
            pass
        finally:
            transcript.seconds = time.monotonic() - started
            transcript.faults.extend(self.faults.drain())
        logger.info("simulated session %d of %s: %s", transcript.number, transcript.application, transcript.outcome)
        return transcript

    def _session(self, transcript: Transcript, started: float) -> None:
        application = self.application
        assert application is not None
        server_version = self._call(transcript, started, "serverVersion")
        transcript.notes.append(f"server version: {server_version!r}")
        if not self._client_version_accepted(transcript, started):
            return
        answer = self._call(transcript, started, "authenticate", application.user_name, self.password)
        ticket, status = answer[0], answer[1]
        for position, label in ((2, "postpone"), (3, "minimum run interval")):
            value = answer[position] if len(answer) > position else ""
            if value.strip() and not value.strip().isdigit():
                self._fail(transcript, "authenticate", f"Input string was not in a correct format ({label} "
                                                       f"{value!r} is not a number of seconds).")
            if value.strip():
                transcript.notes.append(f"authenticate: {label} {value.strip()} s")
        verdict = {"nvu": "invalid user (nvu)", "none": "no work (none)", "busy": "server busy (busy)"}
        if status.strip().lower() in verdict:
            transcript.outcome = verdict[status.strip().lower()]
            self._close(transcript, started, ticket)
            return
        if len(answer) > 2 and answer[2].strip():
            transcript.outcome = f"postponed by the application ({answer[2].strip()} s)"
            self._close(transcript, started, ticket)
            return
        session = self._connect(transcript, started, ticket, status)
        if session is None:
            return
        try:
            self._exchange_loop(transcript, started, ticket, session)
        finally:
            session.end()

    def _client_version_accepted(self, transcript: Transcript, started: float) -> bool:
        answer = self._call(transcript, started, "clientVersion", self.client_version) or ""
        if answer.startswith("E:"):
            transcript.errors.append(Problem("QBWC1037", "clientVersion", f"Application sent following error "
                                             f"message when checking version of QB web connector. Update aborted. "
                                             f"{answer[2:]}"))
            transcript.outcome = "refused by clientVersion (E:)"
            return False
        if answer.startswith("O:"):
            transcript.errors.append(Problem("QBWC1037", "clientVersion", f"The application requires QB web "
                                             f"connector version {answer[2:]}. Update aborted."))
            transcript.outcome = f"upgrade to {answer[2:]} required (O:)"
            return False
        if answer.startswith("W:"):
            transcript.notes.append(f"clientVersion warning shown to the user: {answer[2:]}")
            if not self.accept_warnings:
                transcript.outcome = "cancelled by the user at the clientVersion warning (W:)"
                return False
        elif answer:
            transcript.notes.append(f"clientVersion answered {answer!r} (not W:/E:/O:, so QBWC carries on)")
        return True

    def _connect(self, transcript: Transcript, started: float, ticket: str, path: str) -> ProcessorSession | None:
        retries = 0
        while True:
            try:
                return self.quickbooks.begin_session(path)
            except ConnectionFailure as failure:
                where = repr(path) if path else "the open company file"
                transcript.notes.append(f"QuickBooks could not open {where}: {failure.hresult} {failure.message}")
                answer = self._call(transcript, started, "connectionError", ticket, failure.hresult, failure.message)
                done = (answer or "").strip().lower() == "done"
                if done or retries >= MAX_CONNECTION_RETRIES:
                    if not done:
                        transcript.notes.append(f"gave up after {retries} retries although connectionError "
                                                f"answered {answer!r}")
                    transcript.errors.append(Problem("QBWC1013", "connectionError", "Error connecting to "
                                                     f"QuickBooks. {failure.message}"))
                    transcript.last_error_messages.append(self._call(transcript, started, "getLastError", ticket))
                    self._close(transcript, started, ticket)
                    transcript.outcome = "could not connect to QuickBooks"
                    return None
                retries += 1
                path = answer or ""

    def _exchange_loop(self, transcript: Transcript, started: float, ticket: str, session: ProcessorSession) -> None:
        application = self.application
        assert application is not None
        settings = self.quickbooks.company.settings
        major, minor = settings.max_version
        first = True
        while True:
            hcp = session.host_company_preferences(application.owner_id) if first else ""
            first = False
            request = self._call(transcript, started, "sendRequestXML", ticket, hcp, settings.file_path,
                                 settings.country, major, minor) or ""
            if request.strip() in ("", "NoOp"):
                message = self._call(transcript, started, "getLastError", ticket) or ""
                if message == "NoOp":
                    # QBWC waits, then asks again with sendRequestXML (no HCP response): the session stays open.
                    transcript.noops += 1
                    time.sleep(self.noop_pause)
                    if self.on_noop is not None:
                        self.on_noop(transcript.noops)
                    continue
                transcript.last_error_messages.append(message)
                if message == "Interactive mode":
                    transcript.errors.append(Problem("SIMULATOR", "getLastError", "interactive mode is not "
                                                                                  "simulated"))
                self._close(transcript, started, ticket)
                transcript.outcome = f"stopped by the application: {message!r}"
                return
            result = session.process(request)
            exchange = Exchange(request, result.response, result.hresult, result.message, result.detail)
            transcript.exchanges.append(exchange)
            if result.refused:
                transcript.notes.append(f"QuickBooks refused message set {transcript.round_trips}: "
                                        f"{result.hresult} ({result.detail})")
            if self.faults.response_lost():
                transcript.outcome = ("response lost: QuickBooks applied the request, then the Web Connector "
                                      "stopped before receiveResponseXML")
                return
            percent = self._call(transcript, started, "receiveResponseXML", ticket, result.response,
                                 result.hresult, result.message)
            exchange.percent = percent
            transcript.progress.append(percent)
            if percent < 0:
                transcript.last_error_messages.append(self._call(transcript, started, "getLastError", ticket) or "")
                self._close(transcript, started, ticket)
                transcript.outcome = f"ended by the application (receiveResponseXML returned {percent})"
                return
            if percent >= 100:
                if percent > 100:
                    transcript.notes.append(f"receiveResponseXML returned {percent} (> 100)")
                self._close(transcript, started, ticket)
                transcript.outcome = "completed"
                return

    def _close(self, transcript: Transcript, started: float, ticket: str) -> None:
        transcript.close_message = self._call(transcript, started, "closeConnection", ticket) or ""

    # ------------------------------------------------------------------ one SOAP call
    def _fail(self, transcript: Transcript, operation: str, message: str) -> NoReturn:
        code = ERROR_CODES[operation]
        transcript.errors.append(Problem(code, operation, f"{CALL_FAILED[operation]}: {message}"))
        transcript.outcome = f"failed ({code} during {operation})"
        raise _SessionOver

    def _call(self, transcript: Transcript, started: float, operation: str, *values: str | int):
        """POST one SOAP call and read its answer strictly; on trouble, record and end the session."""
        if len(transcript.calls) >= self.max_calls_per_session:
            transcript.errors.append(Problem("SIMULATOR", operation, f"gave up after {self.max_calls_per_session} "
                                                                     f"SOAP calls in one session"))
            transcript.outcome = "abandoned: too many calls"
            raise _SessionOver
        begin = time.monotonic()

        def record(summary: str) -> None:
            transcript.calls.append(Call(operation, begin - started, time.monotonic() - begin, summary))

        if self.faults.server_gone():
            record("connection refused (injected fault: the server is gone)")
            self._fail(transcript, operation, "Unable to connect to the remote server (connection refused).")
        url = self.application.app_url if self.application else ""
        logger.debug("QBWC → %s %s", operation, _redact(operation, values))
        try:
            reply = self.transport.post_soap(url, soap_action(operation), request_envelope(operation, *values))
        except OSError as error:
            record(f"no answer: {error}")
            self._fail(transcript, operation, f"Unable to connect to the remote server ({error}).")
        try:
            problem = _http_problem(reply)
            if problem is not None:
                raise AnswerError(problem)
            value = read_answer(operation, reply.body).value
        except AnswerError as error:
            record(f"HTTP {reply.status}: {error}")
            self._fail(transcript, operation, str(error))
        record(_summary(operation, values, value))
        return value


def _http_problem(reply: HttpReply) -> str | None:
    """What .NET's SOAP client would object to before reading the envelope."""
    looks_html = "html" in reply.content_type.lower() or reply.body.lstrip()[:14].lower() in (b"<!doctype html",) \
        or reply.body.lstrip()[:5].lower() == b"<html"
    if reply.status != 200:
        fault = fault_text(reply.body)
        if fault is not None:
            return f"SOAP fault (HTTP {reply.status}): {fault}"
        if looks_html:
            return f"The request failed with HTTP status {reply.status}: {reply.reason} (an HTML page)."
        return f"The request failed with HTTP status {reply.status}: {reply.reason}."
    if not reply.body.strip():
        return "the response body is empty"
    if looks_html or not reply.content_type.lower().startswith("text/xml"):
        return (f"Client found response content type of '{reply.content_type or '(none)'}', "
                f"but expected 'text/xml'.")
    return None


def _summary(operation: str, values: tuple, value) -> str:
    if operation == "authenticate":
        rest = [v for v in value[2:] if v]
        return f"user {values[0]!r} → ticket …{value[0][-4:]}, status {value[1]!r}" + \
            (f", {rest}" if rest else "")
    if operation == "sendRequestXML":
        prefix = "with HCP response; " if values[1] else ""
        if not value or value.strip() in ("", "NoOp"):
            return prefix + f"answer {value!r}"
        counts = Counter(_REQUEST_NAMES.findall(value))
        return prefix + "qbXML: " + ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in counts.items())
    if operation == "receiveResponseXML":
        sent = f"hresult {values[2]}" if values[2] else ", ".join(f"{n} {c}" for n, c in
                                                                 _RESPONSE_STATUSES.findall(values[1]))
        return f"sent {sent or 'an empty response'} → {value}%"
    if operation == "connectionError":
        return f"{values[1]} → {value!r}"
    if operation == "clientVersion":
        return f"{values[0]} → {value!r}"
    return f"→ {value!r}"


def _redact(operation: str, values: tuple) -> str:
    if operation == "authenticate":
        return f"user={values[0]!r} password=***"
    if values and operation != "clientVersion":
        return f"ticket=…{str(values[0])[-4:]} +{len(values) - 1} params"
    return repr(values)


def _as_qwc(qwc: QwcFile | str | Path | bytes) -> QwcFile:
    if isinstance(qwc, QwcFile):
        return qwc
    if isinstance(qwc, bytes) or (isinstance(qwc, str) and qwc.lstrip().startswith("<")):
        return QwcFile.parse(qwc)
    return QwcFile.read(qwc)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
