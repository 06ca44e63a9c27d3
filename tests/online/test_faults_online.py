"""QuickBooks Online faults: every recorded error body parsed and classified, and the shapes not recorded."""
from __future__ import annotations

import json

import pytest

from qbwc_bridge.backends.online.faults import FaultReason, QboFault, explain, parse_fault

# Every recorded error body, with the HTTP status it came with (the folder's README) and
# the code and reason it must get.
RECORDED_FAULTS = {
    "minimul__qbo_api__spec_vcr_error_400_json.yml__0.json": (400, 2010, FaultReason.OUR_BUG),
    "minimul__qbo_api__spec_vcr_error_validation.yml__0.json": (400, 6240, FaultReason.DUPLICATE_NAME),
    "minimul__qbo_api__spec_vcr_error_401.yml__0.json": (401, 3200, FaultReason.EXPIRED_TOKEN),
    "minimul__qbo_api__spec_vcr_error_500.yml__0.json": (400, 500, FaultReason.OUR_BUG),
    "minimul__qbo_api__spec_vcr_error_500.yml__1.json": (400, 2030, FaultReason.OUR_BUG),
    "ruckus__quickbooks-ruby__spec_fixtures_json_tax_service_error_dup.json": (400, 6240, FaultReason.DUPLICATE_NAME),
    "ruckus__quickbooks-ruby__spec_fixtures_customer_duplicate_error.xml": (400, 6240, FaultReason.DUPLICATE_NAME),
    "ruckus__quickbooks-ruby__spec_fixtures_query_validation_error.xml": (400, 4001, FaultReason.OUR_BUG),
    "ruckus__quickbooks-ruby__spec_fixtures_throttle_exceeded_error.xml": (403, 3001, FaultReason.THROTTLED),
    "ruckus__quickbooks-ruby__spec_fixtures_too_many_requests_error.xml": (429, 3001, FaultReason.THROTTLED),
}
# The recorded answers that are not faults (the batch answer carries faults per item: below).
RECORDED_ANSWERS_PREFIXES = ("intuit-docs__", "fylein__", "minimul__qbo_api__spec_vcr_all_",
                             "minimul__qbo_api__spec_vcr_create_", "minimul__qbo_api__spec_vcr_get_",
                             "minimul__qbo_api__spec_vcr_update_", "minimul__qbo_api__spec_vcr_void_",
                             "minimul__qbo_api__spec_vcr_misc_", "minimul__qbo_api__spec_vcr_cdc_",
                             "minimul__qbo_api__spec_vcr_batch_")


@pytest.fixture(scope="module")
def recorded(shared_dir):
    return shared_dir / "fixtures" / "qbo-recorded"


def test_every_recorded_file_is_either_a_fault_here_or_a_known_answer(recorded):
    names = {path.name for path in recorded.iterdir() if path.name != "README.md"}
    unclassified = {name for name in names - set(RECORDED_FAULTS) if not name.startswith(RECORDED_ANSWERS_PREFIXES)}
    assert not unclassified, "a new recorded body: add it to RECORDED_FAULTS or the answers"
    assert set(RECORDED_FAULTS) <= names


@pytest.mark.parametrize("name", sorted(RECORDED_FAULTS))
def test_recorded_fault_is_parsed_and_classified(recorded, name):
    status, code, reason = RECORDED_FAULTS[name]
    fault = parse_fault(status, (recorded / name).read_bytes())
    assert fault.code == code
    assert fault.message
    meaning = explain(fault)
    assert meaning.reason == reason
    assert meaning.explanation and meaning.action
    assert meaning.quickbooks_message


