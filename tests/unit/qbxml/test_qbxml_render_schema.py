"""Whatever data arrives, a rendered request is one QuickBooks accepts - or it is refused before sending.

Checked independently of our own field tables: Intuit's 13.0 XSD, and Intuit's
annotated samples for every emitted element's maximum length and version.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import render_request
from qbwc_bridge.backends.desktop.qbxml.render import REQUESTS
from qbwc_bridge.errors import DataError
from tests.unit.qbxml.strategies import VERSIONS, request_data

REQUEST_TYPES = sorted(REQUESTS)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _leaves(element: etree._Element, path: tuple[str, ...] = ()):
    path = path + (element.tag,)
    yield path, element
    for child in element:
        yield from _leaves(child, path)


def assert_sendable(fragment: str, version, schema_errors, annotations) -> None:
    """Valid per the XSD; every element known to Intuit, not newer than ``version``, within its max length."""
    assert schema_errors([fragment], version) == []
    root = etree.fromstring(fragment.encode("utf-8"))
    for path, element in _leaves(root):
        annotation = annotations.get(path)
        assert annotation is not None, f"{'/'.join(path)} is not in Intuit's annotated samples"
        assert annotation.version <= version, f"{'/'.join(path)} needs qbXML {annotation.version}, rendered for {version}"
        text = element.text or ""
        if len(element) == 0:
            assert all(ord(c) <= 0xFF for c in text), f"{'/'.join(path)} is not Latin-1: {text!r}"
            if annotation.max_length_qbd is not None:
                assert len(text) <= annotation.max_length_qbd, f"{'/'.join(path)} longer than Intuit allows"


@pytest.mark.parametrize("request_type", REQUEST_TYPES)
def test_sendable_data_always_renders_valid_qbxml(request_type, schema_errors, annotations):
    @SETTINGS
    @given(data=request_data(request_type, sendable=True), version=st.sampled_from(VERSIONS))
    def check(data, version):
        fragment = render_request(request_type, "req-1", data, version)
        assert_sendable(fragment, version, schema_errors, annotations)

    check()


@pytest.mark.parametrize("request_type", REQUEST_TYPES)
def test_hostile_data_renders_valid_qbxml_or_is_refused_clearly(request_type, schema_errors, annotations):
    @SETTINGS
    @given(data=request_data(request_type, sendable=False), version=st.sampled_from(VERSIONS))
    def check(data, version):
        try:
            fragment = render_request(request_type, "req-1", data, version)
        except DataError as error:
            assert error.record and error.field
            assert error.record in str(error), "the message names the record"
            top_key = error.field.split(".")[0].split("[")[0]
            assert top_key in data or REQUESTS[request_type].fields[top_key].required
            return
        assert_sendable(fragment, version, schema_errors, annotations)

    check()


@SETTINGS
@given(name=st.text(st.characters(codec="latin-1", exclude_categories=["Cc", "Zs"]), min_size=1, max_size=31))
def test_a_latin1_name_arrives_exactly_as_typed(name):
    data = {"name": name, "income_account_list_id": "80000001-1", "expense_account_list_id": "80000002-1"}
    try:
        fragment = render_request("ItemServiceAdd", "r", data)
    except DataError:
        # Only the characters we deliberately remove (soft hyphen) can empty a name.
        assert name.replace("\u00ad", "").strip() == ""
        return
    rendered = etree.fromstring(fragment.encode("utf-8")).findtext("ItemServiceAdd/Name")
    assert rendered == name.replace("\u00ad", "").strip()
