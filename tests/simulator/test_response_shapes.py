"""Every kind of response the fake QuickBooks produces is valid against Intuit's XSD."""
from __future__ import annotations

import pytest
from lxml import etree

from qbwc_bridge.simulator import SimulatorBug, rets
from tests.simulator.conftest import OWNER_ID, message_set

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)

REQUESTS = {
    "host/company/preferences": "<HostQueryRq/><CompanyQueryRq><OwnerID>" + OWNER_ID + "</OwnerID></CompanyQueryRq>"
                                "<PreferencesQueryRq/>",
    "terms": "<TermsQueryRq/><StandardTermsQueryRq/><DateDrivenTermsQueryRq/>",
    "accounts": "<AccountQueryRq><AccountType>Income</AccountType></AccountQueryRq>",
    "items": "<ItemQueryRq><ActiveStatus>All</ActiveStatus></ItemQueryRq><ItemServiceQueryRq/>"
             "<ItemNonInventoryQueryRq/><ItemInventoryQueryRq/><ItemOtherChargeQueryRq/>",
    "customers": "<CustomerQueryRq iterator='Start'><MaxReturned>2</MaxReturned></CustomerQueryRq>",
    "include-ret-element": "<CustomerQueryRq><IncludeRetElement>Email</IncludeRetElement></CustomerQueryRq>",
    "adds": (
        "<CustomerAddRq requestID='c'><CustomerAdd><Name>Omega</Name><CompanyName>Omega Co</CompanyName>"
        "<FirstName>O</FirstName><LastName>Mega</LastName><BillAddress><Addr1>2 Side St</Addr1><City>Town</City>"
        "</BillAddress><Phone>555</Phone><Email>o@omega.test</Email><TermsRef><FullName>Net 30</FullName></TermsRef>"
        "</CustomerAdd></CustomerAddRq>"
        "<ItemOtherChargeAddRq><ItemOtherChargeAdd><Name>Setup fee</Name><SalesOrPurchase><Price>5.00</Price>"
        "<AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemOtherChargeAdd>"
        "</ItemOtherChargeAddRq>"
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Omega</FullName></CustomerRef><RefNumber>77</RefNumber>"
        "<PONumber>PO-1</PONumber><Memo>memo</Memo><ExternalGUID>{11111111-2222-3333-4444-555555555555}"
        "</ExternalGUID><InvoiceLineAdd><ItemRef><FullName>Setup fee</FullName></ItemRef></InvoiceLineAdd>"
        "<InvoiceLineAdd><Desc>A note line</Desc></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
        "<InvoiceQueryRq><RefNumber>77</RefNumber><IncludeLineItems>true</IncludeLineItems></InvoiceQueryRq>"
    ),
    "statuses": "<CustomerAddRq requestID='dup'><CustomerAdd><Name>Acme Corp</Name></CustomerAdd></CustomerAddRq>"
                "<CustomerQueryRq><FullName>Nobody</FullName></CustomerQueryRq>"
                "<InvoiceQueryRq><RefNumber>none</RefNumber></InvoiceQueryRq><VendorQueryRq/>",
}


@pytest.mark.parametrize("body", REQUESTS.values(), ids=REQUESTS.keys())
def test_each_response_validates_against_the_xsd(processor, qbxml_schema, body):
    session = processor.begin_session()
    result = session.process(message_set(body, on_error="continueOnError"))
    assert result.hresult == "", result.detail
    document = etree.fromstring(result.response.encode("utf-8"), PARSER)
    assert qbxml_schema.validate(document), qbxml_schema.error_log.last_error
    asked = etree.fromstring(f"<r>{body}</r>".encode(), PARSER)
    assert [rs.tag for rs in document.find("QBXMLMsgsRs")] == [rq.tag[:-2] + "Rs" for rq in asked]


def test_the_hcp_response_validates_and_carries_the_file_id(processor, company, qbxml_schema):
    company.set_data_extension(OWNER_ID, "FileID", "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}")
    hcp = processor.begin_session().host_company_preferences(OWNER_ID)
    document = etree.fromstring(hcp.encode("utf-8"), PARSER)
    assert qbxml_schema.validate(document), qbxml_schema.error_log.last_error
    extension = document.find(".//CompanyRet/DataExtRet")
    assert (extension.findtext("OwnerID"), extension.findtext("DataExtName"), extension.findtext("DataExtValue")) == \
        (OWNER_ID, "FileID", "{90A44FB5-33D9-4815-AC85-BC87A7E7D1EB}")
    assert document.findtext(".//HostRet/SupportedQBXMLVersion[last()]") == "13.0"


def test_a_response_in_the_wrong_order_is_caught_as_a_simulator_bug(processor, monkeypatch):
    original = rets.customer_ret

    def swapped(company, customer):
        ret = original(company, customer)
        ret.insert(0, ret.find("Name"))
        return ret

    monkeypatch.setattr(rets, "customer_ret", swapped)
    monkeypatch.setattr("qbwc_bridge.simulator.queries.customer_ret", swapped)
    with pytest.raises(SimulatorBug):
        processor.begin_session().process(message_set("<CustomerQueryRq/>"))
