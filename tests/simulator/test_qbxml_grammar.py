"""The fake's built-in qbXML checks refuse whatever Intuit's XSD and annotated lengths refuse,
for every request the bridge sends, so ``qbwc-bridge simulate`` without ``shared/`` is no
more forgiving than with it."""
from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from qbwc_bridge.backends.desktop.qbxml import render_message_set, render_request
from qbwc_bridge.backends.desktop.qbxml.render import REQUESTS
from qbwc_bridge.simulator import RequestProcessor
from qbwc_bridge.simulator.qbxml_grammar import REQUESTS as GRAMMAR
from tests.simulator.conftest import DESCRIPTION
from tests.unit.qbxml.strategies import request_data
from tests.unit.qbxml.typical_requests import TYPICAL
from qbwc_bridge.simulator import company_from_description

TOO_LONG = 3070
OVER_LONG = "Q" * 5000


def _processors(schema_folder) -> tuple[RequestProcessor, RequestProcessor]:
    return (RequestProcessor(company_from_description(DESCRIPTION), None),
            RequestProcessor(company_from_description(DESCRIPTION), schema_folder))


def _refusal(processor: RequestProcessor, document: etree._Element) -> str:
    """Why QuickBooks would refuse ``document`` (a parse error or status 3070), or '' when it would not."""
    text = '<?xml version="1.0"?><?qbxml version="13.0"?>' + etree.tostring(document, encoding="unicode")
    result = processor.begin_session().process(text)
    if result.refused:
        return result.detail
    too_long = [rs for rs in etree.fromstring(result.response.split("?>", 1)[1].encode()).iter()
                if rs.get("statusCode") == str(TOO_LONG)]
    return too_long[0].get("statusMessage") if too_long else ""


def _document(request_type: str, data: dict) -> etree._Element:
    text = render_message_set([render_request(request_type, "r", data)])
    return etree.fromstring(text.split("?>", 2)[2].encode("utf-8"))


def _leaves_and_parents(document: etree._Element) -> tuple[list[etree._Element], list[etree._Element]]:
    request = document.find("QBXMLMsgsRq")[0]
    elements = [e for e in request.iter() if e is not request and isinstance(e.tag, str)]
    return [e for e in elements if not len(e)], [request] + [e for e in elements if len(e)]


def _path(element: etree._Element) -> list[int]:
    steps = []
    while element.getparent() is not None:
        steps.append(element.getparent().index(element))
        element = element.getparent()
    return steps[::-1]


def _at(document: etree._Element, steps: list[int]) -> etree._Element:
    for step in steps:
        document = document[step]
    return document


def mutations(document: etree._Element) -> Iterator[tuple[str, etree._Element]]:
    """Every single-step breakage: drop, swap neighbours, repeat, over-long text, bad value, unknown element."""
    leaves, parents = _leaves_and_parents(document)
    elements = [e for e in document.find("QBXMLMsgsRq")[0].iter() if isinstance(e.tag, str)][1:]
    for kind, targets in (("drop", elements), ("repeat", elements), ("over-long", leaves), ("bad value", leaves)):
        for target in targets:
            mutant = copy.deepcopy(document)
            element = _at(mutant, _path(target))
            if kind == "drop":
                element.getparent().remove(element)
            elif kind == "repeat":
                element.addnext(copy.deepcopy(element))
            elif kind == "over-long":
                element.text = OVER_LONG
            else:
                element.text = "NotAValue"
            yield f"{kind} {target.tag}", mutant
    for target in elements:
        following = target.getnext()
        if following is not None and following.tag != target.tag:
            mutant = copy.deepcopy(document)
            element = _at(mutant, _path(target))
            element.addprevious(element.getnext())
            yield f"swap {target.tag} and {following.tag}", mutant
    for parent in parents:
        for position in range(len(parent) + 1):
            mutant = copy.deepcopy(document)
            _at(mutant, _path(parent)).insert(position, etree.Element("Unknown"))
            yield f"unknown element in {parent.tag} at {position}", mutant


def test_the_grammar_covers_every_request_the_bridge_sends():
    assert {f"{name}Rq" for name in REQUESTS} <= set(GRAMMAR)


@pytest.mark.parametrize("name", sorted(TYPICAL))
def test_builtin_checks_refuse_every_breakage_the_xsd_refuses(name, schema_folder):
    builtin, intuit = _processors(schema_folder)
    document = _document(*TYPICAL[name])
    assert _refusal(builtin, document) == "" and _refusal(intuit, document) == ""
    refused_by_intuit = 0
    for mutation, mutant in mutations(document):
        if _refusal(intuit, mutant):
            refused_by_intuit += 1
            assert _refusal(builtin, mutant), f"{name}: {mutation} passes the built-in checks but not Intuit's"
    assert refused_by_intuit > 0


@pytest.mark.parametrize("request_type", sorted(REQUESTS))
def test_generated_requests_pass_both_and_their_breakages_are_refused_by_both(request_type, schema_folder):
    builtin, intuit = _processors(schema_folder)

    @settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=request_data(request_type, sendable=True), pick=st.randoms(use_true_random=False))
    def check(data, pick):
        document = _document(request_type, data)
        assert _refusal(intuit, document) == "", "the bridge rendered a request Intuit refuses"
        assert _refusal(builtin, document) == "", "the built-in checks refuse a valid request"
        mutation, mutant = pick.choice(list(mutations(document)))
        if _refusal(intuit, mutant):
            assert _refusal(builtin, mutant), f"{mutation} passes the built-in checks but not Intuit's"

    check()


def test_a_refusal_names_the_element_path_like_a_quickbooks_parse_error():
    document = _document(*TYPICAL["customer_add"])
    add = document.find("QBXMLMsgsRq/CustomerAddRq/CustomerAdd")
    add.insert(0, add.find("Email"))
    text = '<?xml version="1.0"?><?qbxml version="13.0"?>' + etree.tostring(document, encoding="unicode")
    result = RequestProcessor(company_from_description(DESCRIPTION)).begin_session().process(text)
    assert result.hresult == "0x80040400" and result.response == ""
    assert "CustomerAddRq/CustomerAdd/Email" in result.detail
