"""The simulated Web Connector over real HTTP, against a scripted stub server."""
from __future__ import annotations

import time

import pytest
from lxml import etree

from qbwc_bridge.simulator import Faults, RequestProcessor, WebConnector
from tests.simulator.conftest import CUSTOMER_QUERY, FILE_ID, INVOICE_ADD, OWNER_ID, qwc_text
from tests.simulator.stub_server import NS, Raw, envelope, soap_fault

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
SESSION_START = ["serverVersion", "clientVersion", "authenticate"]


def connector_for(processor: RequestProcessor, server, **options) -> WebConnector:
    connector = WebConnector(processor, "secret", **{"noop_pause": 0, **options})
    added = connector.add_application(qwc_text(server.url))
    assert added.ok, added.to_text()
    return connector


# ----------------------------------------------------------------- shape of what QBWC sends
def element_shape(body: bytes) -> list[tuple[str, str]]:
    root = etree.fromstring(body, PARSER)
    return [(element.tag, (element.text or "").strip()) for element in root.iter()]


def test_requests_look_like_the_recorded_web_connector(processor, stub, shared_dir):
    server = stub()
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    connector_for(processor, server).run_session()
    recorded = shared_dir / "fixtures" / "recorded"
    sent = {r.operation: r for r in server.app.received}
    for operation in ("authenticate", "serverVersion", "closeConnection", "sendRequestXML"):
        shape = element_shape((recorded / f"soap-request-shape-{operation}.xml").read_bytes())
        ours = element_shape(sent[operation].body)
        assert [tag for tag, _ in ours] == [tag for tag, _ in shape], operation
    assert sent["authenticate"].params == {"strUserName": "acme-books", "strPassword": "secret"}
    real_post = (recorded / "soap-receiveResponseXML-InvoiceAddRs-ok.xml").read_bytes()
    prefix = real_post[: real_post.index(b"<receiveResponseXML")]
    assert sent["receiveResponseXML"].body.startswith(prefix)
    assert b"<hresult /><message /></receiveResponseXML>" in sent["receiveResponseXML"].body
    for received in server.app.received:
        assert received.headers["Content-Type"] == "text/xml; charset=utf-8"
        assert received.headers["Soapaction"] == f'"http://developer.intuit.com/{received.operation}"'


def test_a_full_session_carries_the_hcp_once_and_the_qbxml_intact(processor, stub, company):
    server = stub()
    server.app.requests_to_send.extend([CUSTOMER_QUERY, INVOICE_ADD])
    transcript = connector_for(processor, server).run_session()
    assert transcript.ok and transcript.outcome == "completed"
    assert server.app.operations == SESSION_START + ["sendRequestXML", "receiveResponseXML"] * 2 + ["closeConnection"]
    first, second = server.app.params_of("sendRequestXML")
    assert second["strHCPResponse"] == ""
    hcp = etree.fromstring(first["strHCPResponse"].encode(), PARSER)
    assert hcp.findtext(".//DataExtRet/DataExtValue") == FILE_ID
    assert hcp.findtext(".//DataExtRet/OwnerID") == OWNER_ID
    assert (first["strCompanyFileName"], first["qbXMLCountry"], first["qbXMLMajorVers"], first["qbXMLMinorVers"]) \
        == (company.settings.file_path, "US", "13", "0")
    responses = [p["response"] for p in server.app.params_of("receiveResponseXML")]
    assert responses == [exchange.response for exchange in transcript.exchanges]
    assert "<Memo>Tom &amp; Jerry &lt;3</Memo>" in responses[1]
    assert company.invoices_by_ref("1001")[0].memo == "Tom & Jerry <3"
    assert transcript.progress == [50, 100] and transcript.round_trips == 2
    assert transcript.close_message == "OK"
    assert "InvoiceAddRs 0" in transcript.to_text()


# ----------------------------------------------------------------- adding the .qwc
def test_adding_the_qwc_needs_the_app_url_to_answer_200(processor, stub):
    server = stub()
    server.app.get_status = "404 Not Found"
    connector = WebConnector(processor, "secret", noop_pause=0)
    added = connector.add_application(qwc_text(server.url))
    assert added.error_codes == ["QBWC1048"]
    with pytest.raises(RuntimeError):
        connector.run_session()


@pytest.mark.parametrize(("url", "support", "code"), [
    ("http://bridge.example.com/qbwc", None, "QBWC1010"),
    ("https://127.0.0.1/qbwc", None, "QBWC1001"),
    ("https://bridge.example.com/qbwc", "https://10.0.0.1/help", "QBWC1002"),
    ("https://bridge.example.com/qbwc", "https://help.example.com/", "QBWC1000"),
])
def test_qwc_url_rules(processor, url, support, code):
    added = WebConnector(processor, "secret").add_application(qwc_text(url, support=support))
    assert added.error_codes == [code] and added.calls == []


