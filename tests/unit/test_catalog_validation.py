"""What BlueTrace sends is read exactly or refused with the field named (services.validation, catalog.read_*)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc_bridge.services import catalog
from qbwc_bridge.services import validation as v
from qbwc_bridge.services.catalog import _prefix_range, read_customer, read_item
from qbwc_bridge.services.import_files import RowError, read_rows
from qbwc_bridge.services.settings import InvalidSetting
from qbwc_bridge.errors import NeedsPerson

money_values = st.decimals(min_value=0, max_value=v.MONEY_MAX, places=5, allow_nan=False, allow_infinity=False)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.decimals(allow_nan=False, allow_infinity=False), st.text(max_size=30)
)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
# Text a person could type: no control characters, no surrogates.
typed_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=60)


# -- money ---------------------------------------------------------------------------------


@given(money_values)
def test_every_storable_amount_is_read_exactly_from_a_number_or_a_string(amount):
    for sent in (amount, format(amount, "f"), f"  {format(amount, 'f')} "):
        assert v.money(sent, "sales_price") == amount


@given(money_values)
def test_amounts_leave_as_strings_with_two_to_five_places_and_the_same_value(amount):
    text = v.money_text(v.money(amount, "sales_price"))
    assert Decimal(text) == amount
    places = len(text.partition(".")[2])
    assert "." in text and 2 <= places <= 5 and not text.startswith("-")


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_binary_floats_are_refused_rather_than_rounded(number):
    with pytest.raises(v.InvalidInput) as refused:
        v.money(number, "sales_price")
    assert refused.value.field == "sales_price"


@pytest.mark.parametrize(
    "sent, why",
    [
        (Decimal("-0.01"), "negative"),
        ("-5", "negative"),
        (Decimal("1.000001"), "5 decimal places"),
        ("1000000000000000", "too large"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        ("1e3", "decimal amount"),
        ("1,50", "decimal amount"),
        ("1_000", "decimal amount"),
        ("NaN", "decimal amount"),
        ("twelve", "decimal amount"),
        (True, "decimal amount"),
        ([1], "decimal amount"),
    ],
)
def test_wrong_amounts_say_what_is_wrong(sent, why):
    with pytest.raises(v.InvalidInput) as refused:
        v.money(sent, "purchase_cost")
    assert refused.value.field == "purchase_cost"
    assert why in str(refused.value)
    assert str(refused.value).startswith("purchase_cost ")


def test_blank_or_null_amounts_clear_the_field():
    assert v.money(None, "sales_price") is None
    assert v.money("  ", "sales_price") is None
    assert v.money(12, "sales_price") == Decimal("12")


# -- text ----------------------------------------------------------------------------------


@given(typed_text.filter(lambda s: not any(c in s for c in "\t\r\n")))
def test_typed_text_is_kept_trimmed(value):
    read = v.text(value, "name", max_length=100)
    assert read == (value.strip() or None)


@given(st.text(min_size=1, max_size=5), st.sampled_from(["\x00", "\x07", "\x1b", "\x7f"]))
def test_control_characters_are_refused(value, control):
    with pytest.raises(v.InvalidInput) as refused:
        v.text(value + control + value, "name", max_length=100, multiline=True)
    assert refused.value.field == "name"


def test_lone_surrogates_are_refused_because_no_database_can_store_them():
    with pytest.raises(v.InvalidInput, match="surrogate"):
        v.text("abc\ud800", "description", max_length=100)


def test_line_breaks_only_in_multiline_text():
    assert v.text("a\nb", "description", max_length=10, multiline=True) == "a\nb"
    with pytest.raises(v.InvalidInput):
        v.text("a\nb", "sku", max_length=10)


@given(st.integers(min_value=1, max_value=50))
def test_the_length_limit_is_exact(limit):
    assert v.text("x" * limit, "sku", max_length=limit) == "x" * limit
    with pytest.raises(v.InvalidInput) as refused:
        v.text("x" * (limit + 1), "sku", max_length=limit)
    assert f"at most {limit}" in str(refused.value)


# -- whole numbers (page numbers from a query string) --------------------------------------


@given(st.integers(min_value=1, max_value=1_000_000))
def test_every_page_number_in_range_is_read(number):
    assert v.whole_number(str(number), "page", minimum=1, maximum=1_000_000, default=1) == number


@pytest.mark.parametrize("sent", ["0", "1000001", "99999999999999999999", "9" * 5000, "²", "٣", " 1", "+1", "1_0", "1.0", "-1"])
def test_anything_but_ascii_digits_in_range_is_refused_naming_the_field(sent):
    with pytest.raises(v.InvalidInput) as refused:
        v.whole_number(sent, "page", minimum=1, maximum=1_000_000, default=1)
    assert refused.value.field == "page" and "1 to 1000000" in str(refused.value)


def test_an_absent_or_empty_whole_number_is_the_default():
    assert v.whole_number(None, "page", minimum=1, maximum=9, default=3) == 3
    assert v.whole_number("", "page", minimum=1, maximum=9, default=3) == 3


@pytest.mark.parametrize("bad", ["", " a", "a ", "a/b", "x" * 101, 7, None])
def test_identifiers_must_be_usable_in_a_url_path(bad):
    with pytest.raises(v.InvalidInput):
        v.identifier(bad, "item_id")


@pytest.mark.parametrize("good", ["a@b", "Ann.Lee+ap@Example.COM"])
def test_one_email_address_is_kept_as_sent(good):
    assert v.email(f" {good} ", "billing_email") == good


@pytest.mark.parametrize("bad", ["ann", "a@b, c@d", "a@b;c@d", "a b@c", "@b", "a@"])
def test_anything_but_one_email_address_is_refused(bad):
    with pytest.raises(v.InvalidInput) as refused:
        v.email(bad, "billing_email")
    assert refused.value.field == "billing_email"


# -- whole records -------------------------------------------------------------------------


@given(st.dictionaries(st.sampled_from(["sku", "name", "description", "sales_price", "purchase_cost", "kind", "active", "extra"]), json_values))
def test_any_json_item_is_either_read_or_refused_with_a_field(data):
    try:
        changes = read_item(data, creating=False)
    except v.InvalidInput as refused:
        assert refused.field in data or refused.field == "name"
    else:
        assert set(changes) == set(data) - {"extra"}


address_keys = st.sampled_from(["line1", "city", "postal_code", "planet"])


@given(st.dictionaries(
    st.sampled_from(["name", "company_name", "billing_email", "phone", "bill_address", "ship_address", "active", "extra"]),
    st.one_of(json_values, st.dictionaries(address_keys, json_values, max_size=3)),
))
def test_any_json_customer_is_either_read_or_refused_with_a_field_path(data):
    try:
        changes = read_customer(data, creating=False)
    except v.InvalidInput as refused:
        top = refused.field.split(".")[0]
        assert top in data
    else:
        assert set(changes) == set(data) - {"extra"}
        for key in ("bill_address", "ship_address"):
            if changes.get(key) is not None:
                assert set(changes[key]) <= set(catalog.ADDRESS_FIELDS) and all(changes[key].values())


@given(
    sku=st.one_of(st.none(), typed_text.filter(lambda s: "\t" not in s and len(s.strip()) <= 100)),
    name=typed_text.filter(lambda s: s.strip() and len(s.strip()) <= 400 and not any(c in s for c in "\t\r\n")),
    price=money_values,
    kind=st.sampled_from(catalog.ITEM_KINDS),
    active=st.booleans(),
)
def test_a_valid_item_is_read_as_sent(sku, name, price, kind, active):
    data = {"sku": sku, "name": name, "sales_price": price, "kind": kind, "active": active}
    changes = read_item(data, creating=True)
    assert changes == {
        "sku": (sku.strip() or None) if sku is not None else None,
        "name": name.strip(),
        "sales_price": price,
        "kind": kind,
        "active": active,
    }


def test_creating_an_item_needs_a_name_but_updating_does_not():
    with pytest.raises(v.InvalidInput) as refused:
        read_item({"sku": "A"}, creating=True)
    assert refused.value.field == "name"
    assert read_item({"sku": "A"}, creating=False) == {"sku": "A"}
    with pytest.raises(v.InvalidInput):
        read_item({"name": "  "}, creating=False)


@pytest.mark.parametrize(
    "data, field",
    [
        ({"sku": 12}, "sku"),
        ({"kind": "bundle"}, "kind"),
        ({"active": "yes"}, "active"),
        ({"sales_price": 1.5}, "sales_price"),
        ({"description": "x" * 4096}, "description"),
        ({"name": "x" * 401}, "name"),
    ],
)
def test_a_wrong_item_field_is_named(data, field):
    with pytest.raises(v.InvalidInput) as refused:
        read_item(data, creating=False)
    assert refused.value.field == field


def test_customer_addresses_keep_only_their_known_non_blank_lines():
    changes = read_customer(
        {
            "name": "Ann",
            "bill_address": {"line1": " 1 Main St ", "line2": "", "city": "Springfield", "planet": "Mars"},
            "ship_address": {"line1": " "},
        },
        creating=True,
    )
    assert changes["bill_address"] == {"line1": "1 Main St", "city": "Springfield"}
    assert changes["ship_address"] is None


def test_a_wrong_address_line_is_named_by_its_path():
    with pytest.raises(v.InvalidInput) as refused:
        read_customer({"bill_address": {"city": "x" * 201}}, creating=False)
    assert refused.value.field == "bill_address.city"
    with pytest.raises(v.InvalidInput) as refused:
        read_customer({"ship_address": "1 Main St"}, creating=False)
    assert refused.value.field == "ship_address"


def test_invalid_settings_are_a_needs_person_error_with_the_field():
    error = InvalidSetting("ar_account", "is wrong")
    assert isinstance(error, NeedsPerson) and error.field == "ar_account"


# -- search --------------------------------------------------------------------------------

search_text = st.text(alphabet=st.sampled_from(["a", "b", "z", "\u00e9", "\ud7ff", "\ue000", "\U0010ffff", "-", "0"]), max_size=6)


@given(prefix=search_text.filter(bool), key=search_text)
@settings(max_examples=500)
def test_the_prefix_range_holds_exactly_the_keys_that_start_with_the_prefix(prefix, key):
    low, high = _prefix_range(prefix)
    inside = low <= key and (high is None or key < high)
    assert inside == key.startswith(prefix)


# -- import files --------------------------------------------------------------------------


def _rows(text: bytes, kind="items", fmt="csv"):
    import io

    return list(read_rows(io.BytesIO(text), kind, fmt))


def test_csv_rows_carry_the_line_they_start_on_even_across_quoted_line_breaks():
    rows = _rows(b'item_id,name,description\r\n1,A,"two\nlines"\r\n2,B,\r\n\r\n3,C,x\r\n')
    assert [(r.line, r.record_id) for r in rows] == [(2, "1"), (4, "2"), (6, "3")]
    assert rows[0].data == {"name": "A", "description": "two\nlines"}
    assert rows[1].data == {"name": "B", "description": None}


def test_csv_with_a_byte_order_mark_and_bad_utf8_lines():
    rows = _rows(b"\xef\xbb\xbfitem_id,name,active\n1,A,yes\n2,\xff\xfe,no\n3,C,\n")
    assert isinstance(rows[1], RowError) and rows[1].line == 3
    assert rows[0].data == {"name": "A", "active": True}
    assert rows[2].data == {"name": "C"}  # an empty active keeps the record's value


def test_customer_csv_address_columns_become_objects():
    rows = _rows(b"customer_id,name,bill_address.line1,bill_address.city,ship_address.line1\nc1,Ann,1 Main,Springfield,\n", "customers")
    assert rows[0].data == {"name": "Ann", "bill_address": {"line1": "1 Main", "city": "Springfield"}, "ship_address": None}


def test_ndjson_reads_numbers_exactly_and_reports_bad_lines():
    rows = _rows(b'{"item_id": "1", "name": "A", "sales_price": 0.1}\nnot json\n\n[1]\n{"item_id": 7, "name": "B"}\n{"name": "no id"}\n', fmt="ndjson")
    assert rows[0].data["sales_price"] == Decimal("0.1")
    assert [type(r).__name__ for r in rows] == ["Row", "RowError", "RowError", "Row", "RowError"]
    assert [r.line for r in rows] == [1, 2, 4, 5, 6]
    assert rows[3].record_id == "7"
    assert rows[4].field == "item_id"


@given(json_values)
@settings(max_examples=300)
def test_live_mode_minutes_are_a_whole_number_within_bounds_or_refused(value):
    try:
        minutes = v.json_whole_number(value, "live_mode", minimum=0, maximum=480)
    except v.InvalidInput as exc:
        assert exc.field == "live_mode" and "whole number from 0 to 480" in str(exc)
    else:
        assert type(minutes) is int and 0 <= minutes <= 480 and minutes == value and not isinstance(value, bool)
