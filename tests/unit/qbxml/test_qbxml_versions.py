"""A company that speaks an older qbXML never receives an element it does not know."""
from __future__ import annotations

import logging

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import (
    DEFAULT_VERSION,
    QbxmlVersion,
    render_message_set,
    render_request,
)
from qbwc_bridge.errors import OurBug
from tests.unit.qbxml.typical_requests import TYPICAL

V6, V8 = QbxmlVersion(6, 0), QbxmlVersion(8, 0)


def _render(name: str, version: QbxmlVersion) -> str:
    request_type, data = TYPICAL[name]
    return render_request(request_type, "r", data, version)


def _tags(fragment: str) -> set[str]:
    return {element.tag for element in etree.fromstring(fragment.encode("utf-8")).iter()}


def _texts(fragment: str, tag: str) -> list[str]:
    return [e.text for e in etree.fromstring(fragment.encode("utf-8")).iter(tag)]


def test_versions_parse_order_and_print():
    assert QbxmlVersion.parse("13.0") == DEFAULT_VERSION
    assert str(QbxmlVersion.parse(" 6.1 ")) == "6.1"
    assert QbxmlVersion.parse("6.1") < QbxmlVersion.parse("8.0") < QbxmlVersion.parse("13.0")
    assert QbxmlVersion.parse("10.0") > QbxmlVersion.parse("9.0")  # numeric, not text, order
    with pytest.raises(ValueError, match="not a qbXML version"):
        QbxmlVersion.parse("thirteen")


@pytest.mark.parametrize("version", [V6, V8], ids=str)
@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_older_company_gets_only_elements_of_its_version(name, version, annotations, schema_errors):
    request_type, data = TYPICAL[name]
    fragment = render_request(request_type, "r-1", data, version)
    root = etree.fromstring(fragment.encode("utf-8"))
    for element in root.iter():
        path = tuple(e.tag for e in reversed(list(element.iterancestors()))) + (element.tag,)
        assert annotations[path].version <= version, f"{'/'.join(path)} is qbXML {annotations[path].version}"
    document = render_message_set([fragment], version)
    assert f'<?qbxml version="{version}"?>' in document
    assert schema_errors([fragment], version) == []


def test_a_6_0_company_gets_no_part_number_bar_code_or_external_id():
    non_inventory = _render("item_non_inventory_add", V6)
    service = _render("item_service_add", V6)
    query = _render("item_query_start", V6)
    assert "ManufacturerPartNumber" not in _tags(non_inventory)
    assert {"BarCode", "ExternalGUID"}.isdisjoint(_tags(service))
    assert {"BarCodeValue", "ManufacturerPartNumber"}.isdisjoint(_texts(query, "IncludeRetElement"))
    assert "Name" in _tags(service) and "SalesAndPurchase" in _tags(service)  # the rest is still sent


def test_an_8_0_company_gets_item_external_ids_but_not_invoice_ones():
    service = _render("item_service_add", V8)
    invoice = _render("invoice_add", V8)
    query = _render("item_query_start", V8)
    assert "ExternalGUID" in _tags(service)  # items: qbXML 8.0
    assert "ExternalGUID" not in _tags(invoice)  # invoices: qbXML 9.0
    assert "BarCode" not in _tags(service)  # 12.0
    assert "Addr5" in _tags(invoice) and "IsToBeEmailed" in _tags(invoice)  # 6.0
    assert "ManufacturerPartNumber" in _texts(query, "IncludeRetElement")
    assert "BarCodeValue" not in _texts(query, "IncludeRetElement")


def test_dropping_a_newer_element_is_logged_at_debug(caplog):
    with caplog.at_level(logging.DEBUG, logger="qbwc_bridge.backends.desktop.qbxml"):
        _render("invoice_add", V8)
    assert any("external_guid" in r.getMessage() and "9.0" in r.getMessage() for r in caplog.records)
    assert all(r.levelno == logging.DEBUG for r in caplog.records)


@pytest.mark.parametrize("version", [QbxmlVersion(4, 1), QbxmlVersion(14, 0)], ids=str)
def test_versions_we_cannot_render_for_are_refused(version):
    with pytest.raises(OurBug, match="cannot render"):
        render_request("TermsQuery", "r", {}, version)
