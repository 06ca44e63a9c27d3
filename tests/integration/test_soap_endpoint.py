"""The Web Connector endpoint over real HTTP, on SQLite and PostgreSQL."""
from __future__ import annotations

import codecs
import time

import pytest
import requests
from lxml import etree

from sqlalchemy import select
from qbwc_bridge.store.models import Account, DesktopSend, ExchangeLogEntry, OutboxOperation, QbTerms
from qbwc_bridge.web.app import create_app
from tests.integration.conftest import make_tenant
from tests.support.live_server import LiveServer
from tests.integration.soap_helpers import SOAP_NS, TNS, call, envelope, first_sync_reply, hcp_response, post

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def start_session(soap_url, tenant) -> str:
    ticket, status = call(soap_url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)[:2]
    assert status == "", status
    return ticket


def send(soap_url, ticket, hcp=""):
    return call(
        soap_url, "sendRequestXML", ticket=ticket, strHCPResponse=hcp, strCompanyFileName="C:\\Acme.QBW",
        qbXMLCountry="US", qbXMLMajorVers="13", qbXMLMinorVers="0",
    )


def request_ids(message_set: str) -> dict[str, str]:
    root = etree.fromstring(message_set.encode("utf-8"), SAFE_PARSER)
    return {el.tag: el.get("requestID") for el in root.find("QBXMLMsgsRq")}


def test_get_answers_200_for_qbwc_certificate_check_and_support_page(server):
    assert requests.get(server.url + "/qbwc", timeout=10).status_code == 200
    assert requests.get(server.url + "/support", timeout=10).status_code == 200
    wsdl = requests.get(server.url + "/qbwc?wsdl", timeout=10)
    assert wsdl.status_code == 200
    operations = {op.get("name") for op in etree.fromstring(wsdl.content).iter("{http://schemas.xmlsoap.org/wsdl/}operation")}
    assert {"serverVersion", "clientVersion", "authenticate", "sendRequestXML", "receiveResponseXML",
            "connectionError", "getLastError", "closeConnection", "getInteractiveURL", "interactiveDone",
            "interactiveRejected"} <= operations


def test_authenticate_items_are_in_intuits_namespace(soap_url, tenant):
    response = post(soap_url, "authenticate", envelope("authenticate", strUserName=tenant.username, strPassword=tenant.password))
    root = etree.fromstring(response.content)
    result = root.find(f"{{{SOAP_NS}}}Body/{{{TNS}}}authenticateResponse/{{{TNS}}}authenticateResult")
    items = list(result)
    assert len(items) >= 2
    assert all(item.tag == f"{{{TNS}}}string" for item in items)
    assert response.headers["Content-Type"].startswith("text/xml")
    assert int(response.headers["Content-Length"]) == len(response.content)


def test_every_recorded_request_gets_a_well_formed_envelope(shared_dir, soap_url, tenant):
    recorded = sorted((shared_dir / "fixtures" / "recorded").glob("soap-*.xml"))
    assert recorded, "no recorded SOAP requests found"
    for path in recorded:
        body = path.read_bytes()
        operation = etree.QName(etree.fromstring(body, SAFE_PARSER).find(f"{{{SOAP_NS}}}Body")[0]).localname
        response = post(soap_url, operation, body)
        assert response.status_code == 200, (path.name, response.text)
        answer = etree.fromstring(response.content, SAFE_PARSER)
        wrapper = answer.find(f"{{{SOAP_NS}}}Body/{{{TNS}}}{operation}Response")
        assert wrapper is not None, (path.name, response.text)
        assert wrapper.find(f"{{{TNS}}}{operation}Result") is not None, path.name


def test_wrong_password_is_nvu_and_repeated_failures_lock_the_login(soap_url, tenant, settings):
    for _ in range(settings.login_max_failures):
        assert call(soap_url, "authenticate", strUserName=tenant.username, strPassword="wrong")[1] == "nvu"
    # Locked now: even the right password is refused until the lockout ends.
    assert call(soap_url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)[1] == "nvu"
    assert call(soap_url, "authenticate", strUserName="nobody", strPassword="x")[1] == "nvu"


