"""Deletions and merges made "in QuickBooks", and what ListDeletedQuery / TxnDeletedQuery tell of them."""
from __future__ import annotations

from decimal import Decimal

import pytest
from lxml import etree

from qbwc_bridge.simulator import RequestProcessor, load_company, save_company
from tests.simulator.conftest import message_set

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


@pytest.fixture()
def session(processor: RequestProcessor):
    opened = processor.begin_session()
    yield opened
    opened.end()


def answer(session, body: str) -> etree._Element:
    result = session.process(message_set(body))
    assert not result.refused, result.detail
    return etree.fromstring(result.response.encode("utf-8"), PARSER).find("QBXMLMsgsRs")[0]


def add_invoice(session, customer: str, item: str, ref: str) -> str:
    rs = answer(session, f"<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>{customer}</FullName></CustomerRef>"
                         f"<RefNumber>{ref}</RefNumber><InvoiceLineAdd><ItemRef><FullName>{item}</FullName></ItemRef>"
                         "<Quantity>1</Quantity></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>")
    assert rs.get("statusCode") == "0", rs.get("statusMessage")
    return rs.findtext("InvoiceRet/TxnID")


def test_a_deleted_item_is_reported_with_its_type_and_time_and_filtered_by_deletion_date(session, company, clock):
    cable = company.item_named("Cable").stamp.id
    company.delete_list_record(cable)
    clock.advance(hours=2)
    company.delete_list_record(company.customer_named("Gamma Inc").stamp.id)

    rs = answer(session, "<ListDeletedQueryRq><ListDelType>ItemNonInventory</ListDelType>"
                         "<ListDelType>Customer</ListDelType></ListDeletedQueryRq>")
    assert [(r.findtext("ListDelType"), r.findtext("FullName")) for r in rs] == [
        ("ItemNonInventory", "Cable"), ("Customer", "Gamma Inc")]
    assert rs[0].findtext("ListID") == cable and rs[0].findtext("TimeDeleted") == "2024-03-01T09:00:00-05:00"

    later = answer(session, "<ListDeletedQueryRq><ListDelType>ItemNonInventory</ListDelType><ListDelType>Customer"
                            "</ListDelType><DeletedDateRangeFilter><FromDeletedDate>2024-03-01T10:00:00-05:00"
                            "</FromDeletedDate></DeletedDateRangeFilter></ListDeletedQueryRq>")
    assert [r.findtext("FullName") for r in later] == ["Gamma Inc"]
    services = answer(session, "<ListDeletedQueryRq><ListDelType>ItemService</ListDelType></ListDeletedQueryRq>")
    assert services.get("statusCode") == "1" and len(services) == 0

    clock.advance(days=90, minutes=-60)  # QuickBooks keeps deletions for 90 days: the first is forgotten
    kept = answer(session, "<ListDeletedQueryRq><ListDelType>ItemNonInventory</ListDelType><ListDelType>Customer"
                           "</ListDelType></ListDeletedQueryRq>")
    assert [r.findtext("FullName") for r in kept] == ["Gamma Inc"]


def test_a_merge_moves_references_to_the_survivor_and_reports_the_merged_away_record_deleted(session, company,
                                                                                             clock):
    acme, beta = company.customer_named("Acme Corp"), company.customer_named("Beta LLC")
    txn_id = add_invoice(session, "Acme Corp", "Installation", "M-1")
    survivor_sequence = beta.stamp.edit_sequence
    clock.advance(minutes=5)
    company.merge(acme.stamp.id, beta.stamp.id)

    assert company.customer_named("Acme Corp") is None
    assert company.invoices[txn_id].customer_id == beta.stamp.id
    assert beta.balance == Decimal("75.00") and beta.stamp.edit_sequence != survivor_sequence
    rs = answer(session, "<ListDeletedQueryRq><ListDelType>Customer</ListDelType></ListDeletedQueryRq>")
    assert [(r.findtext("ListID"), r.findtext("FullName")) for r in rs] == [(acme.stamp.id, "Acme Corp")]
    with pytest.raises(ValueError):
        company.merge(company.item_named("Installation").stamp.id, company.item_named("Cable").stamp.id)


def test_a_deleted_invoice_is_reported_by_txn_deleted_query_and_leaves_the_balance(session, company):
    txn_id = add_invoice(session, "Acme Corp", "Installation", "D-1")
    company.delete_invoice(txn_id)

    assert txn_id not in company.invoices and company.customer_named("Acme Corp").balance == Decimal("0.00")
    rs = answer(session, "<TxnDeletedQueryRq><TxnDelType>Invoice</TxnDelType></TxnDeletedQueryRq>")
    assert [(r.findtext("TxnDelType"), r.findtext("TxnID"), r.findtext("RefNumber")) for r in rs] == [
        ("Invoice", txn_id, "D-1")]


def test_a_deleted_query_without_a_type_or_with_an_unknown_one_refuses_the_message_set(session):
    for body in ("<ListDeletedQueryRq></ListDeletedQueryRq>",
                 "<TxnDeletedQueryRq><TxnDelType>Widget</TxnDelType></TxnDeletedQueryRq>",
                 "<ListDeletedQueryRq><DeletedDateRangeFilter/><ListDelType>Customer</ListDelType>"
                 "</ListDeletedQueryRq>"):
        result = session.process(message_set(body))
        assert result.refused and result.hresult == "0x80040400", body


def test_a_saved_company_remembers_its_deletions_and_merges(company, processor, tmp_path):
    session = processor.begin_session()
    txn_id = add_invoice(session, "Acme Corp", "Installation", "S-1")
    session.end()
    company.delete_invoice(txn_id)
    company.merge(company.customer_named("Gamma Inc").stamp.id, company.customer_named("Beta LLC").stamp.id)
    path = tmp_path / "company.json"
    save_company(company, path)

    reloaded = load_company(path)
    assert reloaded.deleted_txns == company.deleted_txns and len(reloaded.deleted_txns) == 1
    assert reloaded.deleted_list_records == company.deleted_list_records
    assert [d.name for d in reloaded.deleted_list_records] == ["Gamma Inc"]
