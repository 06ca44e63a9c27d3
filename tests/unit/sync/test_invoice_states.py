"""How an invoice stands in QuickBooks, read from each backend's answer and judged by the engine, without a database."""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from lxml import etree

from qbwc_bridge.backends.desktop import invoice_state_sync
from qbwc_bridge.backends.desktop.qbxml import render_request
from qbwc_bridge.backends.online import entities
from qbwc_bridge.operations import InvoiceChangesPull, InvoiceState, InvoiceStates, OperationKind
from qbwc_bridge.sync.invoice_states import paid_status, result
from qbwc_bridge.sync.pulls import OVERLAP


@pytest.mark.parametrize("total, balance, voided, paid", [
    ("19.98", "19.98", False, "not"), ("19.98", "14.98", False, "partly"), ("19.98", "0.00", False, "fully"),
    ("0.00", "0.00", True, None), ("29.97", "29.97", False, "not")])
def test_paid_is_fully_partly_or_not_and_a_voided_invoice_is_none(total, balance, voided, paid):
    assert paid_status(Decimal(total), Decimal(balance), voided) == paid


def test_the_desktop_query_asks_for_what_says_how_an_invoice_stands_and_nothing_else():
    since = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.timezone.utc)
    request_type, data = invoice_state_sync.build_request(InvoiceChangesPull(since))
    rq = etree.fromstring(render_request(request_type, "7", data))
    assert rq.tag == "InvoiceQueryRq" and rq.findtext("ModifiedDateRangeFilter/FromModifiedDate").startswith("2026-12-01")
    assert [e.text for e in rq.findall("IncludeRetElement")] == invoice_state_sync.STATE_ELEMENTS
    assert rq.find("IncludeLineItems") is None  # no lines: the answer stays small


def test_a_desktop_invoice_ret_becomes_its_state_in_decimal():
    paid = invoice_state_sync.read_state({"TxnID": "1F-1", "TimeModified": "2026-12-01T10:00:00-05:00",
                                          "Subtotal": "19.98", "SalesTaxTotal": "1.00", "BalanceRemaining": "5.98",
                                          "Memo": "BlueTrace order SO-1"})
    assert paid == InvoiceState("1F-1", Decimal("20.98"), Decimal("5.98"), False,
                                dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.timezone.utc))
    voided = invoice_state_sync.read_state({"TxnID": "1F-2", "Subtotal": "0.00", "BalanceRemaining": "0.00",
                                            "Memo": "VOID: BlueTrace order SO-2"})
    assert voided.voided and voided.total == 0
    zeroed = invoice_state_sync.read_state({"TxnID": "1F-3", "Subtotal": "0.00", "BalanceRemaining": "0.00",
                                            "Memo": "BlueTrace order SO-3"})
    assert not zeroed.voided  # edited down to zero, not voided
    assert invoice_state_sync.read_state({"Subtotal": "1.00"}) is None


def test_the_recorded_online_void_reads_as_voided(shared_dir):
    recorded = shared_dir / "fixtures" / "qbo-recorded"
    before = json.loads((recorded / "minimul__qbo_api__spec_vcr_void_invoice.yml__0.json").read_text())["Invoice"]
    after = json.loads((recorded / "minimul__qbo_api__spec_vcr_void_invoice.yml__1.json").read_text())["Invoice"]
    assert entities.invoice_state(before) == InvoiceState(
        "264", Decimal("100.0"), Decimal("100.0"), False, entities.quickbooks_time(before["MetaData"]["LastUpdatedTime"]))
    state = entities.invoice_state(after)
    assert (state.voided, state.total, state.balance) == (True, Decimal(0), Decimal(0))


def test_the_next_pull_starts_an_overlap_before_the_newest_change_or_where_this_one_did():
    since = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)
    newest = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.timezone.utc)
    states = InvoiceStates((InvoiceState("1", Decimal(1), Decimal(0), False, newest),
                            InvoiceState("2", Decimal(1), Decimal(1), False, since)))
    assert result(states, ["o-1"], InvoiceChangesPull(since)) == {"invoices": 2, "changed": 1,
                                                                  "newest": newest.isoformat()}
    quiet = result(InvoiceStates(()), [], InvoiceChangesPull(since))
    assert dt.datetime.fromisoformat(quiet["newest"]) - OVERLAP == since
    assert OperationKind("sync_invoice_changes") is OperationKind.SYNC_INVOICE_CHANGES  # stored: never renamed