@pytest.mark.parametrize("broken", ["<UserName>acme-books</UserName>", "<FileID>" + FILE_ID + "</FileID>"])
def test_a_qwc_missing_an_element_or_with_a_bad_guid_is_qbwc1039(processor, broken):
    text = qwc_text("https://bridge.example.com/qbwc")
    replacement = "" if "UserName" in broken else "<FileID>90A44FB5-33D9-4815-AC85-BC87A7E7D1EB</FileID>"
    added = WebConnector(processor, "secret").add_application(text.replace(broken, replacement))
    assert added.error_codes == ["QBWC1039"]


def test_a_second_qwc_reusing_the_owner_and_file_ids_is_qbwc1039(processor, stub):
    server = stub()
    connector = connector_for(processor, server)
    second = connector.add_application(qwc_text(server.url, app_name="Another App"))
    assert second.error_codes == ["QBWC1039"]


# ----------------------------------------------------------------- strict about answers
def wrong_namespace_strings(params) -> Raw:
    body = (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/'
            f'envelope/"><soap:Body><authenticateResponse xmlns="{NS}"><authenticateResult>'
            f'<string xmlns="">ticket-1</string><string xmlns=""></string></authenticateResult>'
            f"</authenticateResponse></soap:Body></soap:Envelope>")
    return Raw(body.encode())


HTML = Raw(b"<!DOCTYPE html><html><body><h1>500 Internal Server Error</h1></body></html>",
           content_type="text/html; charset=utf-8")


@pytest.mark.parametrize(("script", "code", "words"), [
    ({"authenticate": wrong_namespace_strings}, "QBWC1012", "Index was outside the bounds of the array"),
    ({"authenticate": lambda p: ["only-a-ticket"]}, "QBWC1012", "at least 2"),
    ({"authenticate": lambda p: Raw(b"<soap:Envelope")}, "QBWC1012", "not well-formed"),
    ({"serverVersion": lambda p: Raw(envelope("serverVersion", "1.0", ns="http://tempuri.org/"))}, "QBWC1012",
     "http://tempuri.org/"),
    ({"sendRequestXML": lambda p: Raw(envelope("sendRequestXML", "").replace(
        b"<sendRequestXMLResult>", b'<sendRequestXMLResult xmlns="">'))}, "QBWC1041",
     "expected <sendRequestXMLResult> in http://developer.intuit.com/"),
    ({"sendRequestXML": lambda p: HTML}, "QBWC1041", "content type of 'text/html"),
    ({"sendRequestXML": lambda p: Raw(b"")}, "QBWC1041", "empty"),
    ({"receiveResponseXML": lambda p: soap_fault("ticket expired")}, "QBWC1042", "SOAP fault (HTTP 500): ticket expired"),
    ({"receiveResponseXML": lambda p: Raw(b"oops", status="500 Internal Server Error", content_type="text/plain")},
     "QBWC1042", "HTTP status 500"),
    ({"receiveResponseXML": lambda p: "fifty"}, "QBWC1042", "not an int"),
    ({"closeConnection": lambda p: Raw(envelope("closeConnection", "OK").replace(b"closeConnectionResult", b"Result"))},
     "QBWC1044", "expected <closeConnectionResult>"),
])
def test_answers_a_dotnet_client_cannot_read_end_the_session_with_the_users_code(processor, stub, script, code,
                                                                                   words):
    server = stub(**script)
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    transcript = connector_for(processor, server).run_session()
    assert transcript.error_codes == [code], transcript.to_text()
    assert words in transcript.errors[0].message
    assert transcript.outcome.startswith("failed")


# ----------------------------------------------------------------- the conversation
def test_empty_requests_lead_to_get_last_error_and_noop_pauses(processor, stub):
    queue = ["", "NoOp", CUSTOMER_QUERY]
    server = stub(sendRequestXML=lambda p: queue.pop(0), getLastError=lambda p: "NoOp",
                  receiveResponseXML=lambda p: 100)
    transcript = connector_for(processor, server).run_session()
    assert server.app.operations == SESSION_START + ["sendRequestXML", "getLastError"] * 2 + \
        ["sendRequestXML", "receiveResponseXML", "closeConnection"]
    assert transcript.noops == 2 and transcript.outcome == "completed"
    hcps = [p["strHCPResponse"] for p in server.app.params_of("sendRequestXML")]
    assert hcps[0] and hcps[1:] == ["", ""]


