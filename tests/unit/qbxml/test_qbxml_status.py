"""Every status code and HRESULT in PROTOCOL.md becomes words a bookkeeper can act on."""
from __future__ import annotations

import pytest

from qbwc_bridge.backends.desktop.status import Outcome, explain_hresult, explain_status, parse_hresult, proves_nothing_ran

PROTOCOL_STATUS_TABLE = {
    0: Outcome.OK, 1: Outcome.EMPTY, 500: Outcome.NOT_FOUND, 530: Outcome.WARNING,
    3000: Outcome.BUG, 3010: Outcome.BUG, 3020: Outcome.BUG, 3030: Outcome.BUG,
    3070: Outcome.NEEDS_PERSON, 3100: Outcome.NEEDS_PERSON, 3120: Outcome.NEEDS_PERSON, 3140: Outcome.NEEDS_PERSON,
    3170: Outcome.RETRY, 3175: Outcome.RETRY, 3176: Outcome.RETRY, 3180: Outcome.RETRY, 3200: Outcome.RETRY,
    3250: Outcome.NEEDS_PERSON, 3260: Outcome.NEEDS_PERSON, 3261: Outcome.NEEDS_PERSON, 3391: Outcome.RETRY,
}  # fmt: skip
PROTOCOL_HRESULTS = {
    "0x80040400": Outcome.BUG, "0x80040401": Outcome.RETRY, "0x80040408": Outcome.RETRY,
    "0x8004040A": Outcome.NEEDS_PERSON, "0x80040410": Outcome.NEEDS_PERSON, "0x80040414": Outcome.NEEDS_PERSON,
    "0x80040416": Outcome.NEEDS_PERSON, "0x80040417": Outcome.NEEDS_PERSON, "0x80040418": Outcome.NEEDS_PERSON,
    "0x8004041A": Outcome.NEEDS_PERSON, "0x8004041B": Outcome.RETRY, "0x80040420": Outcome.NEEDS_PERSON,
    "0x80040422": Outcome.NEEDS_PERSON, "0x80040423": Outcome.BUG, "0x80040424": Outcome.RETRY,
}  # fmt: skip


@pytest.mark.parametrize(("code", "outcome"), sorted(PROTOCOL_STATUS_TABLE.items()))
def test_every_documented_status_code_has_an_outcome_and_plain_words(code, outcome):
    info = explain_status(code, "Error", "QuickBooks' own words")
    assert info.outcome is outcome
    assert info.message == "QuickBooks' own words"  # kept for support
    assert info.explanation and info.action
    assert "statusCode" not in info.explanation and "qbXML" not in info.action


@pytest.mark.parametrize(("hresult", "outcome"), sorted(PROTOCOL_HRESULTS.items()))
def test_every_documented_hresult_has_an_outcome(hresult, outcome):
    info = explain_hresult(hresult, "the Web Connector's message")
    assert info.outcome is outcome and info.explanation and info.action
    assert info.code_text == hresult.upper().replace("0X", "0x")


@pytest.mark.parametrize("spelling", ["0x80040400", "0X80040400", "0x80040400 ", "-2147220480", "2147746816"])
def test_hresult_spellings_are_the_same_error(spelling):
    assert explain_hresult(spelling, "") == explain_hresult("0x80040400", "")
    assert explain_hresult(spelling, "").code == 0x80040400


@pytest.mark.parametrize(("hresult", "nothing_ran"), [
    ("0x80040400", True), ("-2147220480", True), ("2147746816", True),  # parse error, three spellings
    ("0x80040410", True), ("-2147220464", True),  # file open in another mode, hex and decimal
    ("0x800706BE", False), ("-2147023170", False),  # RPC failure: QuickBooks may have applied part of the set
    ("0x8004041B", False),  # could not lock: raised by any request of a set, after earlier ones were saved
    ("0x80040401FF", False), ("garbage", False), ("", False),  # unreadable: assume the worst
])  # fmt: skip
def test_only_hresults_that_prove_nothing_ran_compare_as_numbers(hresult, nothing_ran):
    assert proves_nothing_ran(parse_hresult(hresult)) is nothing_ran


def test_unknown_codes_show_the_code_and_quickbooks_message():
    error = explain_status(9001, "Error", "Internal error in the flux capacitor")
    assert error.outcome is Outcome.NEEDS_PERSON
    assert "9001" in error.explanation and "flux capacitor" in error.explanation
    assert explain_status(3035, "Error", "bad value").outcome is Outcome.BUG
    assert explain_status(510, "Warn", "partial").outcome is Outcome.WARNING
    assert explain_status(42, "Info", "fine").outcome is Outcome.OK
    odd = explain_hresult("0x8004FFFF", "Something new")
    assert "0x8004FFFF" in odd.explanation and "Something new" in odd.explanation
    unreadable = explain_hresult("banana", "")
    assert unreadable.code is None and "'banana'" in unreadable.explanation and unreadable.code_text == "unknown"