@pytest.mark.parametrize(("bid", "code", "reason", "retryable"), [
    ("bid2", 610, FaultReason.INVALID_REFERENCE, False),
    ("bid3", 5010, FaultReason.STALE, True),
])
def test_faults_inside_the_recorded_batch_answer(recorded, bid, code, reason, retryable):
    answer = json.loads((recorded / "minimul__qbo_api__spec_vcr_batch_basic.yml__0.json").read_text())
    item = next(item for item in answer["BatchItemResponse"] if item["bId"] == bid)
    meaning = explain(parse_fault(400, json.dumps({"Fault": item["Fault"]})))
    assert (meaning.reason, meaning.retryable) == (reason, retryable)


def test_lowercase_401_envelope_keeps_its_fields_and_hides_the_token(recorded):
    fault = parse_fault(401, (recorded / "minimul__qbo_api__spec_vcr_error_401.yml__0.json").read_bytes())
    assert fault.type == "AUTHENTICATION"
    assert fault.detail == "Token expired: [redacted]"
    meaning = explain(fault)
    assert meaning.needs_refresh and meaning.retryable
    assert "AB0160139" not in meaning.quickbooks_message


def test_xml_fault_keeps_type_message_and_detail(recorded):
    body = (recorded / "ruckus__quickbooks-ruby__spec_fixtures_too_many_requests_error.xml").read_text()
    fault = parse_fault(429, body)
    assert fault == QboFault(
        http_status=429,
        code=3001,
        message="message=ThrottleExceeded; errorCode=003001; statusCode=429",
        detail="The request limit was reached.  Try again later",
        element=None,
        type="SERVICE",
    )
    assert explain(fault).retryable


def test_duplicate_name_says_which_kind_of_record(recorded):
    customer_body = (recorded / "ruckus__quickbooks-ruby__spec_fixtures_customer_duplicate_error.xml").read_text()
    xml = parse_fault(400, customer_body)
    assert "already has a customer with this name" in explain(xml).explanation
    tax_body = (recorded / "ruckus__quickbooks-ruby__spec_fixtures_json_tax_service_error_dup.json").read_bytes()
    tax = parse_fault(400, tax_body)
    assert "already has a tax rate with this name" in explain(tax).explanation


def _json_fault(code: str, message: str, detail: str, element: str = "", status: int = 400) -> QboFault:
    body = {"Fault": {"Error": [{"Message": message, "Detail": detail, "code": code, "element": element}],
                      "type": "ValidationFault"}, "time": "2026-12-03T01:00:00.000-08:00"}
    return parse_fault(status, json.dumps(body))


