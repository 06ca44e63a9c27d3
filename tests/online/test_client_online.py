"""The QuickBooks Online client over real HTTP: a scripted company served by waitress on 127.0.0.1.

The company answers with the recorded bodies of ../shared/fixtures/qbo-recorded/ and with
scripted sequences (429 then 200, 503s, Retry-After, answers held past the read timeout,
401 then 200). Waits between retries go through an injected ``sleep`` that records the
delays asked for, so nothing here depends on how fast the machine is.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from qbwc_bridge.backends.online.client import (
    Exchange,
    QboAnswerLost,
    QboClient,
    QboFaultError,
    QboUnauthorized,
    QboUnavailable,
    quote_literal,
)
from qbwc_bridge.backends.online.faults import FaultReason
from qbwc_bridge.backends.online.rate_limit import CompanyLimiter
from support.live_server import LiveServer
from support.network import free_loopback_port

REALM = "9130354335287376"
COMPANY = f"/v3/company/{REALM}"
SHORT_READ = httpx.Timeout(connect=5.0, read=0.3, write=5.0, pool=5.0)


@dataclass
class Seen:
    """One request as the company received it."""

    method: str
    path: str
    query: dict[str, str]
    authorization: str
    accept: str
    content_type: str
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0  # seconds to sit on the answer (longer than the client's read timeout: a lost answer)


Handler = Callable[[Seen], Reply]


class ScriptedCompany:
    """A WSGI QuickBooks Online company: scripted replies first, then ``default``."""

    def __init__(self, default: Handler | None = None) -> None:
        self.url = ""  # set once served
        self.seen: list[Seen] = []
        self.script: deque[Reply | Handler] = deque()
        self.default = default or (lambda seen: Reply())
        self.in_flight = 0
        self.most_in_flight = 0
        self.released = threading.Event()  # set at the end, so that held answers stop holding
        self._lock = threading.Lock()
        self._tids = 0

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        seen = Seen(
            method=environ["REQUEST_METHOD"],
            path=environ["PATH_INFO"],
            query={key: values[0] for key, values in parse_qs(environ["QUERY_STRING"]).items()},
            authorization=environ.get("HTTP_AUTHORIZATION", ""),
            accept=environ.get("HTTP_ACCEPT", ""),
            content_type=environ.get("CONTENT_TYPE", ""),
            body=environ["wsgi.input"].read(length) if length else b"",
        )
        with self._lock:
            self.seen.append(seen)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self._tids += 1
            tid = f"1-tid-{self._tids}"
            step = self.script.popleft() if self.script else self.default
        try:
            reply = step if isinstance(step, Reply) else step(seen)
            if reply.hold:
                self.released.wait(reply.hold)
        finally:
            with self._lock:
                self.in_flight -= 1
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        content_type = "application/xml" if body.lstrip().startswith(b"<") else "application/json"
        headers = {"Content-Type": content_type, "intuit_tid": tid, **reply.headers}
        start_response(f"{reply.status} Scripted", list(headers.items()))
        return [body]


class Tokens:
    """The connection layer's token callable: counts what was asked, hands out tok-1, tok-2, …"""

    def __init__(self) -> None:
        self.asked: list[bool] = []
        self.current = "tok-1-secret-bearer"

    def __call__(self, force_refresh: bool) -> str:
        self.asked.append(force_refresh)
        if force_refresh:
            self.current = f"tok-{len(self.asked)}-secret-bearer"
        return self.current


