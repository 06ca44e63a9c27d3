"""What Desktop's deletion sync asks QuickBooks is valid qbXML for every subject and every version we talk to."""
from __future__ import annotations

import datetime as dt

import pytest

from qbwc_bridge.backends.desktop.deletion_sync import KEPT, build_request, read_gone
from qbwc_bridge.backends.desktop.qbxml import parse_response, render_request
from qbwc_bridge.backends.desktop.qbxml.versions import DEFAULT_VERSION, OLDEST_SUPPORTED
from qbwc_bridge.operations import Deletable, DeletionsPull

SINCE = dt.datetime(2024, 3, 1, 7, 20, tzinfo=dt.timezone.utc)
NOW = SINCE + dt.timedelta(days=2)


@pytest.mark.parametrize("version", [OLDEST_SUPPORTED, DEFAULT_VERSION], ids=str)
@pytest.mark.parametrize("since", [SINCE, None], ids=["since", "ever"])
@pytest.mark.parametrize("subject", list(Deletable), ids=lambda s: s.value)
def test_every_deletions_request_validates_against_intuits_schema(subject, since, version, schema_errors):
    request_type, data = build_request(DeletionsPull(subject, since), NOW)
    fragment = render_request(request_type, "d-1", data, version)
    assert schema_errors([fragment], version) == []
    assert ("<FromDeletedDate>" in fragment) is (since is not None)


def test_items_are_asked_for_every_kind_the_item_pull_mirrors():
    _request_type, data = build_request(DeletionsPull(Deletable.ITEMS, SINCE), NOW)
    assert {"ItemService", "ItemNonInventory", "ItemInventory", "ItemInventoryAssembly", "ItemOtherCharge",
            "ItemGroup", "ItemDiscount"} <= set(data["del_types"])
    assert "Customer" not in data["del_types"]


def test_a_start_older_than_quickbooks_keeps_deletions_is_brought_inside_its_window():
    long_quiet = NOW + dt.timedelta(days=400)  # nothing modified for over a year: the mark stayed at SINCE
    _request_type, data = build_request(DeletionsPull(Deletable.CUSTOMERS, SINCE), long_quiet)
    assert long_quiet - KEPT < data["from_deleted_date"] < long_quiet - KEPT + dt.timedelta(days=2)
    assert build_request(DeletionsPull(Deletable.CUSTOMERS, SINCE), NOW)[1]["from_deleted_date"] == SINCE


def test_only_the_ids_of_the_types_asked_for_are_read_as_gone():
    answer = parse_response(
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs><ListDeletedQueryRs requestID="d" statusCode="0" '
        'statusSeverity="Info" statusMessage="Status OK">'
        "<ListDeletedRet><ListDelType>Customer</ListDelType><ListID>80000001-1</ListID>"
        "<TimeCreated>2024-03-01T09:00:00-05:00</TimeCreated><TimeDeleted>2024-03-02T09:00:00-05:00</TimeDeleted>"
        "<FullName>Acme</FullName></ListDeletedRet>"
        "<ListDeletedRet><ListDelType>Vendor</ListDelType><ListID>80000002-1</ListID>"
        "<TimeCreated>2024-03-01T09:00:00-05:00</TimeCreated><TimeDeleted>2024-03-02T09:00:00-05:00</TimeDeleted>"
        "<FullName>Bolt</FullName></ListDeletedRet>"
        "</ListDeletedQueryRs></QBXMLMsgsRs></QBXML>")[0]
    gone = read_gone(DeletionsPull(Deletable.CUSTOMERS, SINCE), answer.records)
    assert gone.ids == ("80000001-1",)
