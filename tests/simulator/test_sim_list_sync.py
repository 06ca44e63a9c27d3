"""What list sync relies on in the fake QuickBooks: iterators over changed records, names found at once."""
from __future__ import annotations

import time

import pytest
from lxml import etree

from qbwc_bridge.simulator import company_from_description
from qbwc_bridge.simulator.company import QuickBooksStatus
from qbwc_bridge.simulator.records import EntityKind
from qbwc_bridge.simulator.seeding import add_entity, add_item
from tests.simulator.conftest import DESCRIPTION, message_set

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@pytest.fixture()
def session(processor):
    opened = processor.begin_session()
    yield opened
    opened.end()


def answer(session, body: str) -> etree._Element:
    result = session.process(message_set(body))
    assert not result.refused, result.detail
    return etree.fromstring(result.response.encode("utf-8"), PARSER).find("QBXMLMsgsRs")[0]


def test_an_iterator_pages_every_item_changed_since_a_date_inactive_ones_included(session, company, clock):
    clock.advance(days=1)
    since = clock().isoformat()
    clock.advance(minutes=5)
    changed = ["Cable", "Freight", "Old Service"]
    for name in changed:
        company.set_active(company.item_named(name).stamp.id, name != "Old Service")
    query = (f"<ItemQueryRq requestID=\"1\" iterator=\"{{}}\"{{}}><MaxReturned>2</MaxReturned>"
             f"<ActiveStatus>All</ActiveStatus><FromModifiedDate>{since}</FromModifiedDate>"
             f"<IncludeRetElement>Name</IncludeRetElement></ItemQueryRq>")
    first = answer(session, query.format("Start", ""))
    assert first.get("iteratorRemainingCount") == "1"
    company.rename(company.item_named("Installation").stamp.id, "Install")  # edits between pages do not disturb it
    second = answer(session, query.format("Continue", f' iteratorID="{first.get("iteratorID")}"'))
    assert second.get("iteratorRemainingCount") == "0"
    names = [ret.findtext("Name") for rs in (first, second) for ret in rs]
    assert sorted(names) == sorted(changed)


def test_an_iterator_of_an_earlier_quickbooks_session_is_refused_with_3391(processor):
    first = processor.begin_session()
    start = answer(first, '<CustomerQueryRq requestID="1" iterator="Start"><MaxReturned>1</MaxReturned>'
                          '</CustomerQueryRq>')
    first.end()
    later = processor.begin_session()
    gone = answer(later, f'<CustomerQueryRq requestID="2" iterator="Continue" iteratorID="{start.get("iteratorID")}">'
                         "<MaxReturned>1</MaxReturned></CustomerQueryRq>")
    assert gone.get("statusCode") == "3391"


def test_names_are_taken_ignoring_case_and_freed_by_a_rename(company):
    widget = company.item_named("widget-1")
    assert widget is not None and widget.name == "WIDGET-1"
    with pytest.raises(QuickBooksStatus) as taken:
        add_item(company, {"kind": "service", "name": "Widget-1", "account": "Services"})
    assert taken.value.code == 3100
    company.rename(widget.stamp.id, "WIDGET-2")
    assert add_item(company, {"kind": "service", "name": "widget-1", "account": "Services"}).name == "widget-1"
    with pytest.raises(QuickBooksStatus):
        add_entity(company, EntityKind.CUSTOMER, {"name": "BOLT SUPPLY"})  # a vendor holds it: one namespace
    assert company.find_entity(EntityKind.VENDOR, full_name="bolt supply").name == "Bolt Supply"


def test_a_big_company_seeds_in_linear_time():
    """6k items and customers: a second, where a name scan per add took most of a minute."""
    company = company_from_description({})
    started = time.process_time()
    for n in range(6_000):
        add_item(company, {"kind": "service", "name": f"SKU-{n:05d}", "account": "Services"})
        add_entity(company, EntityKind.CUSTOMER, {"name": f"Customer {n:05d}"})
    assert time.process_time() - started < 5
    assert company.counts()["items"] == company.counts()["customers"] == 6_000


def test_a_record_in_use_cannot_be_deleted_and_a_deleted_name_is_free():
    company = company_from_description(
        {**DESCRIPTION, "invoices": [{"customer": "Beta LLC", "lines": [{"item": "Cable", "quantity": "1"}]}]})
    company.delete_list_record(company.customer_named("Acme Corp").stamp.id)
    assert company.customer_named("Acme Corp") is None
    assert add_entity(company, EntityKind.CUSTOMER, {"name": "acme corp"}).name == "acme corp"
    for used in (company.item_named("Cable"), company.customer_named("Beta LLC")):
        with pytest.raises(ValueError, match="in use"):
            company.delete_list_record(used.stamp.id)
