"""Every kind of response the fake QuickBooks produces is valid against Intuit's XSD."""
from __future__ import annotations

from decimal import Decimal

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
    "payments": (
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Acme Corp</FullName></CustomerRef><RefNumber>88</RefNumber>"
        "<InvoiceLineAdd><Desc>Work</Desc><Amount>40.00</Amount></InvoiceLineAdd></InvoiceAdd></InvoiceAddRq>"
        "<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Acme Corp</FullName></CustomerRef>"
        "<RefNumber>CHK-1</RefNumber><TotalAmount>15.00</TotalAmount><IsAutoApply>true</IsAutoApply>"
        "</ReceivePaymentAdd></ReceivePaymentAddRq>"
        "<InvoiceQueryRq><RefNumber>88</RefNumber></InvoiceQueryRq>"
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


def test_a_payment_received_against_an_invoice_lowers_what_it_owes(processor, company, qbxml_schema):
    session = processor.begin_session()

    def ask(body: str) -> etree._Element:
        result = session.process(message_set(body, on_error="stopOnError"))
        assert result.hresult == "", result.detail
        document = etree.fromstring(result.response.encode("utf-8"), PARSER)
        assert qbxml_schema.validate(document), qbxml_schema.error_log.last_error
        return document

    added = ask("<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Acme Corp</FullName></CustomerRef>"
                "<RefNumber>99</RefNumber><InvoiceLineAdd><Desc>Work</Desc><Amount>40.00</Amount></InvoiceLineAdd>"
                "</InvoiceAdd></InvoiceAddRq>")
    txn_id = added.findtext(".//InvoiceRet/TxnID")

    def pay(amount: str) -> etree._Element:
        return ask("<ReceivePaymentAddRq><ReceivePaymentAdd><CustomerRef><FullName>Acme Corp</FullName></CustomerRef>"
                   f"<TotalAmount>{amount}</TotalAmount><AppliedToTxnAdd><TxnID>{txn_id}</TxnID>"
                   f"<PaymentAmount>{amount}</PaymentAmount></AppliedToTxnAdd></ReceivePaymentAdd>"
                   "</ReceivePaymentAddRq>")

    first = pay("15.00")
    assert first.find(".//ReceivePaymentAddRs").get("statusCode") == "0"
    assert first.findtext(".//AppliedToTxnRet/BalanceRemaining") == "25.00"
    invoice = ask(f"<InvoiceQueryRq><TxnID>{txn_id}</TxnID></InvoiceQueryRq>").find(".//InvoiceRet")
    assert (invoice.findtext("AppliedAmount"), invoice.findtext("BalanceRemaining"), invoice.findtext("IsPaid")) == (
        "-15.00", "25.00", "false")
    too_much = pay("30.00").find(".//ReceivePaymentAddRs")
    assert too_much.get("statusCode") == "3250"  # an unused payment (a credit) is not modelled
    pay("25.00")
    invoice = ask(f"<InvoiceQueryRq><TxnID>{txn_id}</TxnID></InvoiceQueryRq>").find(".//InvoiceRet")
    assert (invoice.findtext("BalanceRemaining"), invoice.findtext("IsPaid")) == ("0.00", "true")
    paid = company.invoices[txn_id]
    assert [p.amount for p in paid.payments] == [Decimal("15.00"), Decimal("25.00")]
    assert ask("<InvoiceQueryRq><PaidStatus>PaidOnly</PaidStatus></InvoiceQueryRq>").findtext(
        ".//InvoiceRet/TxnID") == txn_id
