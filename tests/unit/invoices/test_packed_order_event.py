"""Reading a packed-order event and deciding whether two events are the same one.

Idempotency rests on this: an event replayed by BlueTrace - re-serialised, keys in
another order, ``2`` instead of ``"2.00"`` - must hash the same, and any change that
would change the invoice must hash differently.
"""
from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qbwc_bridge.services.invoices import canonical_hash, plain_decimal, read_packed_order
from qbwc_bridge.services.validation import InvalidInput

ids = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"), min_size=1, max_size=20).map(
    str.strip
).filter(bool)
numbers = st.text("0123456789", min_size=1, max_size=8).map(lambda t: t.lstrip("0") or "7")
amounts = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("999999"), places=5)
optional_text = st.none() | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
addresses = st.none() | st.fixed_dictionaries({}, optional={
    key: st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20)
    for key in ("line1", "line2", "city", "state", "postal_code", "country")
})  # fmt: skip
lines = st.fixed_dictionaries(
    {"item_id": ids, "quantity": amounts, "unit_price": amounts | st.just(Decimal(0))},
    optional={"description": optional_text},
)
events = st.fixed_dictionaries(
    {
        "order_number": numbers.map(lambda n: f"SO-{n}"),
        "customer_id": ids,
        "packed_at": st.dates().map(lambda d: d.isoformat())
        | st.datetimes(timezones=st.just(None)).map(lambda d: d.isoformat() + "-05:00"),
        "lines": st.lists(lines, min_size=1, max_size=5),
    },
    optional={"po_number": optional_text, "memo": optional_text, "ship_address": addresses},
)


def respell(event: dict, rng: random.Random) -> dict:
    """The same event as another sender would write it: other key order, other number spellings."""

    def number(value: Decimal):
        choice = rng.randrange(4)
        if choice == 0 and value == value.to_integral_value():
            return int(value)
        if choice == 1:
            return str(value) + "000" if "." in str(value) else f"{value}.00"
        if choice == 2:
            return Decimal(str(value)) * 1  # a Decimal object, as the API's JSON parser produces
        return str(value)

    def shuffled(mapping: dict) -> dict:
        keys = list(mapping)
        rng.shuffle(keys)
        return {key: mapping[key] for key in keys}

    copy = shuffled(dict(event))
    copy["lines"] = [
        shuffled({**line, "quantity": number(line["quantity"]), "unit_price": number(line["unit_price"])})
        for line in event["lines"]
    ]
    if isinstance(copy.get("order_number"), str):
        copy["order_number"] = f"  {copy['order_number']} "
    return copy


@settings(max_examples=150)
@given(events, st.randoms(use_true_random=False))
def test_the_same_event_however_spelt_has_the_same_hash(event, rng):
    read = read_packed_order(event)
    again = read_packed_order(respell(event, rng))
    assert again == read
    assert canonical_hash(again) == canonical_hash(read)


@given(events)
def test_reading_is_idempotent_and_the_result_is_plain_json(event):
    read = read_packed_order(event)
    assert read_packed_order(read) == read
    assert json.loads(json.dumps(read)) == read  # storable in a JSON column as it is


@given(events, st.data())
def test_any_change_to_what_the_invoice_says_changes_the_hash(event, data):
    read = read_packed_order(event)
    index = data.draw(st.integers(0, len(event["lines"]) - 1))
    field = data.draw(st.sampled_from(["quantity", "unit_price", "item_id", "order_number", "customer_id"]))
    changed = json.loads(json.dumps(read))
    if field in ("quantity", "unit_price"):
        changed["lines"][index][field] = str(Decimal(changed["lines"][index][field]) + 1)
    elif field == "item_id":
        changed["lines"][index]["item_id"] += "x"
    else:
        changed[field] += "9"
    assert canonical_hash(read_packed_order(changed)) != canonical_hash(read)


@given(amounts)
def test_one_spelling_per_amount(amount):
    text = plain_decimal(amount)
    assert Decimal(text) == amount
    assert plain_decimal(Decimal(text + ("000" if "." in text else ".000"))) == text
    assert "E" not in text and not text.startswith("-")


GOOD = {"order_number": "SO-1", "customer_id": "C1", "packed_at": "2024-05-01",
        "lines": [{"item_id": "I1", "quantity": 1, "unit_price": "2.5"}]}  # fmt: skip


@pytest.mark.parametrize(
    "change, field",
    [
        ({"order_number": "---"}, "order_number"),
        ({"order_number": True}, "order_number"),
        ({"customer_id": ""}, "customer_id"),
        ({"packed_at": "2024-13-01"}, "packed_at"),
        ({"packed_at": 20240501}, "packed_at"),
        ({"po_number": 12}, "po_number"),
        ({"memo": "a\x00b"}, "memo"),
        ({"ship_address": {"city": 5}}, "ship_address.city"),
        ({"lines": {"item_id": "I1"}}, "lines"),
        ({"lines": ["I1"]}, "lines[0]"),
        ({"lines": [{"item_id": "I1", "quantity": 1.5, "unit_price": "1"}]}, "lines[0].quantity"),
        ({"lines": [{"item_id": "I1", "quantity": "1", "unit_price": True}]}, "lines[0].unit_price"),
        ({"lines": [{"item_id": "I1", "quantity": "1"}]}, "lines[0].unit_price"),
        ({"lines": [{"item_id": "I1", "quantity": "1", "unit_price": "1", "tax": "1"}]}, "lines[0].tax"),
        ({"lines": [{"item_id": "I1", "quantity": "1", "unit_price": "1"}] * 1001}, "lines"),
        ({"discount": "5"}, "discount"),
    ],
)
def test_a_wrong_field_is_named(change, field):
    with pytest.raises(InvalidInput) as caught:
        read_packed_order({**GOOD, **change})
    assert caught.value.field == field
    assert caught.value.explanation


def test_quickbooks_limits_are_not_api_errors():
    """Too long for QuickBooks, or not Latin-1: accepted here, the invoice is blocked with an Action later."""
    read = read_packed_order({**GOOD, "po_number": "P" * 60, "memo": "Ship to Zürich \u2192 gate \u4e00"})
    assert read["po_number"] == "P" * 60
