"""The invoice number rule: Desktop keeps 11 characters of the order number (Online 21), so which is a decision."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qbwc_bridge.backends.desktop.record_limits import REF_NUMBER_LENGTH
from qbwc_bridge.sync.invoices import invoice_number


def ref_number_for(order_number: str) -> str:
    return invoice_number(order_number, REF_NUMBER_LENGTH)


@pytest.mark.parametrize(
    "order_number, ref_number",
    [
        ("1001", "1001"),
        ("  SO-1001 ", "SO-1001"),
        ("ABCDEFGHIJK", "ABCDEFGHIJK"),  # exactly 11: as it is
        ("SO-2024-000123", "2024-000123"),  # the growing end is kept
        ("BT-ORDER-0000045678", "0000045678"),  # a separator left at the cut is dropped
        ("ORDER-1234567890-----------", "-----------"),  # nothing but separators: kept rather than empty
    ],
)
def test_examples(order_number, ref_number):
    assert ref_number_for(order_number) == ref_number


@given(st.text(min_size=1, max_size=60).filter(lambda t: t.strip()))
def test_never_longer_than_quickbooks_allows_and_always_the_end_of_the_number(order_number):
    ref = ref_number_for(order_number)
    text = order_number.strip()
    assert 0 < len(ref) <= REF_NUMBER_LENGTH
    assert text.endswith(ref)
    assert ref == ref_number_for(order_number)  # deterministic: the same on every attempt and look-up
    if len(text) <= REF_NUMBER_LENGTH:
        assert ref == text


@given(st.text(alphabet="0123456789", min_size=12, max_size=30))
def test_long_numeric_numbers_keep_their_last_eleven_digits(order_number):
    assert ref_number_for(order_number) == order_number[-11:]
    assert invoice_number(order_number, 21) == order_number[-21:]