class Sleeps(list):
    """The injected sleep: records each delay asked for and waits for none of it."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def recorded(shared_dir) -> Path:
    return shared_dir / "fixtures" / "qbo-recorded"


@pytest.fixture
def company() -> Iterator[ScriptedCompany]:
    company = ScriptedCompany()
    with LiveServer(company, threads=24) as server:
        company.url = server.url
        yield company
        company.released.set()
    assert all(seen.query.get("minorversion") == "75" for seen in company.seen), "a call without minorversion"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


@dataclass
class Harness:
    client: QboClient
    tokens: Tokens
    sleeps: Sleeps
    exchanges: list[Exchange]


def make_client(company: ScriptedCompany, http: httpx.Client, **options) -> Harness:
    tokens, sleeps, exchanges = Tokens(), Sleeps(), []
    options.setdefault("random", lambda: 0.0)
    options.setdefault("limiter", CompanyLimiter())
    client = QboClient(http, company.url, REALM, tokens, sleep=sleeps, on_exchange=exchanges.append, **options)
    return Harness(client, tokens, sleeps, exchanges)


@pytest.fixture
def harness(company, http) -> Harness:
    return make_client(company, http)


def body_of(recorded: Path, name: str) -> bytes:
    return (recorded / name).read_bytes()


# --- reads ------------------------------------------------------------------------------------


def test_query_page_quotes_an_apostrophe_and_sends_minorversion_json_and_the_token(company, harness, recorded):
    company.script.append(Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_get_display_name.yml__0.json")))
    name = "Amy's Bird Sanctuary"
    customers = harness.client.query_page("Customer", f"DisplayName = {quote_literal(name)}")
    assert [customer["Id"] for customer in customers] == ["1"]
    (seen,) = company.seen
    assert (seen.method, seen.path) == ("GET", f"{COMPANY}/query")
    assert seen.query == {
        "query": "SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary' STARTPOSITION 1 MAXRESULTS 1000",
        "minorversion": "75",
    }
    assert seen.accept == "application/json"
    assert seen.authorization == "Bearer tok-1-secret-bearer"


def test_an_ampersand_in_a_name_stays_inside_the_query(company, harness, recorded):
    company.script.append(Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_misc_ampersand.yml__0.json")))
    answer = harness.client.query(f"SELECT * FROM Vendor WHERE DisplayName = {quote_literal('Robertson & Associates')}")
    assert answer["Vendor"][0]["DisplayName"] == "Robertson & Associates"
    assert company.seen[0].query["query"] == "SELECT * FROM Vendor WHERE DisplayName = 'Robertson & Associates'"


@pytest.mark.parametrize(("value", "literal"), [
    ("Amy's Bird Sanctuary", "'Amy\\'s Bird Sanctuary'"),
    ("back\\slash", "'back\\\\slash'"),
    ("ends in \\", "'ends in \\\\'"),  # else the backslash would escape our closing quote
    ("Robertson & Associates", "'Robertson & Associates'"),
])
def test_quote_literal(value, literal):
    assert quote_literal(value) == literal


def test_count_and_an_empty_page(company, harness, recorded):
    company.script.extend([
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_all_vendors_by_5.yml__0.json")),
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_all_alt_select.yml__4.json")),
    ])
    assert harness.client.count("Vendor") == 26
    assert harness.client.query_page("Customer", "Active IN (true, false)", start=7, max_results=2) == []
    assert [seen.query["query"] for seen in company.seen] == [
        "SELECT COUNT(*) FROM Vendor",
        "SELECT * FROM Customer WHERE Active IN (true, false) STARTPOSITION 7 MAXRESULTS 2",
    ]


@pytest.mark.parametrize(("start", "max_results"), [(0, 10), (1, 0), (1, 1001)])
def test_a_page_outside_quickbooks_bounds_is_refused_before_sending(company, harness, start, max_results):
    with pytest.raises(ValueError):
        harness.client.query_page("Item", None, start, max_results)
    assert company.seen == []


def test_get_company_info_and_cdc(company, harness, recorded):
    company.script.extend([
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_get_id.yml__0.json")),
        Reply(body='{"CompanyInfo":{"CompanyName":"Sandbox Company_US_1","Country":"US"},"time":"x"}'),
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_cdc_basic.yml__0.json")),
    ])
    assert harness.client.get("Customer", "5")["DisplayName"] == "Dukes Basketball Camp"
    assert harness.client.company_info()["CompanyName"] == "Sandbox Company_US_1"
    since = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=-7)))
    changed = harness.client.cdc(["Estimate", "Item"], since)
    assert changed["Item"] == [] and changed["Estimate"] and all("Id" in record for record in changed["Estimate"])
    assert [seen.path for seen in company.seen] == [
        f"{COMPANY}/customer/5", f"{COMPANY}/companyinfo/{REALM}", f"{COMPANY}/cdc"]
    assert company.seen[2].query == {
        "entities": "Estimate,Item", "changedSince": "2026-11-30T09:00:00-07:00", "minorversion": "75"}
    assert all(seen.query["minorversion"] == "75" for seen in company.seen)


@pytest.mark.parametrize(("api_base", "realm"), [
    ("https://quickbooks.api.intuit.com/v3", REALM),
    ("quickbooks.api.intuit.com", REALM),
    ("https://quickbooks.api.intuit.com", "9130/../1"),
])
def test_api_base_is_scheme_and_host_and_the_realm_digits(http, api_base, realm):
    with pytest.raises(ValueError):
        QboClient(http, api_base, realm, Tokens(), CompanyLimiter())


# --- writes -----------------------------------------------------------------------------------


def test_create_sends_json_with_its_requestid_and_returns_the_record(company, harness, recorded):
    company.script.append(Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_create_customer.yml__0.json")))
    customer = harness.client.create("Customer", {"DisplayName": "Doe5, Jane"}, request_id="rq-0001")
    assert (customer["Id"], customer["DisplayName"]) == ("70", "Doe5, Jane")
    (seen,) = company.seen
    assert (seen.method, seen.path, seen.content_type) == ("POST", f"{COMPANY}/customer", "application/json")
    assert seen.query == {"requestid": "rq-0001", "minorversion": "75"}
    assert json.loads(seen.body) == {"DisplayName": "Doe5, Jane"}


@pytest.mark.parametrize("request_id", ["", "   ", None])
def test_a_write_without_a_requestid_is_refused_before_sending(company, harness, request_id):
    with pytest.raises(ValueError, match="requestid"):
        harness.client.create("Customer", {"DisplayName": "X"}, request_id=request_id)
    assert company.seen == []


def test_a_refusal_raises_its_fault_and_meaning_without_a_retry(company, harness, recorded):
    company.script.append(Reply(400, body_of(recorded, "minimul__qbo_api__spec_vcr_error_validation.yml__0.json")))
    with pytest.raises(QboFaultError) as raised:
        harness.client.create("Customer", {"DisplayName": "Weiskopf Consulting"}, request_id="rq-dup")
    assert raised.value.fault.code == 6240
    assert raised.value.meaning.reason == FaultReason.DUPLICATE_NAME
    assert raised.value.intuit_tid == "1-tid-1"
    assert not raised.value.after_lost_answer
    assert len(company.seen) == 1 and harness.sleeps == []


def test_a_lost_write_answer_is_replayed_with_the_same_requestid(company, http, recorded):
    created = body_of(recorded, "minimul__qbo_api__spec_vcr_create_invoice.yml__0.json")
    applied: dict[str, bytes] = {}

    def invoice_endpoint(seen: Seen) -> Reply:
        # QuickBooks' requestid replay: a known requestid gets the original answer, not a second invoice.
        request_id = seen.query["requestid"]
        if request_id in applied:
            return Reply(body=applied[request_id])
        applied[request_id] = created
        return Reply(body=created, hold=5.0)  # applied, but the answer never arrives in time

    company.default = invoice_endpoint
    harness = make_client(company, http, timeout=SHORT_READ)
    invoice = harness.client.create("Invoice", {"CustomerRef": {"value": "1"}}, request_id="rq-inv-42")
    assert invoice["Id"] == "266"
    assert list(applied) == ["rq-inv-42"]
    assert len(company.seen) >= 2
    assert {seen.query["requestid"] for seen in company.seen} == {"rq-inv-42"}
    assert harness.exchanges[0].status is None and harness.exchanges[0].response_body == "ReadTimeout"
    assert harness.exchanges[-1].status == 200


def test_a_write_that_never_gets_an_answer_is_answer_lost_never_resent_under_a_new_requestid(company, http):
    company.default = lambda seen: Reply(body='{"Invoice":{"Id":"1"}}', hold=5.0)
    harness = make_client(company, http, timeout=SHORT_READ)
    with pytest.raises(QboAnswerLost) as raised:
        harness.client.create("Invoice", {"CustomerRef": {"value": "1"}}, request_id="rq-lost")
    assert raised.value.request_id == "rq-lost"
    assert [seen.query["requestid"] for seen in company.seen] == ["rq-lost"] * 5
    assert harness.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_a_write_answered_with_5xx_every_time_is_answer_lost(company, harness):
    company.default = lambda seen: Reply(503, b"<html><body>Service Unavailable</body></html>")
    with pytest.raises(QboAnswerLost):
        harness.client.create("Item", {"Name": "Rocks"}, request_id="rq-503")
    assert [seen.query["requestid"] for seen in company.seen] == ["rq-503"] * 5


def test_a_write_throttled_every_time_is_unavailable_not_lost(company, harness, recorded):
    throttled = body_of(recorded, "ruckus__quickbooks-ruby__spec_fixtures_too_many_requests_error.xml")
    company.default = lambda seen: Reply(429, throttled)
    with pytest.raises(QboUnavailable) as raised:
        harness.client.create("Item", {"Name": "Rocks"}, request_id="rq-429")
    assert raised.value.fault.code == 3001
    assert [seen.query["requestid"] for seen in company.seen] == ["rq-429"] * 5


def test_a_write_that_cannot_connect_sent_nothing_and_is_unavailable(http):
    tokens = Tokens()
    sleeps = Sleeps()
    client = QboClient(http, f"http://127.0.0.1:{free_loopback_port()}", REALM, tokens, CompanyLimiter(),
                       sleep=sleeps, random=lambda: 0.0)
    with pytest.raises(QboUnavailable):
        client.create("Item", {"Name": "Rocks"}, request_id="rq-refused")
    assert sleeps == [1.0, 2.0, 4.0, 8.0]


def test_a_duplicate_after_a_lost_answer_is_flagged_as_possibly_ours(company, http, recorded):
    duplicate = body_of(recorded, "minimul__qbo_api__spec_vcr_error_validation.yml__0.json")
    company.script.extend([Reply(503, b""), Reply(400, duplicate)])
    harness = make_client(company, http)
    with pytest.raises(QboFaultError) as raised:
        harness.client.create("Customer", {"DisplayName": "Weiskopf Consulting"}, request_id="rq-forgotten")
    assert raised.value.after_lost_answer


# --- throttling and outages ---------------------------------------------------------------------


def test_429_then_200_waits_what_retry_after_says(company, harness, recorded):
    company.script.extend([
        Reply(429, body_of(recorded, "ruckus__quickbooks-ruby__spec_fixtures_too_many_requests_error.xml"),
              {"Retry-After": "7"}),
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_all_vendors_by_5.yml__0.json")),
    ])
    assert harness.client.count("Vendor") == 26
    assert harness.sleeps == [7.0]
    assert [seen.query["minorversion"] for seen in company.seen] == ["75", "75"]


def test_retry_after_as_an_http_date(company, http, recorded):
    now = dt.datetime(2026, 12, 3, 10, 0, 0, tzinfo=dt.timezone.utc)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=30), usegmt=True)
    company.script.extend([Reply(429, b"", {"Retry-After": later}), Reply(body='{"QueryResponse":{}}')])
    harness = make_client(company, http, now=lambda: now)
    assert harness.client.query("SELECT * FROM Item") == {}
    assert harness.sleeps == [30.0]


def test_the_old_403_throttle_body_is_throttling_too(company, harness, recorded):
    company.script.extend([
        Reply(403, body_of(recorded, "ruckus__quickbooks-ruby__spec_fixtures_throttle_exceeded_error.xml")),
        Reply(body='{"QueryResponse":{}}'),
    ])
    assert harness.client.query("SELECT * FROM Item") == {}
    assert len(company.seen) == 2


def test_503s_back_off_exponentially_with_jitter(company, http):
    company.script.extend([Reply(503, b""), Reply(502, b""), Reply(504, b""), Reply(body='{"QueryResponse":{}}')])
    harness = make_client(company, http, random=lambda: 0.5)
    harness.client.query("SELECT * FROM Item")
    assert harness.sleeps == [1.5, 3.0, 6.0]


def test_a_read_that_stays_unavailable_gives_up_after_five_attempts(company, harness):
    company.default = lambda seen: Reply(503, b"")
    with pytest.raises(QboUnavailable) as raised:
        harness.client.query("SELECT * FROM Item")
    assert len(company.seen) == 5
    assert harness.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert raised.value.retry_after == 16.0


def test_a_retry_after_beyond_the_wait_budget_is_handed_to_the_caller_at_once(company, harness):
    company.default = lambda seen: Reply(429, b"", {"Retry-After": "3600"})
    with pytest.raises(QboUnavailable) as raised:
        harness.client.query("SELECT * FROM Item")
    assert raised.value.retry_after == 3600.0
    assert len(company.seen) == 1 and harness.sleeps == []


def test_a_429_storm_from_20_threads_never_has_more_than_10_calls_at_the_company(company, http):
    per_query: dict[str, int] = {}
    lock = threading.Lock()

    def throttle_twice(seen: Seen) -> Reply:
        with lock:
            per_query[seen.query["query"]] = per_query.get(seen.query["query"], 0) + 1
            throttled = per_query[seen.query["query"]] <= 2
        if throttled:
            return Reply(429, b"", hold=0.05)
        return Reply(body='{"QueryResponse":{"totalCount":1}}', hold=0.05)

    company.default = throttle_twice
    limiter = CompanyLimiter()
    clients = [make_client(company, http, limiter=limiter).client for _ in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        counts = list(pool.map(lambda n: clients[n].count("Item", f"Name = 'item {n}'"), range(20)))
    assert counts == [1] * 20
    assert len(company.seen) == 60
    assert company.most_in_flight <= 10


# --- tokens and the exchange log ---------------------------------------------------------------


def test_401_asks_for_a_fresh_token_once_and_retries(company, harness, recorded):
    company.script.extend([
        Reply(401, body_of(recorded, "minimul__qbo_api__spec_vcr_error_401.yml__0.json")),
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_get_id.yml__0.json")),
    ])
    assert harness.client.get("Customer", "5")["Id"] == "5"
    assert harness.tokens.asked == [False, True]
    assert "AB0160139" not in harness.exchanges[0].response_body  # the part of the token QuickBooks quoted
    assert [seen.authorization for seen in company.seen] == ["Bearer tok-1-secret-bearer", "Bearer tok-2-secret-bearer"]
    assert harness.sleeps == []


def test_a_fresh_token_refused_too_is_unauthorized(company, harness, recorded):
    company.default = lambda seen: Reply(401, body_of(recorded, "minimul__qbo_api__spec_vcr_error_401.yml__0.json"))
    with pytest.raises(QboUnauthorized) as raised:
        harness.client.create("Customer", {"DisplayName": "X"}, request_id="rq-401")
    assert raised.value.fault.code == 3200
    assert harness.tokens.asked == [False, True]
    assert len(company.seen) == 2


def test_every_attempt_reaches_the_exchange_hook_without_the_token(company, harness):
    company.script.extend([
        Reply(401, '{"error":"invalid_token","error_description":"tok-1-secret-bearer is not valid"}'),
        Reply(body='{"Item":{"Id":"9","Name":"Rocks"},"time":"x"}'),
    ])
    harness.client.create("Item", {"Name": "Rocks"}, request_id="rq-log")
    first, second = harness.exchanges
    assert (first.method, first.status, first.intuit_tid, first.request_id, first.attempt) == (
        "POST", 401, "1-tid-1", "rq-log", 1)
    assert first.path == f"{COMPANY}/item?minorversion=75&requestid=rq-log"
    assert first.request_body == '{"Name":"Rocks"}'
    assert (second.status, second.intuit_tid, second.attempt) == (200, "1-tid-2", 2)
    assert "secret-bearer" not in repr(harness.exchanges)
    assert first.operation == "QBO POST item"
    assert first.summary.startswith(f"POST {COMPANY}/item?minorversion=75&requestid=rq-log → HTTP 401 (intuit_tid 1-tid-1")


def test_a_failing_exchange_hook_never_loses_an_answer(company, http):
    company.script.append(Reply(body='{"Item":{"Id":"9"}}'))

    def broken_hook(exchange: Exchange) -> None:
        raise RuntimeError("log table gone")

    client = QboClient(http, company.url, REALM, Tokens(), CompanyLimiter(), on_exchange=broken_hook)
    assert client.create("Item", {"Name": "Rocks"}, request_id="rq-hook")["Id"] == "9"


def test_an_unreadable_2xx_read_is_retried_then_unavailable(company, harness):
    company.default = lambda seen: Reply(200, b"<html>proxy says hi</html>")
    with pytest.raises(QboUnavailable):
        harness.client.query("SELECT * FROM Item")
    assert len(company.seen) == 5


def test_an_unreadable_2xx_to_a_write_is_answer_lost(company, harness):
    company.default = lambda seen: Reply(200, b"<html>proxy says hi</html>")
    with pytest.raises(QboAnswerLost):
        harness.client.create("Invoice", {"CustomerRef": {"value": "1"}}, request_id="rq-html")
    assert [seen.query["requestid"] for seen in company.seen] == ["rq-html"] * 5


def test_a_read_that_times_out_is_tried_again(company, http, recorded):
    company.script.extend([
        Reply(body=b"{}", hold=5.0),
        Reply(body=body_of(recorded, "minimul__qbo_api__spec_vcr_get_id.yml__0.json")),
    ])
    harness = make_client(company, http, timeout=SHORT_READ)
    assert harness.client.get("Customer", "5")["Id"] == "5"
    assert harness.sleeps[0] == 1.0
    assert [exchange.status for exchange in harness.exchanges][-1] == 200


@pytest.mark.parametrize(("retry_after", "delay"), [
    ("soon", 1.0),  # unreadable: our own backoff
    ("Wed, 02 Dec 2026 10:00:00 GMT", 0.0),  # already past
    ("-5", 0.0),
    ("2.5", 2.5),
])
def test_odd_retry_after_values(company, http, retry_after, delay):
    now = dt.datetime(2026, 12, 3, 10, 0, 0, tzinfo=dt.timezone.utc)
    company.script.extend([Reply(429, b"", {"Retry-After": retry_after}), Reply(body='{"QueryResponse":{}}')])
    harness = make_client(company, http, now=lambda: now)
    harness.client.query("SELECT * FROM Item")
    assert harness.sleeps == [delay]
