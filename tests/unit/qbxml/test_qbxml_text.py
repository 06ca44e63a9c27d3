"""Text, money and quantities reach QuickBooks faithfully, or a person is told exactly what to fix."""
from __future__ import annotations

import logging
import re
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc_bridge.backends.desktop.qbxml import render_request
from qbwc_bridge.backends.desktop.qbxml.text import (
    Overflow,
    clean_text,
    format_amount,
    format_price,
    format_quantity,
    to_latin1,
)
from qbwc_bridge.errors import DataError

WHERE = {"record": "item 'Mug'", "field": "name", "label": "name"}
AMTTYPE = re.compile(r"[+\-]?[0-9]{1,13}(\.[0-9]{2})?")
PRICETYPE = re.compile(r"[+\-]?[0-9]{1,10}(\.[0-9]{1,5})?")  # QUANTYPE is the same pattern


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("It\u2019s \u201cgreat\u201d", 'It\'s "great"'),
        ("2010\u20132014 \u2014 done\u2026", "2010-2014 - done..."),
        ("a\u00a0b\u2009c\u202fd\u3000e", "a b c d e"),
        ("\u2022 Bullet\u2122", "* BulletTM"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        ("Cafe\u0301 cre\u0300me", "Café crème"),  # decomposed accents are recomposed
        ("Zoë, Ærøskøbing, ß, ¿, ©, ½", "Zoë, Ærøskøbing, ß, ¿, ©, ½"),  # Latin-1 passes unchanged
        ("  padded\n", "padded"),
    ],
)
def test_usual_suspects_are_transliterated_to_latin1(typed, sent):
    assert to_latin1(typed, **WHERE) == sent


@pytest.mark.parametrize(("typed", "culprit"), [("Mug \u2615", "HOT BEVERAGE"), ("\u5c71\u7530", "CJK"), ("\u0141\u00f3d\u017a", "LATIN CAPITAL LETTER L WITH STROKE")])  # fmt: skip
def test_characters_without_a_latin1_form_are_refused_naming_record_field_and_character(typed, culprit):
    with pytest.raises(DataError) as caught:
        to_latin1(typed, record="customer 'Acme'", field="bill_address.city", label="billing address city")
    message = str(caught.value)
    assert "customer 'Acme'" in message and "billing address city" in message and culprit in message
    assert caught.value.record == "customer 'Acme'" and caught.value.field == "bill_address.city"


def test_control_characters_are_refused():
    with pytest.raises(DataError, match="control character"):
        to_latin1("bell\x07", **WHERE)
    with pytest.raises(DataError, match="control character"):
        to_latin1("c1\x96c1", **WHERE)  # cp1252 dash mis-decoded


def test_line_breaks_survive_only_in_multiline_text():
    assert to_latin1("a\r\nb\tc", **WHERE) == "a  b c"
    assert to_latin1("line 1\nline 2", **WHERE, multiline=True) == "line 1\nline 2"


def test_identifying_text_is_never_truncated():
    with pytest.raises(DataError) as caught:
        clean_text("x" * 32, max_length=31, **WHERE)
    assert "32 characters" in str(caught.value) and "at most 31" in str(caught.value)
    assert "item 'Mug'" in str(caught.value)


def test_free_text_is_truncated_deliberately_and_logged(caplog):
    with caplog.at_level(logging.DEBUG, logger="qbwc_bridge.backends.desktop.qbxml.text"):
        cut = clean_text("word " * 1000, max_length=4095, overflow=Overflow.TRUNCATE, **WHERE)
    assert len(cut) <= 4095 and cut.startswith("word word")
    assert any("Truncating" in r.getMessage() for r in caplog.records)


def test_length_counts_after_transliteration():
    with pytest.raises(DataError, match="12 characters"):
        clean_text("R1001\u2026wait", max_length=11, **WHERE)  # the ellipsis becomes three dots