def test_after_99_an_idle_session_pauses_on_each_noop_and_asks_again(processor, stub):
    """Live mode as QBWC plays it: < 100 keeps the session, "" + NoOp pauses, the next ask may carry work."""
    queue = [CUSTOMER_QUERY, "", "", CUSTOMER_QUERY]
    percents = [99, 100]
    server = stub(sendRequestXML=lambda p: queue.pop(0), getLastError=lambda p: "NoOp",
                  receiveResponseXML=lambda p: percents.pop(0))
    seen: list[tuple[int, float]] = []
    started = time.monotonic()
    connector = connector_for(processor, server, noop_pause=0.2, on_noop=lambda n: seen.append((n, time.monotonic())))
    transcript = connector.run_session()
    assert server.app.operations == SESSION_START + ["sendRequestXML", "receiveResponseXML"] + \
        ["sendRequestXML", "getLastError"] * 2 + ["sendRequestXML", "receiveResponseXML", "closeConnection"]
    assert transcript.noops == 2 and transcript.progress == [99, 100] and transcript.outcome == "completed"
    assert [n for n, _ in seen] == [1, 2]
    assert seen[0][1] - started >= 0.2 and seen[1][1] - seen[0][1] >= 0.2  # each NoOp really waits the pause


def test_an_idle_session_ends_when_get_last_error_stops_saying_noop(processor, stub):
    answers = ["NoOp", "Live mode is over for this run."]
    server = stub(sendRequestXML=lambda p: "", getLastError=lambda p: answers.pop(0))
    transcript = connector_for(processor, server).run_session()
    assert server.app.operations[-1] == "closeConnection"
    assert transcript.noops == 1 and transcript.last_error_messages == ["Live mode is over for this run."]


def test_an_empty_request_with_a_message_ends_the_session(processor, stub):
    server = stub(getLastError=lambda p: "Nothing to send")
    transcript = connector_for(processor, server).run_session()
    assert server.app.operations[-3:] == ["sendRequestXML", "getLastError", "closeConnection"]
    assert transcript.last_error_messages == ["Nothing to send"]


def test_a_negative_progress_leads_to_get_last_error_then_close(processor, stub):
    server = stub(receiveResponseXML=lambda p: -1, getLastError=lambda p: "bad response")
    server.app.requests_to_send.extend([CUSTOMER_QUERY, CUSTOMER_QUERY])
    transcript = connector_for(processor, server).run_session()
    assert server.app.operations[-4:] == ["sendRequestXML", "receiveResponseXML", "getLastError", "closeConnection"]
    assert transcript.progress == [-1] and transcript.last_error_messages == ["bad response"]


def test_the_session_is_bounded_when_a_server_never_finishes(processor, stub):
    server = stub(sendRequestXML=lambda p: "NoOp", getLastError=lambda p: "NoOp")
    transcript = connector_for(processor, server, max_calls_per_session=25).run_session()
    assert len(server.app.received) == 25 and transcript.error_codes == ["SIMULATOR"]


@pytest.mark.parametrize(("answer", "goes_on", "code"), [
    ("", True, None), ("W:Please upgrade soon", True, None), ("E:Unsupported Web Connector", False, "QBWC1037"),
    ("O:2.3.0.300", False, "QBWC1037"),
])
def test_client_version_answers(processor, stub, answer, goes_on, code):
    server = stub(clientVersion=lambda p: answer)
    transcript = connector_for(processor, server).run_session()
    assert ("authenticate" in server.app.operations) is goes_on
    assert transcript.error_codes == ([code] if code else [])
    assert server.app.params_of("clientVersion") == [{"strVersion": "2.3.0.215"}]


def test_a_user_may_cancel_at_a_client_version_warning(processor, stub):
    server = stub(clientVersion=lambda p: "W:old")
    transcript = connector_for(processor, server, accept_warnings=False).run_session()
    assert server.app.operations == ["serverVersion", "clientVersion"] and "cancelled" in transcript.outcome


@pytest.mark.parametrize("status", ["nvu", "none", "busy", "NONE"])
def test_authenticate_statuses_without_work_close_at_once(processor, stub, status):
    server = stub(authenticate=lambda p: ["t-1", status])
    transcript = connector_for(processor, server).run_session()
    assert server.app.operations == SESSION_START + ["closeConnection"]
    assert transcript.ok and status.lower() in transcript.outcome


def test_authenticate_may_postpone(processor, stub):
    server = stub(authenticate=lambda p: ["t-1", "", "60", "300"])
    transcript = connector_for(processor, server).run_session()
    assert "postponed" in transcript.outcome and "sendRequestXML" not in server.app.operations


def test_quickbooks_not_running_then_retry_succeeds(processor, stub, company):
    server = stub(connectionError=lambda p: "")
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    connector = connector_for(processor, server, faults=Faults.parse("not_running=@1"))
    transcript = connector.run_session()
    assert server.app.params_of("connectionError") == [{"ticket": "ticket-0001", "hresult": "0x80040408",
                                                        "message": "Could not start QuickBooks."}]
    assert transcript.outcome == "completed"


