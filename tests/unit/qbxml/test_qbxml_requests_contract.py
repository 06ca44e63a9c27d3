"""How callers may (and may not) ask for requests, and how requests are batched into message sets."""
from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import QbxmlVersion, render_message_set, render_request, split_message_sets
from qbwc_bridge.errors import DataError, OurBug

ITEM = {"name": "Mug", "income_account_list_id": "1-1", "expense_account_list_id": "2-2"}


def test_missing_accounts_tell_the_person_where_to_choose_them():
    with pytest.raises(DataError, match="General tab") as caught:
        render_request("ItemServiceAdd", "r", {"name": "Mug", "income_account_list_id": "1-1"})
    assert caught.value.field == "expense_account_list_id" and "item 'Mug'" in str(caught.value)


def test_an_invoice_needs_lines_each_with_an_item_or_description():
    with pytest.raises(DataError, match="has no lines"):
        render_request("InvoiceAdd", "r", {"customer_list_id": "3-3", "ref_number": "R1", "lines": []})
    with pytest.raises(DataError, match="line 2 of invoice R1 has no item or description"):
        render_request("InvoiceAdd", "r", {"customer_list_id": "3-3", "ref_number": "R1",
                                           "lines": [{"item_list_id": "4-4"}, {"quantity": Decimal(1)}]})  # fmt: skip


def test_float_money_is_a_type_error():
    with pytest.raises(TypeError, match="float"):
        render_request("ItemServiceAdd", "r", {**ITEM, "sales_price": 9.99})


@pytest.mark.parametrize(
    ("request_type", "data", "reason"),
    [
        ("ItemQuery", {"colour": "blue"}, "does not take 'colour'"),
        ("ItemQuery", {"list_ids": ["1-1"], "max_returned": 10}, "only one of"),
        ("InvoiceQuery", {"txn_ids": ["1-1"], "ref_numbers": ["R1"]}, "only one of"),
        ("ItemQuery", {"iterator": "Continue"}, "needs the iterator_id"),
        ("ItemQuery", {"iterator_id": "{x}"}, "only sent with"),
        ("ItemQuery", {"active_status": "Active"}, "must be one of"),
        ("ItemQuery", {"max_returned": 0}, "at least 1"),
        ("CustomerQuery", {"list_ids": ["x" * 37]}, "not a valid"),
        ("CustomerAdd", {"name": "C", "external_guid": "not-a-guid"}, "uuid.UUID"),
        ("Nonsense", {}, "no qbXML template"),
    ],
)
def test_broken_request_contracts_are_our_bugs(request_type, data, reason):
    with pytest.raises(OurBug, match=reason):
        render_request(request_type, "r", data)


@pytest.mark.parametrize("request_id", ["", "x" * 51, "tab\there", "é"])
def test_request_ids_are_short_printable_ascii(request_id):
    with pytest.raises(OurBug, match="requestID"):
        render_request("TermsQuery", request_id, {})


def test_a_request_id_of_50_characters_is_echoed_as_is():
    request_id = "op-" + "7" * 47
    assert etree.fromstring(render_request("TermsQuery", request_id, {}).encode()).get("requestID") == request_id


def test_dates_and_guids_use_quickbooks_formats():
    fragment = render_request(
        "InvoiceAdd", "r",
        {"customer_list_id": "3-3", "txn_date": dt.date(2024, 2, 29), "external_guid": uuid.UUID(int=255),
         "lines": [{"item_list_id": "4-4"}]},
    )  # fmt: skip
    assert "<TxnDate>2024-02-29</TxnDate>" in fragment
    assert "<ExternalGUID>{00000000-0000-0000-0000-0000000000FF}</ExternalGUID>" in fragment
    with pytest.raises(TypeError, match="datetime.date"):
        render_request("InvoiceAdd", "r", {"customer_list_id": "3-3", "txn_date": dt.datetime(2024, 2, 29),
                                           "lines": [{"item_list_id": "4-4"}]})  # fmt: skip


def test_modified_date_keeps_its_offset_and_drops_microseconds():
    moment = dt.datetime(2024, 3, 1, 8, 30, 15, 999, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    fragment = render_request("CustomerQuery", "r", {"from_modified_date": moment})
    assert "<FromModifiedDate>2024-03-01T08:30:15-08:00</FromModifiedDate>" in fragment


def test_an_empty_include_list_asks_for_whole_records():
    assert "IncludeRetElement" in render_request("ItemQuery", "r", {})
    assert "IncludeRetElement" not in render_request("ItemQuery", "r", {"include_ret_elements": []})
    custom = render_request("ItemQuery", "r", {"include_ret_elements": ["ListID", "QuantityOnHand"]})
    assert custom.count("<IncludeRetElement>") == 2


def test_message_set_carries_each_request_id_and_the_version(schema_errors):
    fragments = [render_request("TermsQuery", f"op-{n}", {}) for n in range(3)]
    document = render_message_set(fragments, QbxmlVersion(8, 0))
    root = etree.fromstring(document.encode())
    assert [e.get("requestID") for e in root.find("QBXMLMsgsRq")] == ["op-0", "op-1", "op-2"]
    assert root.find("QBXMLMsgsRq").get("onError") == "continueOnError"
    assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="8.0"?>')
    assert schema_errors(fragments) == []


@pytest.mark.parametrize(
    ("fragments", "on_error", "reason"),
    [
        (["<TermsQueryRq requestID='a'/>", "<TermsQueryRq requestID='a'/>"], "continueOnError", "unique"),
        (["<TermsQueryRq/>"], "continueOnError", "requestID"),
        (["<TermsQueryRq requestID='a'>"], "continueOnError", "not a rendered"),
        (["plain text & <stuff>"], "continueOnError", "not a rendered"),
        ([], "continueOnError", "at least one"),
        (["<TermsQueryRq requestID='a'/>"], "keepGoing", "onError"),
    ],
)
def test_message_sets_refuse_what_is_not_a_set_of_rendered_requests(fragments, on_error, reason):
    with pytest.raises(OurBug, match=reason):
        render_message_set(fragments, on_error=on_error)


def test_splitting_respects_count_and_size_and_keeps_order():
    requests = [render_request("TermsQuery", f"op-{n:03}", {}) for n in range(120)]
    sets = split_message_sets(requests)
    assert [len(s) for s in sets] == [50, 50, 20]
    assert [r for s in sets for r in s] == requests
    small = split_message_sets(requests, max_requests=1000, max_bytes=2000)
    assert all(len(render_message_set(s).encode()) <= 2000 for s in small)
    assert [r for s in small for r in s] == requests and len(small) > 1


def test_a_request_bigger_than_the_limit_travels_alone(caplog):
    big = render_request("InvoiceAdd", "big", {"customer_list_id": "3-3", "memo": "m" * 4000,
                                              "lines": [{"item_list_id": "4-4"}]})  # fmt: skip
    small = render_request("TermsQuery", "small", {})
    assert split_message_sets([small, big, small], max_bytes=1000) == [[small], [big], [small]]
    assert any("exceeds" in r.getMessage() for r in caplog.records)
