"""The QuickBooks Online REST client: one company, plain ``httpx``, every answer accounted for.

Why ``httpx`` and our own 300 lines rather than ``python-quickbooks`` with ``intuit-oauth``:
those set no timeouts (a stuck connection hangs a worker for good), refresh the access
token silently inside the client (so the rotated refresh token, which must be stored at
once or the connection dies with ``invalid_grant``, never reaches our database
transaction), and tie one token to one client object. Here the token comes from a
callable the connection layer owns (``token(force_refresh)``), timeouts are explicit on
every request, and retries follow QuickBooks' rules for exactly-once writes.

The rules, per call:

* URL ``{api_base}/v3/company/{realm}/…`` with ``minorversion=75``; JSON in and out.
* Every write (POST) carries ``requestid``, our exactly-once key: QuickBooks answers a
  repeated requestid with the original result. A write without one is refused here.
* 401: one fresh token (``token(True)``) and one more try; refused again →
  :class:`QboUnauthorized` (the backend tries again later: the refresh had worked).
* 429 (or QuickBooks' throttle fault 3001) and 5xx, timeouts and lost connections:
  exponential backoff with jitter, ``Retry-After`` honoured, at most ``max_attempts``
  attempts and ``max_total_wait`` seconds of waiting; then :class:`QboUnavailable`.
* A write whose answer may have been lost after QuickBooks applied it (read timeout,
  connection dropped mid-answer, 5xx, an unreadable 2xx) is retried with the same
  requestid; if no trustworthy answer comes, :class:`QboAnswerLost`: the outcome is
  unknown and the caller looks the record up. Never a resend under a new requestid.
* Any other fault → :class:`QboFaultError` with the parsed fault and its meaning.
* Every attempt is handed to ``on_exchange`` as an :class:`Exchange` (method, path,
  status, ``intuit_tid``, requestid, elapsed, truncated bodies) for the exchange log.
  The bearer token travels only in the Authorization header and appears in nothing else.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import random as random_module
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from .faults import FaultMeaning, FaultReason, QboFault, explain, parse_fault, without_token_echo
from .rate_limit import CompanyLimiter

log = logging.getLogger(__name__)

MINOR_VERSION = "75"
# Connect fails fast (QuickBooks is up or it is not); reads allow for a slow invoice save,
# which takes seconds, not tens of them. Pool: waiting for one of our own connections.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=30.0)
MAX_ATTEMPTS = 5
MAX_TOTAL_WAIT = 60.0  # seconds of backoff within one call; longer waits are the caller's RetryLater
BACKOFF_BASE = 1.0  # 1, 2, 4, 8 s between attempts, each stretched by up to 100% jitter
BACKOFF_CAP = 30.0
EXCHANGE_BODY_LIMIT = 2000
MAX_RESULTS_LIMIT = 1000  # QuickBooks' MAXRESULTS ceiling

_ENTITY = re.compile(r"[A-Z][A-Za-z]*")
_REALM = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class Exchange:
    """One HTTP attempt, for the exchange log (no secrets: the token is never part of it).

    ``status`` is ``None`` when no answer came (timeout, connection lost); the error's name is
    then the ``response_body``.
    """

    method: str
    path: str
    status: int | None
    intuit_tid: str | None
    request_id: str | None
    elapsed: float
    request_body: str | None
    response_body: str
    attempt: int

    @property
    def operation(self) -> str:
        """A short name for the log's operation column: ``"QBO POST invoice"``."""
        resource = self.path.split("?", 1)[0].split("/")
        return f"QBO {self.method} {resource[4] if len(resource) > 4 else self.path}"[:40]

    @property
    def summary(self) -> str:
        """One line for support: what was asked, what came back, and the ids to quote to Intuit."""
        answer = "no answer" if self.status is None else f"HTTP {self.status}"
        ids = f"intuit_tid {self.intuit_tid or '-'}" + (f", requestid {self.request_id}" if self.request_id else "")
        return f"{self.method} {self.path} → {answer} ({ids}; attempt {self.attempt}; {self.elapsed:.3f} s)"


class QboError(Exception):
    """Root of what :class:`QboClient` raises on purpose."""