def test_connection_error_done_ends_with_get_last_error_and_close(processor, stub):
    server = stub()
    connector = connector_for(processor, server, faults=Faults.parse("other_mode=@1"))
    transcript = connector.run_session()
    assert server.app.operations == SESSION_START + ["connectionError", "getLastError", "closeConnection"]
    assert server.app.params_of("connectionError")[0]["hresult"] == "0x80040410"
    assert transcript.error_codes == ["QBWC1013"]


def test_connection_retries_are_bounded(processor, stub):
    server = stub(connectionError=lambda p: "C:\\Somewhere\\Else.QBW")
    connector = connector_for(processor, server, faults=Faults.parse("not_running=@1+2+3+4"))
    transcript = connector.run_session()
    assert server.app.operations.count("connectionError") == 3
    assert [p["hresult"] for p in server.app.params_of("connectionError")] == ["0x80040408", "0x80040408",
                                                                              "0x80040408"]
    assert transcript.outcome == "could not connect to QuickBooks"


def test_a_company_path_from_authenticate_must_be_the_open_file(processor, stub):
    server = stub(authenticate=lambda p: ["t-1", "C:\\Other\\Books.QBW"])
    transcript = connector_for(processor, server).run_session()
    assert server.app.params_of("connectionError")[0]["hresult"] == "0x8004040A"
    assert transcript.error_codes == ["QBWC1013"]


def test_a_message_set_quickbooks_refuses_reaches_the_server_as_an_hresult(processor, stub, company):
    out_of_order = INVOICE_ADD.replace("<RefNumber>1001</RefNumber><Memo>Tom &amp; Jerry &lt;3</Memo>",
                                       "<Memo>late</Memo><RefNumber>1001</RefNumber>")
    server = stub()
    server.app.requests_to_send.append(out_of_order)
    transcript = connector_for(processor, server).run_session()
    [sent] = server.app.params_of("receiveResponseXML")
    assert sent == {"ticket": "ticket-0001", "response": "", "hresult": "0x80040400",
                    "message": "QuickBooks found an error when parsing the provided XML text stream."}
    assert company.invoices_by_ref("1001") == [] and "RefNumber" in transcript.exchanges[0].detail


def test_a_slow_quickbooks_stalls_the_round_trip(processor, stub):
    server = stub()
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    transcript = connector_for(processor, server, faults=Faults.parse("slow=@1,slow_seconds=0.3")).run_session()
    send, receive = (c for c in transcript.calls if c.operation in ("sendRequestXML", "receiveResponseXML"))
    assert receive.at - (send.at + send.seconds) >= 0.3
    assert transcript.faults == ["slow at message set #1"]


# ----------------------------------------------------------------- lost responses and vanished servers
def test_a_response_lost_after_apply_leaves_the_invoice_and_skips_receive(processor, stub, company):
    server = stub()
    server.app.requests_to_send.append(INVOICE_ADD)
    connector = connector_for(processor, server, faults=Faults.parse("lose_response=@1"))
    lost = connector.run_session()
    assert server.app.operations == SESSION_START + ["sendRequestXML"]
    assert len(company.invoices_by_ref("1001")) == 1
    assert "response lost" in lost.outcome and lost.faults == ["lose_response at message set #1"]
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    again = connector.run_session()
    assert again.outcome == "completed" and server.app.params_of("sendRequestXML")[-1]["strHCPResponse"]


def test_a_server_that_disappears_mid_session(processor, stub):
    server = stub()
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    transcript = connector_for(processor, server, faults=Faults.parse("server_gone=@4")).run_session()
    assert server.app.operations == SESSION_START
    assert transcript.error_codes == ["QBWC1041"] and "Unable to connect" in transcript.errors[0].message


def test_a_stopped_server_is_reported_not_hung_on(processor, stub):
    server = stub()
    connector = connector_for(processor, server)
    server.stop()
    transcript = connector.run_session()
    assert transcript.error_codes == ["QBWC1012"] and transcript.operations == ["serverVersion"]


def test_https_deployments_are_reached_through_https_connection():
    import http.client

    from qbwc_bridge.simulator.http_transport import HttpTransport

    connection, path = HttpTransport(timeout=3)._connection("https://bridge.example.com:8443/qbwc?x=1")
    assert isinstance(connection, http.client.HTTPSConnection)
    assert (connection.host, connection.port, path, connection.timeout) == ("bridge.example.com", 8443, "/qbwc?x=1", 3)


def test_transcripts_render_in_words_and_json(processor, stub):
    import json

    server = stub()
    server.app.requests_to_send.append(CUSTOMER_QUERY)
    transcript = connector_for(processor, server).run_session()
    data = json.loads(transcript.to_json())
    assert data["round_trips"] == 1 and [c["operation"] for c in data["calls"]] == transcript.operations
    text = transcript.to_text()
    assert "Session 1 of BlueTrace Bridge" in text and "CustomerQueryRq" in text and "secret" not in text