def test_unknown_ticket_gets_clean_protocol_answers(soap_url):
    assert send(soap_url, "no-such-ticket") == ""
    assert "ended" in call(soap_url, "getLastError", ticket="no-such-ticket")
    assert call(soap_url, "receiveResponseXML", ticket="no-such-ticket", response="", hresult="", message="") == "-1"
    assert call(soap_url, "connectionError", ticket="no-such-ticket", hresult="0x80040408", message="x") == "done"
    assert call(soap_url, "closeConnection", ticket="no-such-ticket") == "OK"


def test_handshake_versions(soap_url):
    assert call(soap_url, "serverVersion")
    assert call(soap_url, "clientVersion", strVersion="2.3.0.215") == ""
    assert call(soap_url, "clientVersion", strVersion="1.5.0.0").startswith("E:")
    assert call(soap_url, "clientVersion", strVersion="2.1.0.30").startswith("W:")


def test_first_session_pulls_every_list_then_says_none(soap_url, tenant, store):
    ticket = start_session(soap_url, tenant)
    message_set = send(soap_url, ticket, hcp_response(tenant.owner_id, tenant.account.file_id))
    assert set(request_ids(message_set)) == {"TermsQueryRq", "AccountQueryRq", "ItemQueryRq", "CustomerQueryRq"}
    reply = first_sync_reply(message_set)
    assert call(soap_url, "receiveResponseXML", ticket=ticket, response=reply, hresult="", message="") == "100"
    assert "done" in call(soap_url, "closeConnection", ticket=ticket)
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        assert account.status == "connected"
        assert account.company_name == "Test Co"
        assert [t.full_name for t in db.query(QbTerms).all()] == ["Net 30"]
        logged = db.query(ExchangeLogEntry).filter_by(account_id=account.id).all()
        assert all(tenant.password not in (e.body or "") + e.summary for e in logged)
    # Nothing left: the next run is told there is no work.
    assert call(soap_url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)[1] == "none"


def test_a_company_file_of_another_account_gets_nothing(soap_url, store, tenant):
    other = make_tenant(store, "Other Tenant")
    ticket = start_session(soap_url, tenant)
    assert send(soap_url, ticket, hcp_response(other.owner_id, other.account.file_id, company="Other Co")) == ""
    error = call(soap_url, "getLastError", ticket=ticket)
    assert "another BlueTrace account" in error
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        assert account.status == "error" and "another BlueTrace account" in account.status_message
        assert db.query(OutboxOperation).filter_by(account_id=account.id, state="sent").count() == 0
    # A file never connected at all is refused too.
    ticket = start_session_after_busy(soap_url, tenant)
    assert send(soap_url, ticket, hcp_response("{00000000-0000-0000-0000-000000000000}", "{X}")) == ""
    assert "never connected" in call(soap_url, "getLastError", ticket=ticket)