class QboFaultError(QboError):
    """QuickBooks refused the request with a fault (not throttling, not an expired token).

    ``after_lost_answer``: an earlier attempt of this write may have been applied, so a
    duplicate name or number may be our own record (look it up before telling anyone).
    """

    def __init__(self, fault: QboFault, meaning: FaultMeaning, *, intuit_tid: str | None = None,
                 after_lost_answer: bool = False) -> None:
        super().__init__(f"QuickBooks Online fault {fault.code} (HTTP {fault.http_status}): {fault.message}")
        self.fault = fault
        self.meaning = meaning
        self.intuit_tid = intuit_tid
        self.after_lost_answer = after_lost_answer


class QboUnauthorized(QboError):
    """A fresh access token was refused too (the backend tries again later; a refused refresh is what pauses)."""

    def __init__(self, fault: QboFault) -> None:
        super().__init__(f"QuickBooks Online refused a fresh access token: {fault.message}")
        self.fault = fault


class QboUnavailable(QboError):
    """QuickBooks stayed throttled or unreachable; nothing was applied. Try again after ``retry_after`` s."""

    def __init__(self, retry_after: float | None, fault: QboFault | None = None) -> None:
        super().__init__(f"QuickBooks Online unavailable; retry after {retry_after} s")
        self.retry_after = retry_after
        self.fault = fault


class QboAnswerLost(QboError):
    """A write may have been applied but no trustworthy answer came: look it up, never resend blindly."""

    def __init__(self, request_id: str, path: str) -> None:
        super().__init__(f"no trustworthy answer to the write {path} (requestid {request_id})")
        self.request_id = request_id
        self.path = path