@pytest.mark.parametrize(("fault", "reason", "words"), [
    (_json_fault("2500", "Invalid Reference Id", "Invalid Reference Id : Accounts element id 999 not found"),
     FaultReason.INVALID_REFERENCE, "The account with QuickBooks id 999"),
    (_json_fault("2500", "Invalid Reference Id", "Invalid Reference Id : Names element id 59 not found"),
     FaultReason.INVALID_REFERENCE, "customer, vendor or employee with QuickBooks id 59"),
    (_json_fault("2500", "Invalid Reference Id", "Invalid Reference Id : Line.SalesItemLineDetail.ItemRef",
                 element="Line.SalesItemLineDetail.ItemRef"),
     FaultReason.INVALID_REFERENCE, "The product or service this uses"),
    (_json_fault("2500", "Invalid Reference Id", "Invalid Reference Id : Customer assigned to this transaction has "
                 "been deleted. Before you can modify this transaction, you must restore Ann Ltd (deleted)."),
     FaultReason.INVALID_REFERENCE, "“Ann Ltd” was deleted"),
    (_json_fault("6140", "Duplicate Document Number Error", "Duplicate Document Number Error : You must specify a "
                 "different number. This number has already been used. DocNumber=A-1043 is assigned to "
                 "TxnType=Invoice with TxnId=266"),
     FaultReason.DUPLICATE_NUMBER, "number A-1043"),
    (_json_fault("6210", "Account Period Closed", "The account period has closed and the books are locked."),
     FaultReason.CLOSED_PERIOD, "books are closed"),
    (_json_fault("6190", "Invalid Company Status", "Subscription period has ended or canceled or there was a "
                 "billing problem : You can't add data to QuickBooks Online because your trial or "
                 "subscription period ended.", status=403),
     FaultReason.SUBSCRIPTION_ENDED, "subscription"),
    (_json_fault("6000", "A business validation error has occurred while processing your request",
                 "Business Validation Error: Make sure all your transactions have a VAT rate before you save."),
     FaultReason.VALIDATION, "“Make sure all your transactions have a VAT rate before you save.”"),
    (_json_fault("2050", "String length is either shorter or longer than supported by specification",
                 "String length specified does not match the supported length. Min:0 Max:100 supplied length:130",
                 element="Name"),
     FaultReason.OUR_BUG, "fault in the bridge"),
    (_json_fault("2020", "Required param missing, need to supply the required value for the API",
                 "Required parameter Line is missing in the request"),
     FaultReason.OUR_BUG, "fault in the bridge"),
    (_json_fault("4000", "Error parsing query", "QueryParserError: Encountered \" <ID> \"FORM\""),
     FaultReason.OUR_BUG, "fault in the bridge"),
    (_json_fault("10000", "An application error has occurred while processing your request",
                 "System Failure Error: An unexpected error occurred", status=500),
     FaultReason.SERVER, "problem of its own"),
    (_json_fault("9999", "Something new", "A code nobody has seen"), FaultReason.OTHER, "does not know"),
])
def test_documented_codes_get_their_reason_and_words(fault, reason, words):
    meaning = explain(fault)
    assert meaning.reason == reason
    assert words in meaning.explanation
    assert meaning.retryable == (reason == FaultReason.SERVER)


def test_codes_are_read_as_numbers_even_with_zeros_or_only_in_the_message():
    body = ('{"Fault":{"Error":[{"Message":"message=ThrottleExceeded; errorCode=003001; statusCode=429"}],'
            '"type":"SERVICE"}}')
    assert parse_fault(429, body).code == 3001
    assert parse_fault(400, '{"Fault":{"Error":[{"Message":"x","code":" 06240 "}]}}').code == 6240


def test_oauth_style_error_body():
    fault = parse_fault(401, '{"error":"invalid_token","error_description":"Token invalid"}')
    assert (fault.code, fault.message, fault.detail, fault.type) == (None, "invalid_token", "Token invalid", "OAuth")
    assert explain(fault).reason == FaultReason.EXPIRED_TOKEN


@pytest.mark.parametrize(("status", "body", "reason"), [
    (502, b"", FaultReason.SERVER),
    (503, b"<html><head><title>503 Service Temporarily Unavailable</title></head><body>nginx</body></html>",
     FaultReason.SERVER),
    (504, b"upstream request timeout", FaultReason.SERVER),
    (429, b"", FaultReason.THROTTLED),
    (401, b"", FaultReason.EXPIRED_TOKEN),
    (400, b"{not json", FaultReason.OTHER),
    (400, b'<?xml version="1.0"?><IntuitResponse xmlns="http://schema.intuit.com/finance/v3"/>', FaultReason.OTHER),
])
def test_gateway_bodies_without_a_fault_are_described_by_their_status(status, body, reason):
    fault = parse_fault(status, body)
    assert fault.code is None
    assert fault.message
    assert explain(fault).reason == reason


def test_html_page_is_reduced_to_its_words():
    fault = parse_fault(503, "<html><body><h1>Service   Unavailable</h1></body></html>")
    assert fault.message == "Service Unavailable"


def test_xml_with_an_entity_is_not_expanded():
    body = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            '<IntuitResponse><Fault type="ValidationFault"><Error code="6000"><Message>m</Message>'
            '<Detail>&e;</Detail></Error></Fault></IntuitResponse>')
    fault = parse_fault(400, body)
    assert fault.code == 6000
    assert "root:" not in fault.detail