def start_session_after_busy(soap_url, tenant, timeout=10.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        answer = call(soap_url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)
        if answer[1] != "busy":
            assert answer[1] == "", answer
            return answer[0]
        assert time.monotonic() < deadline, "still busy"
        time.sleep(0.5)


@pytest.fixture
def slow_busy_window_url(settings, store):
    """The endpoint with a busy window wide enough that a loaded machine's next call still falls inside it."""
    with LiveServer(create_app(settings.replace(busy_window_seconds=8), store)) as live:
        yield live.url + "/qbwc"


def test_busy_while_alive_then_a_crashed_session_is_superseded(slow_busy_window_url, tenant, store):
    soap_url = slow_busy_window_url
    first = start_session(soap_url, tenant)
    send(soap_url, first, hcp_response(tenant.owner_id, tenant.account.file_id))  # work now in flight
    answer = call(soap_url, "authenticate", strUserName=tenant.username, strPassword=tenant.password)
    assert answer[1] == "busy" and answer[2].isdigit()
    second = start_session_after_busy(soap_url, tenant, timeout=30.0)  # the first went quiet: superseded
    assert second != first
    assert call(soap_url, "receiveResponseXML", ticket=first, response="", hresult="", message="") == "-1"
    with store.begin() as db:
        states = {op.kind: op.state for op in db.query(OutboxOperation).filter_by(account_id=tenant.account.account_id)}
    # Queries are safe to repeat: the superseded set's pulls are ready again at once (only Adds wait,
    # unconfirmed, for the in-flight timeout), and the new session sends them.
    assert set(states.values()) == {"pending"} and {"sync_terms", "sync_accounts"} <= set(states)
    assert set(request_ids(send(soap_url, second, hcp_response(tenant.owner_id, tenant.account.file_id)))) == {
        "TermsQueryRq", "AccountQueryRq", "ItemQueryRq", "CustomerQueryRq"}


def test_connection_error_is_recorded_in_plain_words(soap_url, tenant, store):
    ticket = start_session(soap_url, tenant)
    assert call(soap_url, "connectionError", ticket=ticket, hresult="0x80040408", message="Could not start QuickBooks.") == "done"
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        assert account.status == "error"
        assert "QuickBooks" in account.status_message and account.error_code == "0x80040408"
        # The backend keeps what to do apart, so the status (a service) needs no HRESULT table of its own.
        assert account.error_action and account.status_message.endswith(account.error_action)


@pytest.mark.parametrize("operation", ["connectionError", "receiveResponseXML"])
def test_an_hresult_too_long_to_be_one_is_recorded_not_a_500(soap_url, tenant, store, operation):
    # On main PostgreSQL refused it for accounts.error_code (VARCHAR(40)) and the Web Connector got a 500.
    ticket = start_session(soap_url, tenant)
    extra = {"response": ""} if operation == "receiveResponseXML" else {}
    answer = call(soap_url, operation, ticket=ticket, hresult="0x" + "F" * 100, message="m" * 10_000, **extra)
    assert answer == ("done" if operation == "connectionError" else "-1")
    with store.begin() as db:
        account = db.get(Account, tenant.account.account_id)
        assert account.status == "error" and account.error_code == "unreadable_hresult"


def test_hresult_parse_error_fails_a_lone_request_with_a_plain_message(soap_url, tenant, store):
    ticket = start_session(soap_url, tenant)
    send(soap_url, ticket, hcp_response(tenant.owner_id, tenant.account.file_id))
    answer = call(soap_url, "receiveResponseXML", ticket=ticket, response="", hresult="0x80040400",
                  message="QuickBooks found an error when parsing the provided XML text stream.")
    assert answer == "-1"
    assert "QuickBooks" in call(soap_url, "getLastError", ticket=ticket)
    with store.begin() as db:
        ops = db.execute(select(OutboxOperation.state, DesktopSend.send_alone)
                         .outerjoin(DesktopSend, DesktopSend.outbox_id == OutboxOperation.id)
                         .where(OutboxOperation.account_id == tenant.account.account_id)).all()
        # Two requests shared the set: each is sent alone next time to find the culprit.
        assert set(ops) == {("pending", True)}


BILLION_LAUGHS = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><authenticate xmlns="http://developer.intuit.com/"><strUserName>&lol3;</strUserName><strPassword>x</strPassword></authenticate></soap:Body></soap:Envelope>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><authenticate xmlns="http://developer.intuit.com/"><strUserName>&xxe;</strUserName><strPassword>x</strPassword></authenticate></soap:Body></soap:Envelope>"""


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, b"<not-xml", b"   "], ids=["billion-laughs", "xxe", "malformed", "empty"])
def test_hostile_or_broken_xml_is_refused_fast_and_the_server_keeps_serving(soap_url, body):
    started = time.monotonic()
    response = post(soap_url, "authenticate", body)
    assert time.monotonic() - started < 2
    assert response.status_code in (400, 500)
    fault = etree.fromstring(response.content, SAFE_PARSER).find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert fault is not None
    assert b"root:" not in response.content  # no /etc/passwd
    assert call(soap_url, "serverVersion")


def _authenticate_body(encoding: str, declared: str | None = None) -> bytes:
    text = envelope("authenticate", strUserName="nobody", strPassword="x").decode("utf-8")
    return text.replace('encoding="utf-8"', f'encoding="{declared or encoding}"').encode(encoding)


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe" + BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16-le"),
        BILLION_LAUGHS.decode().replace('"1.0"?>', '"1.0" encoding="utf-16"?>').encode("utf-16-le"),  # no BOM
        EXTERNAL_ENTITY.decode().encode("utf-16"),
        _authenticate_body("utf-16"),
        _authenticate_body("utf-16-be"),
        _authenticate_body("utf-32"),
        _authenticate_body("utf-8", declared="ISO-8859-1"),  # ASCII bytes, read as Latin-1 by a parser
        _authenticate_body("utf-8", declared="no-such-encoding"),
    ],
    ids=["utf16-doctype", "utf16-doctype-no-bom", "utf16-xxe", "utf16", "utf16-be", "utf32", "declared-latin1",
         "declared-unknown"],
)
def test_a_body_that_is_not_utf8_is_refused_with_415_before_parsing(soap_url, body):
    # 415 comes only from the screen in front of spyne: a parsed request gets 200 or spyne's 500.
    response = post(soap_url, "authenticate", body)
    assert response.status_code == 415, response.text
    fault = etree.fromstring(response.content, SAFE_PARSER).find(f"{{{SOAP_NS}}}Body/{{{SOAP_NS}}}Fault")
    assert "UTF-8 only" in fault.findtext("faultstring")
    assert call(soap_url, "serverVersion")


def test_a_charset_other_than_utf8_in_the_content_type_is_refused_with_415(soap_url):
    response = requests.post(
        soap_url, data=_authenticate_body("utf-16"), timeout=30,
        headers={"Content-Type": "text/xml; charset=utf-16", "SOAPAction": f'"{TNS}authenticate"'},
    )
    assert response.status_code == 415 and b"UTF-8 only" in response.content


def test_bytes_that_are_not_utf8_get_a_400_fault_naming_the_byte(soap_url):
    body = envelope("authenticate", strUserName="caf\u00e9", strPassword="x").replace("é".encode(), b"\xe9")
    response = post(soap_url, "authenticate", body)
    assert response.status_code == 400, response.text
    assert b"not valid UTF-8 (byte" in response.content


def test_utf8_with_a_byte_order_mark_or_an_utf8_spelling_is_still_read(soap_url, tenant):
    # .NET writers may add a UTF-8 BOM; "UTF8" is how some spell it. Both are UTF-8.
    for body in (codecs.BOM_UTF8 + _authenticate_body("utf-8"), _authenticate_body("utf-8", declared="UTF8")):
        response = post(soap_url, "authenticate", body)
        assert response.status_code == 200, response.text
        assert b"nvu" in response.content


def test_a_50_mb_body_is_refused_with_413(soap_url):
    started = time.monotonic()
    body = envelope("authenticate", strUserName="x" * (50 * 1024 * 1024), strPassword="y")
    response = post(soap_url, "authenticate", body)
    assert response.status_code == 413
    assert time.monotonic() - started < 10
    assert call(soap_url, "serverVersion")


def test_a_response_over_spynes_own_2_mib_default_is_read_not_refused(soap_url, tenant):
    """Our limit is MAX_BODY_BYTES (16 MiB). spyne's own 2 MiB cap answered 500 "Request too long", so
    a session whose answers (48 invoice look-ups) came to 3 MB failed, and failed again, every run."""
    ticket = start_session(soap_url, tenant)
    big_response = "<?xml version=\"1.0\" ?><QBXML><QBXMLMsgsRs>" + "<!-- pad -->" * (300 * 1024) + "</QBXMLMsgsRs></QBXML>"
    assert len(big_response) > 3 * 1024 * 1024
    answer = call(soap_url, "receiveResponseXML", ticket=ticket, response=big_response, hresult="", message="")
    assert answer.lstrip("-").isdigit()  # call() asserted HTTP 200: the service answered (progress or -1)