def quote_literal(value: str) -> str:
    """``value`` as a literal of QuickBooks' query language: ``Amy's`` → ``'Amy\\'s'``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Retry(Exception):
    """Inside :meth:`QboClient._call`: this attempt failed in a way another attempt may fix."""

    def __init__(self, retry_after: float | None, fault: QboFault | None, maybe_applied: bool) -> None:
        super().__init__()
        self.retry_after = retry_after
        self.fault = fault
        self.maybe_applied = maybe_applied


class _TokenRefused(Exception):
    """Inside :meth:`QboClient._call`: QuickBooks answered 401 to this token."""

    def __init__(self, fault: QboFault) -> None:
        super().__init__()
        self.fault = fault


class QboClient:
    """Calls to one QuickBooks Online company.

    Args:
        http: the ``httpx.Client`` to send with (its timeouts are overridden per request).
        api_base: scheme and host only, e.g. ``https://quickbooks.api.intuit.com``.
        realm_id: the company.
        token: ``token(force_refresh)`` → a current access token; ``True`` asks for a fresh one
            (several threads may ask at once after one expiry: the provider should hand out a
            token newer than the refused one rather than refresh again). What it raises (the
            connection layer's "reconnect needed") propagates unchanged.
        limiter: the company's limiter (``rate_limit.limiter_for(realm_id)`` in production).
        on_exchange: told every attempt, for the exchange log; its failures are logged, not raised.
        sleep, random, now: injectable for tests (``random()`` in [0, 1); ``now()`` an aware datetime).
        resend_lost_writes: False: a write whose answer may be lost is not sent again here but
            raised at once as :class:`QboAnswerLost`, so the caller looks it up first (the push
            driver's rule: Intuit's memory of requestids is undocumented, a resend it forgot is a copy).
    """

    def __init__(
        self,
        http: httpx.Client,
        api_base: str,
        realm_id: str,
        token: Callable[[bool], str],
        limiter: CompanyLimiter,
        *,
        on_exchange: Callable[[Exchange], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = random_module.random,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_attempts: int = MAX_ATTEMPTS,
        max_total_wait: float = MAX_TOTAL_WAIT,
        resend_lost_writes: bool = True,
    ) -> None:
        base = httpx.URL(api_base)
        if base.scheme not in ("http", "https") or not base.host or base.path not in ("", "/") or base.query:
            raise ValueError(f"api_base must be a scheme and host only, not {api_base!r}")
        if not _REALM.fullmatch(realm_id):
            raise ValueError(f"realm_id must be digits, not {realm_id!r}")
        self._http = http
        self._company_url = f"{str(base).rstrip('/')}/v3/company/{realm_id}"
        self.realm_id = realm_id
        self._token = token
        self._limiter = limiter
        self._on_exchange = on_exchange
        self._sleep = sleep
        self._random = random
        self._now = now
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_total_wait = max_total_wait
        self._resend_lost_writes = resend_lost_writes

    # --- the calls -------------------------------------------------------------------------

    def query(self, sql: str) -> dict[str, Any]:
        """The ``QueryResponse`` of ``sql`` (``{}`` when nothing matched: QuickBooks omits the entity key)."""
        return self._call("GET", "query", {"query": sql}, expect="QueryResponse")["QueryResponse"]

    def query_page(self, entity: str, where: str | None = None, start: int = 1,
                   max_results: int = MAX_RESULTS_LIMIT) -> list[dict[str, Any]]:
        """One page of ``entity`` records; ``start`` is 1-based, ``max_results`` ≤ 1000.

        ``where`` is QuickBooks' condition text; quote values with :func:`quote_literal`.
        """
        _check_entity(entity)
        if start < 1 or not 1 <= max_results <= MAX_RESULTS_LIMIT:
            raise ValueError(f"start must be ≥ 1 and max_results 1..{MAX_RESULTS_LIMIT}")
        condition = f" WHERE {where}" if where else ""
        answer = self.query(f"SELECT * FROM {entity}{condition} STARTPOSITION {start} MAXRESULTS {max_results}")
        return answer.get(entity, [])

    def count(self, entity: str, where: str | None = None) -> int:
        """How many ``entity`` records match ``where``."""
        _check_entity(entity)
        condition = f" WHERE {where}" if where else ""
        return int(self.query(f"SELECT COUNT(*) FROM {entity}{condition}").get("totalCount", 0))

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        """The record ``record_id`` of ``entity``."""
        _check_entity(entity)
        path = f"{entity.lower()}/{urllib.parse.quote(str(record_id), safe='')}"
        return self._call("GET", path, expect=entity)[entity]

    def create(self, entity: str, body: Mapping[str, Any], request_id: str) -> dict[str, Any]:
        """Create an ``entity`` record; ``request_id`` makes it exactly once (keep it until the answer is stored)."""
        _check_entity(entity)
        return self._call("POST", entity.lower(), body=body, request_id=request_id, expect=entity)[entity]

    def cdc(self, entities: Iterable[str], changed_since: dt.datetime) -> dict[str, list[dict[str, Any]]]:
        """Records of ``entities`` changed (deleted ones with ``"status": "Deleted"``) since ``changed_since``."""
        names = list(entities)
        for entity in names:
            _check_entity(entity)
        if changed_since.tzinfo is None:
            raise ValueError("changed_since must carry its time zone")
        params = {"entities": ",".join(names), "changedSince": changed_since.isoformat(timespec="seconds")}
        answer = self._call("GET", "cdc", params, expect="CDCResponse")
        changed: dict[str, list[dict[str, Any]]] = {entity: [] for entity in names}
        for response in answer["CDCResponse"]:
            for query_response in response.get("QueryResponse", []):
                for entity in names:
                    changed[entity].extend(query_response.get(entity, []))
        return changed

    def company_info(self) -> dict[str, Any]:
        """The company's CompanyInfo record (name, country, …)."""
        return self._call("GET", f"companyinfo/{self.realm_id}", expect="CompanyInfo")["CompanyInfo"]

    def preferences(self) -> dict[str, Any]:
        """The company's Preferences record (home currency, multicurrency, custom transaction numbers, …)."""
        return self._call("GET", "preferences", expect="Preferences")["Preferences"]

    # --- one call, with its retries -----------------------------------------------------------

    def _call(self, method: str, resource: str, params: Mapping[str, str] | None = None, *,
              body: Mapping[str, Any] | None = None, request_id: str | None = None, expect: str) -> dict[str, Any]:
        if method == "POST" and not (request_id and request_id.strip()):
            raise ValueError("a write to QuickBooks Online needs a requestid (the exactly-once key)")
        query = {**(params or {}), "minorversion": MINOR_VERSION}
        if request_id:
            query["requestid"] = request_id
        content = json.dumps(body, separators=(",", ":")) if body is not None else None
        token = self._token(False)
        refreshed = False
        maybe_applied = False
        waited = 0.0
        attempt = 0  # HTTP requests sent, for the log
        failures = 0  # of them, the ones backed off from (a refused old token is not one)
        while True:
            attempt += 1
            try:
                return self._attempt(method, resource, query, content, token, request_id, expect, attempt,
                                     after_lost_answer=maybe_applied)
            except _TokenRefused as refused:
                if refreshed:
                    raise QboUnauthorized(refused.fault) from None
                token = self._token(True)
                refreshed = True
                continue
            except _Retry as retry:
                failures += 1
                maybe_applied = maybe_applied or (method == "POST" and retry.maybe_applied)
                if maybe_applied and not self._resend_lost_writes:
                    raise QboAnswerLost(request_id, f"/{resource}") from None
                delay = self._backoff(failures, retry.retry_after)
                if failures >= self._max_attempts or waited + delay > self._max_total_wait:
                    if maybe_applied:
                        raise QboAnswerLost(request_id, f"/{resource}") from None
                    raise QboUnavailable(delay, retry.fault) from None
            self._sleep(delay)
            waited += delay

    def _attempt(self, method: str, resource: str, query: Mapping[str, str], content: str | None, token: str,
                 request_id: str | None, expect: str, attempt: int, *, after_lost_answer: bool) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        request = self._http.build_request(method, f"{self._company_url}/{resource}", params=query,
                                           content=content, headers=headers, timeout=self._timeout)
        path = request.url.raw_path.decode("ascii")
        error: httpx.RequestError | None = None
        with self._limiter.slot():
            started = time.monotonic()  # after the slot: the exchange's time is QuickBooks', not our queue's
            try:
                response = self._http.send(request)
            except httpx.RequestError as failure:
                error = failure
        elapsed = time.monotonic() - started
        if error is not None:
            self._tell(Exchange(method, path, None, None, request_id, elapsed, _clip(content),
                                type(error).__name__, attempt))
            # A connect failure sent nothing; anything later may have reached QuickBooks.
            sent = not isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
            raise _Retry(None, None, maybe_applied=sent) from error
        intuit_tid = response.headers.get("intuit_tid")
        status = response.status_code
        self._tell(Exchange(method, path, status, intuit_tid, request_id, elapsed, _clip(content),
                            _clip(_without_token(response.text, token)) or "", attempt))
        log.debug("QBO %s %s → %s (intuit_tid %s, %.3f s)", method, path, status, intuit_tid, elapsed)
        if 200 <= status < 300:
            answer = _json_object(response.content)
            if answer is not None and expect in answer:
                return answer
            if answer is not None and ("Fault" in answer or "fault" in answer):
                fault = parse_fault(status, response.content)
                raise QboFaultError(fault, explain(fault), intuit_tid=intuit_tid, after_lost_answer=after_lost_answer)
            # An answer we cannot read is no answer: the write may have been applied.
            raise _Retry(None, None, maybe_applied=True)
        fault = parse_fault(status, response.content)
        meaning = explain(fault)
        if status == 401:
            raise _TokenRefused(fault)
        if meaning.reason == FaultReason.THROTTLED:
            raise _Retry(_retry_after(response.headers.get("Retry-After"), self._now()), fault, maybe_applied=False)
        if status >= 500:
            raise _Retry(_retry_after(response.headers.get("Retry-After"), self._now()), fault, maybe_applied=True)
        raise QboFaultError(fault, meaning, intuit_tid=intuit_tid, after_lost_answer=after_lost_answer)

    def _backoff(self, failures: int, retry_after: float | None) -> float:
        """Seconds to wait after the ``failures``-th failure: QuickBooks' Retry-After, else exponential; both jittered.

        The jitter spreads the retries of many calls throttled at once over time instead of
        sending them back together.
        """
        if retry_after is not None:
            return retry_after + self._random() * BACKOFF_BASE
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (failures - 1))
        return delay * (1 + self._random())

    def _tell(self, exchange: Exchange) -> None:
        if self._on_exchange is None:
            return
        try:
            self._on_exchange(exchange)
        except Exception:
            # The log must never decide a call's outcome: a write's answer in hand is worth more.
            log.exception("exchange hook failed for %s %s", exchange.method, exchange.path)


def _check_entity(entity: str) -> None:
    if not _ENTITY.fullmatch(entity):
        raise ValueError(f"not a QuickBooks entity name: {entity!r}")


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        answer = json.loads(content)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _retry_after(value: str | None, now: dt.datetime) -> float | None:
    """Seconds from a Retry-After header: a number of seconds or an HTTP date (None when absent or unreadable)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        seconds = (when - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _without_token(text: str, token: str) -> str:
    """``text`` with the bearer token, and what QuickBooks quotes of a refused one, blanked."""
    return without_token_echo(text.replace(token, "[token]") if token else text)


def _clip(text: str | None) -> str | None:
    if text is None or len(text) <= EXCHANGE_BODY_LIMIT:
        return text
    return text[: EXCHANGE_BODY_LIMIT - 1] + "…"
