"""Typical requests render exactly as reviewed (golden files), and escaping survives the round trip."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import QbxmlVersion, render_message_set, render_request
from tests.unit.qbxml.typical_requests import TYPICAL
from tests.unit.qbxml.xml_compare import assert_xml_equal

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_typical_request_matches_its_golden_file(name, schema_errors):
    request_type, data = TYPICAL[name]
    fragment = render_request(request_type, f"{name}-1", data)
    assert_xml_equal(fragment, (GOLDEN / f"{name}.xml").read_text(encoding="utf-8"))
    assert schema_errors([fragment]) == []


def test_message_set_matches_its_golden_file():
    fragments = [render_request(TYPICAL[name][0], f"{name}-1", TYPICAL[name][1]) for name in ("item_query_start", "invoice_add")]
    document = render_message_set(fragments, QbxmlVersion(13, 0), on_error="stopOnError")
    assert document.startswith('<?xml version="1.0" encoding="utf-8"?>\n<?qbxml version="13.0"?>\n')
    assert_xml_equal(document, (GOLDEN / "message_set.xml").read_text(encoding="utf-8"))


def test_special_characters_are_escaped_not_interpreted():
    data = {"name": 'A&B <"quoted"> \'x\' ]]>', "income_account_list_id": "1-1", "expense_account_list_id": "2-2"}
    fragment = render_request("ItemServiceAdd", 'id&"<>', data)
    root = etree.fromstring(fragment.encode("utf-8"))
    assert root.get("requestID") == 'id&"<>'
    assert root.findtext("ItemServiceAdd/Name") == 'A&B <"quoted"> \'x\' ]]>'
    assert len(root.findall("ItemServiceAdd/*")) == 2  # Name and SalesAndPurchase: nothing injected