@pytest.mark.parametrize(
    ("request_type", "data", "field", "limit"),
    [
        ("ItemServiceAdd", {"name": "N" * 32}, "name", 31),
        ("CustomerAdd", {"name": "C" * 42}, "name", 41),
        ("InvoiceAdd", {"ref_number": "R" * 12}, "ref_number", 11),
        ("InvoiceAdd", {"po_number": "P" * 26}, "po_number", 25),
        ("CustomerAdd", {"name": "C", "bill_address": {"addr1": "A" * 42}}, "bill_address.addr1", 41),
        ("CustomerAdd", {"name": "C", "ship_address": {"city": "Z" * 32}}, "ship_address.city", 31),
        ("CustomerAdd", {"name": "C", "phone": "1" * 22}, "phone", 21),
        ("CustomerAdd", {"name": "C", "email": "e" * 1024}, "email", 1023),
        ("ItemNonInventoryAdd", {"name": "N", "manufacturer_part_number": "M" * 32}, "manufacturer_part_number", 31),
    ],
)
def test_too_long_identifying_fields_are_refused_before_sending(request_type, data, field, limit):
    base = {
        "ItemServiceAdd": {"income_account_list_id": "1-1", "expense_account_list_id": "2-2"},
        "ItemNonInventoryAdd": {"income_account_list_id": "1-1", "expense_account_list_id": "2-2"},
        "CustomerAdd": {},
        "InvoiceAdd": {"customer_list_id": "3-3", "lines": [{"item_list_id": "4-4"}]},
    }[request_type]
    with pytest.raises(DataError, match=f"at most {limit}") as caught:
        render_request(request_type, "r", {**base, **data})
    assert caught.value.field == field


def test_long_memo_and_line_description_are_truncated_not_refused():
    data = {"customer_list_id": "3-3", "memo": "m" * 5000, "lines": [{"item_list_id": "4-4", "desc": "d" * 5000}]}
    fragment = render_request("InvoiceAdd", "r", data)
    assert "m" * 4095 + "</Memo>" in fragment and "m" * 4096 not in fragment
    assert "d" * 4095 + "</Desc>" in fragment and "d" * 4096 not in fragment


@pytest.mark.parametrize(
    ("value", "amount", "price"),
    [
        (Decimal("103"), "103.00", "103"),
        (Decimal("103.5"), "103.50", "103.5"),
        (Decimal("1E+3"), "1000.00", "1000"),
        (Decimal("0.10000000"), "0.10", "0.10000"),
        (Decimal("-0"), "-0.00", "-0"),
        (7, "7.00", "7"),
    ],
)
def test_decimals_are_formatted_as_quickbooks_types(value, amount, price):
    assert format_amount(value, **WHERE) == amount
    assert format_price(value, **WHERE) == price
    assert format_quantity(value, **WHERE) == price


def test_floats_and_other_types_are_programming_errors():
    for bad in (1.5, "1.50", True, None):
        with pytest.raises(TypeError):
            format_amount(bad, **WHERE)


@pytest.mark.parametrize(
    ("formatter", "value", "reason"),
    [
        (format_amount, Decimal("NaN"), "not a number"),
        (format_amount, Decimal("sNaN"), "not a number"),
        (format_price, Decimal("-Infinity"), "not a number"),
        (format_amount, Decimal("1.005"), "more than 2 decimal places"),
        (format_price, Decimal("0.000001"), "more than 5 decimal places"),
        (format_quantity, Decimal("1E-30"), "more than 5 decimal places"),
        (format_amount, Decimal("10000000000000"), "larger than QuickBooks can hold"),
        (format_price, Decimal("1E+10"), "larger than QuickBooks can hold"),
        (format_quantity, Decimal("1E+400"), "larger than QuickBooks can hold"),
    ],
)
def test_money_quickbooks_cannot_hold_exactly_is_refused(formatter, value, reason):
    with pytest.raises(DataError, match=reason):
        formatter(value, **WHERE)


@settings(max_examples=150, deadline=None)
@given(st.decimals(allow_nan=True, allow_infinity=True))
def test_any_decimal_formats_to_the_xsd_pattern_without_changing_value_or_is_refused(value):
    for formatter, pattern in ((format_amount, AMTTYPE), (format_price, PRICETYPE), (format_quantity, PRICETYPE)):
        try:
            text = formatter(value, **WHERE)
        except DataError:
            continue
        assert pattern.fullmatch(text), text
        assert Decimal(text) == value  # never rounded on anyone's behalf
