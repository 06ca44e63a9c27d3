"""The fake QuickBooks refuses and answers what the real one refuses and answers."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from qbwc_bridge.simulator import Faults, RequestProcessor
from qbwc_bridge.simulator.records import Entity, EntityKind
from qbwc_bridge.simulator.request_processor import ConnectionFailure
from tests.simulator.conftest import message_set

PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def statuses(response: str) -> list[tuple[str, str, str]]:
    root = etree.fromstring(response.encode("utf-8"), PARSER)
    return [(rs.tag, rs.get("statusCode"), rs.get("requestID")) for rs in root.find("QBXMLMsgsRs")]


def rets(response: str, tag: str) -> list[etree._Element]:
    return etree.fromstring(response.encode("utf-8"), PARSER).findall(f".//{tag}")


def invoice_add(customer: str = "Acme Corp", lines: str = "", ref: str = "1001", extra: str = "") -> str:
    lines = lines or "<InvoiceLineAdd><ItemRef><FullName>Installation</FullName></ItemRef>" \
                     "<Quantity>2</Quantity></InvoiceLineAdd>"
    return (f"<InvoiceAddRq requestID=\"inv-{ref}\"><InvoiceAdd><CustomerRef><FullName>{customer}</FullName>"
            f"</CustomerRef><TxnDate>2024-03-01</TxnDate><RefNumber>{ref}</RefNumber>{extra}{lines}</InvoiceAdd>"
            f"</InvoiceAddRq>")


@pytest.fixture()
def session(processor: RequestProcessor):
    opened = processor.begin_session()
    yield opened
    opened.end()


# ----------------------------------------------------------------- the whole message set is refused
def test_memo_before_refnumber_is_a_parse_error_and_nothing_is_saved(session, company):
    bad = ("<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Acme Corp</FullName></CustomerRef>"
           "<Memo>out of order</Memo><RefNumber>1001</RefNumber></InvoiceAdd></InvoiceAddRq>")
    result = session.process(message_set(bad))
    assert (result.response, result.hresult) == ("", "0x80040400")
    assert result.message == "QuickBooks found an error when parsing the provided XML text stream."
    assert "RefNumber" in result.detail
    assert company.invoices_by_ref("1001") == []


def test_a_name_outside_latin1_refuses_the_message_set(session, company):
    result = session.process(message_set("<CustomerAddRq><CustomerAdd><Name>Zhang 张</Name></CustomerAdd>"
                                         "</CustomerAddRq>"))
    assert result.hresult == "0x80040400" and result.response == ""
    assert "U+5F20" in result.detail
    assert company.customer_named("Zhang 张") is None


def test_latin1_accents_are_stored_as_typed(session, company):
    result = session.process(message_set("<CustomerAddRq><CustomerAdd><Name>Café Müller</Name></CustomerAdd>"
                                         "</CustomerAddRq>"))
    assert statuses(result.response) == [("CustomerAddRs", "0", None)]
    assert company.customer_named("café müller").name == "Café Müller"


@pytest.mark.parametrize("body", ["not xml at all", "<QBXML><QBXMLMsgsRq onError='stopOnError'>"])
def test_not_well_formed_is_a_parse_error(session, body):
    assert session.process(body).hresult == "0x80040400"


def test_a_version_above_the_supported_one_is_refused(company, schema_folder):
    company.settings.supported_versions = ("12.0",)
    session = RequestProcessor(company, schema_folder).begin_session()
    result = session.process(message_set("<HostQueryRq/>", version="13.0"))
    assert (result.hresult, result.response) == ("0x80040423", "")


def test_a_missing_qbxml_version_is_a_parse_error(session):
    result = session.process('<?xml version="1.0"?><QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq/>'
                             '</QBXMLMsgsRq></QBXML>')
    assert result.hresult == "0x80040400" and "qbxml version" in result.detail


def test_a_field_newer_than_the_declared_version_is_a_parse_error(session, company):
    add = ("<ItemServiceAddRq><ItemServiceAdd><Name>Scanner</Name><BarCode><BarCodeValue>123</BarCodeValue>"
           "</BarCode><SalesOrPurchase><Price>1.00</Price><AccountRef><FullName>Services</FullName></AccountRef>"
           "</SalesOrPurchase></ItemServiceAdd></ItemServiceAddRq>")
    assert session.process(message_set(add, version="11.0")).hresult == "0x80040400"
    assert company.item_named("Scanner") is None
    assert statuses(session.process(message_set(add, version="12.0")).response)[0][1] == "0"


# ----------------------------------------------------------------- per-request statuses
def test_a_customer_named_like_a_vendor_or_employee_gets_3100(session, company):
    result = session.process(message_set(
        "<CustomerAddRq requestID='1'><CustomerAdd><Name>bolt supply</Name></CustomerAdd></CustomerAddRq>"
        "<CustomerAddRq requestID='2'><CustomerAdd><Name>Pat Staff</Name></CustomerAdd></CustomerAddRq>",
        on_error="continueOnError"))
    assert statuses(result.response) == [("CustomerAddRs", "3100", "1"), ("CustomerAddRs", "3100", "2")]
    first = etree.fromstring(result.response.encode(), PARSER).find("QBXMLMsgsRs/CustomerAddRs")
    assert first.get("statusMessage") == 'The name "bolt supply" of the list element is already in use.'
    assert len(company.customers) == 3


def test_item_names_are_unique_across_item_kinds(session):
    add = ("<ItemNonInventoryAddRq><ItemNonInventoryAdd><Name>FREIGHT</Name><SalesOrPurchase><Price>1.00</Price>"
           "<AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemNonInventoryAdd>"
           "</ItemNonInventoryAddRq>")
    assert statuses(session.process(message_set(add)).response)[0][1] == "3100"


def test_an_invoice_for_an_unknown_item_gets_3140_and_is_not_saved(session, company):
    lines = "<InvoiceLineAdd><ItemRef><FullName>No Such Item</FullName></ItemRef></InvoiceLineAdd>"
    result = session.process(message_set(invoice_add(lines=lines)))
    assert statuses(result.response) == [("InvoiceAddRs", "3140", "inv-1001")]
    assert "QuickBooks Item &quot;No Such Item&quot;" in result.response
    assert company.invoices_by_ref("1001") == []


@pytest.mark.parametrize("customer", ["Nobody Ltd", "Bolt Supply", "Gamma Inc"], ids=["unknown", "vendor", "inactive"])
def test_an_invoice_for_a_customer_that_cannot_be_used_gets_3140(session, customer):
    assert statuses(session.process(message_set(invoice_add(customer=customer))).response)[0][1] == "3140"


def test_unknown_terms_and_accounts_get_3140(session):
    terms = invoice_add(extra="<TermsRef><FullName>Net 99</FullName></TermsRef>")
    item = ("<ItemServiceAddRq><ItemServiceAdd><Name>Audit</Name><SalesOrPurchase><Price>1.00</Price>"
            "<AccountRef><FullName>No Account</FullName></AccountRef></SalesOrPurchase></ItemServiceAdd>"
            "</ItemServiceAddRq>")
    codes = [s[1] for s in statuses(session.process(message_set(terms + item, on_error="continueOnError")).response)]
    assert codes == ["3140", "3140"]


def test_a_name_over_the_limit_gets_3070(session, company):
    long_name = "x" * 42
    result = session.process(message_set(f"<CustomerAddRq><CustomerAdd><Name>{long_name}</Name></CustomerAdd>"
                                         f"</CustomerAddRq>"))
    assert statuses(result.response)[0][1] == "3070"
    assert company.customer_named(long_name) is None
    ok = session.process(message_set(f"<CustomerAddRq><CustomerAdd><Name>{'x' * 41}</Name></CustomerAdd>"
                                     f"</CustomerAddRq>"))
    assert statuses(ok.response)[0][1] == "0"


def test_stop_on_error_skips_the_rest_but_continue_on_error_runs_it(session, company):
    body = ("<CustomerAddRq requestID='a'><CustomerAdd><Name>Bolt Supply</Name></CustomerAdd></CustomerAddRq>"
            "<CustomerAddRq requestID='b'><CustomerAdd><Name>Delta One</Name></CustomerAdd></CustomerAddRq>")
    stopped = session.process(message_set(body, on_error="stopOnError"))
    assert statuses(stopped.response) == [("CustomerAddRs", "3100", "a")]
    assert company.customer_named("Delta One") is None
    continued = session.process(message_set(body, on_error="continueOnError"))
    assert statuses(continued.response) == [("CustomerAddRs", "3100", "a"), ("CustomerAddRs", "0", "b")]
    assert company.customer_named("Delta One") is not None


def test_status_1_for_an_empty_filter_and_500_for_a_missing_full_name(session):
    result = session.process(message_set(
        "<CustomerQueryRq requestID='f'><NameFilter><MatchCriterion>StartsWith</MatchCriterion><Name>zzz</Name>"
        "</NameFilter></CustomerQueryRq>"
        "<CustomerQueryRq requestID='n'><FullName>Acme Corp</FullName><FullName>Nobody</FullName></CustomerQueryRq>"
        "<ItemQueryRq requestID='l'><ListID>80000999-1234567890</ListID></ItemQueryRq>"))
    assert statuses(result.response) == [("CustomerQueryRs", "1", "f"), ("CustomerQueryRs", "500", "n"),
                                         ("ItemQueryRs", "500", "l")]
    assert [r.findtext("Name") for r in rets(result.response, "CustomerRet")] == ["Acme Corp"]
    assert 'There was a required element (&quot;Nobody&quot;)' in result.response


def test_an_unimplemented_request_is_answered_3250_not_ignored(session):
    result = session.process(message_set("<VendorQueryRq requestID='v'/>"))
    assert statuses(result.response) == [("VendorQueryRs", "3250", "v")]


# ----------------------------------------------------------------- queries
def test_iterators_page_and_expire_with_the_session(processor, company):
    for n in range(5):
        company.add_entity(lambda stamp, n=n: Entity(stamp, EntityKind.CUSTOMER, f"Zed {n}", f"Zed {n}"))
    first = processor.begin_session()
    start = first.process(message_set("<CustomerQueryRq iterator='Start'><MaxReturned>3</MaxReturned>"
                                      "<ActiveStatus>All</ActiveStatus></CustomerQueryRq>"))
    rs = etree.fromstring(start.response.encode(), PARSER).find("QBXMLMsgsRs/CustomerQueryRs")
    iterator_id = rs.get("iteratorID")
    assert (len(rs), rs.get("iteratorRemainingCount")) == (3, "5")
    names = [r.findtext("Name") for r in rs]
    page2 = first.process(message_set(f"<CustomerQueryRq iterator='Continue' iteratorID='{iterator_id}'>"
                                      f"<MaxReturned>3</MaxReturned><ActiveStatus>All</ActiveStatus></CustomerQueryRq>"))
    rs2 = etree.fromstring(page2.response.encode(), PARSER).find("QBXMLMsgsRs/CustomerQueryRs")
    assert (len(rs2), rs2.get("iteratorRemainingCount")) == (3, "2")
    names += [r.findtext("Name") for r in rs2]
    first.end()
    second = processor.begin_session()
    late = second.process(message_set(f"<CustomerQueryRq iterator='Continue' iteratorID='{iterator_id}'>"
                                      f"<MaxReturned>3</MaxReturned></CustomerQueryRq>"))
    assert statuses(late.response)[0][1] == "3391"
    assert names == sorted(names, key=str.casefold) and len(set(names)) == 6


def test_active_status_max_returned_and_include_ret_element(session):
    result = session.process(message_set(
        "<ItemQueryRq requestID='active'/>"
        "<ItemQueryRq requestID='inactive'><ActiveStatus>InactiveOnly</ActiveStatus></ItemQueryRq>"
        "<ItemQueryRq requestID='two'><MaxReturned>2</MaxReturned><IncludeRetElement>ListID</IncludeRetElement>"
        "<IncludeRetElement>Name</IncludeRetElement></ItemQueryRq>"))
    root = etree.fromstring(result.response.encode(), PARSER).find("QBXMLMsgsRs")
    active, inactive, two = list(root)
    assert sorted(r.tag for r in active) == ["ItemInventoryRet", "ItemNonInventoryRet", "ItemOtherChargeRet",
                                            "ItemServiceRet"]
    assert [r.findtext("Name") for r in inactive] == ["Old Service"]
    assert len(two) == 2 and all([c.tag for c in r] == ["ListID", "Name"] for r in two)


def test_from_modified_date_sees_edits_made_in_quickbooks(session, company, clock):
    acme = company.customer_named("Acme Corp")
    before = acme.stamp.edit_sequence
    clock.advance(hours=2)
    company.set_email(acme.stamp.id, "new@acme.test")
    assert acme.stamp.edit_sequence != before
    result = session.process(message_set("<CustomerQueryRq><FromModifiedDate>2024-03-01T10:00:00-05:00"
                                         "</FromModifiedDate></CustomerQueryRq>"))
    found = rets(result.response, "CustomerRet")
    assert [(r.findtext("Name"), r.findtext("Email")) for r in found] == [("Acme Corp", "new@acme.test")]
    assert found[0].findtext("TimeModified") == "2024-03-01T11:00:00-05:00"


def test_renaming_and_deactivating_in_quickbooks(session, company):
    acme = company.customer_named("Acme Corp")
    company.rename(acme.stamp.id, "Acme Corporation")
    company.deactivate(company.item_named("Freight").stamp.id)
    result = session.process(message_set("<CustomerQueryRq><FullName>Acme Corporation</FullName></CustomerQueryRq>"
                                         "<ItemQueryRq><FullName>Freight</FullName></ItemQueryRq>"))
    assert rets(result.response, "CustomerRet")[0].findtext("ListID") == acme.stamp.id
    assert rets(result.response, "ItemOtherChargeRet")[0].findtext("IsActive") == "false"


# ----------------------------------------------------------------- adds
def test_item_adds_of_every_form(session, company):
    body = (
        "<ItemServiceAddRq requestID='s'><ItemServiceAdd><Name>Repair</Name><SalesAndPurchase><SalesDesc>Repair hour"
        "</SalesDesc><SalesPrice>90.00</SalesPrice><IncomeAccountRef><FullName>Services</FullName></IncomeAccountRef>"
        "<PurchaseCost>40.00</PurchaseCost><ExpenseAccountRef><FullName>Purchases</FullName></ExpenseAccountRef>"
        "</SalesAndPurchase></ItemServiceAdd></ItemServiceAddRq>"
        "<ItemNonInventoryAddRq requestID='n'><ItemNonInventoryAdd><Name>Sticker</Name>"
        "<ManufacturerPartNumber>ST-1</ManufacturerPartNumber><SalesOrPurchase><Desc>Sticker</Desc><Price>0.5</Price>"
        "<AccountRef><FullName>Sales</FullName></AccountRef></SalesOrPurchase></ItemNonInventoryAdd>"
        "</ItemNonInventoryAddRq>"
        "<ItemInventoryAddRq requestID='i'><ItemInventoryAdd><Name>GADGET</Name><SalesDesc>Gadget</SalesDesc>"
        "<SalesPrice>9.99</SalesPrice><IncomeAccountRef><FullName>Sales</FullName></IncomeAccountRef>"
        "<COGSAccountRef><FullName>Cost of Goods Sold</FullName></COGSAccountRef><AssetAccountRef>"
        "<FullName>Inventory Asset</FullName></AssetAccountRef><QuantityOnHand>4</QuantityOnHand>"
        "</ItemInventoryAdd></ItemInventoryAddRq>")
    result = session.process(message_set(body))
    assert [s[1] for s in statuses(result.response)] == ["0", "0", "0"]
    repair, sticker, gadget = (company.item_named(n) for n in ("Repair", "Sticker", "GADGET"))
    assert repair.sales_and_purchase and repair.purchase_cost == Decimal("40.00")
    assert sticker.manufacturer_part_number == "ST-1" and sticker.price == Decimal("0.5")
    assert gadget.quantity_on_hand == Decimal("4")
    assert rets(result.response, "ItemNonInventoryRet")[0].findtext("SalesOrPurchase/Price") == "0.50"
    assert repair.stamp.id.startswith("8000") and "-" in repair.stamp.id


def test_invoice_add_applies_the_customers_terms_and_computes_amounts(session, company):
    lines = ("<InvoiceLineAdd><ItemRef><FullName>WIDGET-1</FullName></ItemRef><Quantity>3</Quantity>"
             "<Rate>1.335</Rate></InvoiceLineAdd>"
             "<InvoiceLineAdd><ItemRef><FullName>Installation</FullName></ItemRef><Quantity>1.5</Quantity>"
             "</InvoiceLineAdd>")
    result = session.process(message_set(invoice_add(lines=lines, ref="2001")))
    [invoice] = company.invoices_by_ref("2001")
    assert [line.amount for line in invoice.lines] == [Decimal("4.01"), Decimal("112.50")]
    assert invoice.subtotal == Decimal("116.51")
    assert company.terms[invoice.terms_id].name == "Net 30" and invoice.due_date == date(2024, 3, 31)
    ret = rets(result.response, "InvoiceRet")[0]
    assert (ret.findtext("Subtotal"), ret.findtext("TermsRef/FullName"), ret.findtext("DueDate")) == \
        ("116.51", "Net 30", "2024-03-31")
    assert ret.findtext("InvoiceLineRet/Desc") == "Widget"
    assert company.customer_named("Acme Corp").balance == Decimal("116.51")


def test_date_driven_terms_and_auto_numbering(session, company):
    body = ("<InvoiceAddRq><InvoiceAdd><CustomerRef><FullName>Beta LLC</FullName></CustomerRef><TxnDate>2024-03-12"
            "</TxnDate><InvoiceLineAdd><ItemRef><FullName>Freight</FullName></ItemRef></InvoiceLineAdd></InvoiceAdd>"
            "</InvoiceAddRq>")
    session.process(message_set(invoice_add(ref="41")))
    session.process(message_set(body))
    [invoice] = company.invoices_by_ref("42")
    assert invoice.due_date == date(2024, 4, 15)  # the 15th is only 3 days away: next month's
    assert invoice.subtotal == Decimal("12.00")


def test_invoice_query_by_ref_txn_id_and_modified_range(session, company, clock):
    session.process(message_set(invoice_add(ref="3001")))
    clock.advance(days=1)
    session.process(message_set(invoice_add(ref="3002")))
    [first] = company.invoices_by_ref("3001")
    result = session.process(message_set(
        "<InvoiceQueryRq requestID='ref'><RefNumber>3001</RefNumber><IncludeLineItems>true</IncludeLineItems>"
        "</InvoiceQueryRq>"
        f"<InvoiceQueryRq requestID='ids'><TxnID>{first.stamp.id}</TxnID><TxnID>FF-1</TxnID></InvoiceQueryRq>"
        "<InvoiceQueryRq requestID='range'><ModifiedDateRangeFilter><FromModifiedDate>2024-03-02"
        "</FromModifiedDate></ModifiedDateRangeFilter></InvoiceQueryRq>"
        "<InvoiceQueryRq requestID='none'><RefNumber>9999</RefNumber></InvoiceQueryRq>"))
    root = etree.fromstring(result.response.encode(), PARSER).find("QBXMLMsgsRs")
    by_ref, by_id, by_range, none = list(root)
    assert by_ref.get("statusCode") == "0" and by_ref.find("InvoiceRet/InvoiceLineRet") is not None
    assert (by_id.get("statusCode"), len(by_id)) == ("500", 1)
    assert by_id.find("InvoiceRet/InvoiceLineRet") is None  # IncludeLineItems defaults to false
    assert [r.findtext("RefNumber") for r in by_range] == ["3002"]
    assert none.get("statusCode") == "1"


# ----------------------------------------------------------------- faults inside QuickBooks
def test_a_lock_fault_answers_317x_and_saves_nothing(company, schema_folder):
    processor = RequestProcessor(company, schema_folder, faults=Faults.parse("lock_error=@1"))
    session = processor.begin_session()
    first = session.process(message_set("<CustomerAddRq><CustomerAdd><Name>Locked Out</Name></CustomerAdd>"
                                        "</CustomerAddRq>"))
    assert statuses(first.response)[0][1] in ("3170", "3175")
    assert company.customer_named("Locked Out") is None
    again = session.process(message_set("<CustomerAddRq><CustomerAdd><Name>Locked Out</Name></CustomerAdd>"
                                        "</CustomerAddRq>"))
    assert statuses(again.response)[0][1] == "0"


def test_connection_faults_and_a_different_company_file(company, schema_folder):
    processor = RequestProcessor(company, schema_folder, faults=Faults.parse("not_running=@1,other_mode=@2"))
    with pytest.raises(ConnectionFailure) as not_running:
        processor.begin_session()
    with pytest.raises(ConnectionFailure) as other_mode:
        processor.begin_session()
    with pytest.raises(ConnectionFailure) as other_file:
        processor.begin_session("C:\\Other.QBW")
    assert [e.value.hresult for e in (not_running, other_mode, other_file)] == \
        ["0x80040408", "0x80040410", "0x8004040A"]
    assert processor.begin_session(company.settings.file_path.upper()) is not None
