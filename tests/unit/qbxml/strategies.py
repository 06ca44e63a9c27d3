"""Hypothesis strategies that build request data for every field a request type declares.

Two flavours: ``sendable`` data a person could have typed that must always render
and validate, and ``hostile`` data (emoji, control characters, over-long text,
unrepresentable money) that must either render valid qbXML or be refused with a
DataError - never produce a message QuickBooks would reject.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import strategies as st

from qbwc_bridge.backends.desktop.qbxml import fields as f
from qbwc_bridge.backends.desktop.qbxml.render import REQUESTS

VERSIONS = [f.V(v) for v in ("5.0", "6.0", "7.0", "8.0", "9.0", "10.0", "11.0", "12.0", "13.0")]

# Printable Latin-1 without whitespace, soft hyphen or NBSP (those are legitimately cleaned away).
_LATIN1 = "".join(chr(c) for c in range(0x21, 0x7F)) + "".join(chr(c) for c in range(0xA1, 0x100) if c != 0xAD)
_TRICKY = "&<>\"';]]>é ü ß ñ Å ø … – — “ ” ‘ ’ • ™ € \u00a0\u2009\u200b\t\n"

list_ids = st.from_regex(r"[0-9A-F]{8}-[0-9]{10}", fullmatch=True)
offsets = st.sampled_from([None, dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=5, minutes=30))])  # fmt: skip
datetimes = st.builds(
    lambda moment, zone: moment.replace(tzinfo=zone),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2100, 1, 1)),
    offsets,
)


def _sendable_text(field: f.Field) -> st.SearchStrategy[str]:
    """Short text, or text of exactly the maximum length (where off-by-one limits show)."""
    size = min(field.max_length or 60, 5000)
    letters = st.sampled_from(_LATIN1)
    return st.one_of(st.text(letters, min_size=1, max_size=min(size, 40)), st.text(letters, min_size=size, max_size=size))


def _hostile_text(field: f.Field) -> st.SearchStrategy[str]:
    """Anything, at any length around the limit."""
    size = min(field.max_length or 60, 5000)
    alphabet = st.one_of(st.sampled_from(_TRICKY), st.sampled_from(_LATIN1), st.characters(codec="utf-8"))
    return st.one_of(st.text(alphabet, max_size=40), st.text(alphabet, min_size=size - 1, max_size=size + 2))


def _decimals(digits: int, max_places: int, *, sendable: bool) -> st.SearchStrategy[Decimal]:
    limit = Decimal(10) ** digits - 1
    valid = st.integers(0, max_places).flatmap(
        lambda places: st.decimals(min_value=-limit, max_value=limit, places=places, allow_nan=False, allow_infinity=False)
    )
    if sendable:
        return valid
    tiny_or_huge = st.sampled_from([Decimal("1E-9"), Decimal("0.000001"), Decimal("1E+20"), Decimal(10) ** digits])
    return st.one_of(valid, st.decimals(), tiny_or_huge)


def value(field: f.Field, *, sendable: bool) -> st.SearchStrategy:
    kind = field.kind
    if kind is f.Kind.TEXT:
        return _sendable_text(field) if sendable else _hostile_text(field)
    if kind is f.Kind.AMOUNT:
        return _decimals(13, 2, sendable=sendable)
    if kind in (f.Kind.PRICE, f.Kind.QUANTITY):
        return _decimals(10, 5, sendable=sendable)
    if kind is f.Kind.ID:
        return list_ids
    if kind is f.Kind.GUID:
        return st.uuids()
    if kind is f.Kind.DATE:
        return st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))
    if kind is f.Kind.DATETIME:
        return datetimes
    if kind is f.Kind.BOOL:
        return st.booleans()
    if kind is f.Kind.INT:
        return st.integers(1, 1000)
    if kind is f.Kind.CHOICE:
        return st.sampled_from(field.choices)
    if kind is f.Kind.TOKEN:
        return st.sampled_from(["ListID", "Name", "FullName", "EditSequence", "TimeModified", "IsActive"])
    assert kind is f.Kind.GROUP and field.children is not None
    return mapping(field.children, sendable=sendable, needed=field.needs_one_of[:1] if sendable else ())


def _one(field: f.Field, *, sendable: bool) -> st.SearchStrategy:
    strategy = value(field, sendable=sendable)
    if field.repeated:
        return st.lists(strategy, min_size=1 if field.required else 0, max_size=3)
    return strategy


def mapping(fields: dict[str, f.Field], *, sendable: bool, needed: tuple[str, ...] = ()) -> st.SearchStrategy[dict]:
    required = {k: _one(v, sendable=sendable) for k, v in fields.items() if v.required or k in needed}
    optional = {
        k: _one(v, sendable=sendable)
        for k, v in fields.items()
        if k not in required and k not in ("iterator", "iterator_id")
    }
    return st.fixed_dictionaries(required, optional=optional)


@st.composite
def request_data(draw, request_type: str, *, sendable: bool) -> dict:
    """Data for ``request_type``; queries keep to one selection (IDs, names or filters) as qbXML demands."""
    request = REQUESTS[request_type]
    data = draw(mapping(dict(request.fields), sendable=sendable))
    if request.selection_groups:
        keep = draw(st.sampled_from(request.selection_groups))
        for group in request.selection_groups:
            if group is not keep:
                for key in group:
                    data.pop(key, None)
    if "iterator" in request.fields:
        iterator = draw(st.sampled_from([None, "Start", "Continue"]))
        if iterator:
            data["iterator"] = iterator
        if iterator == "Continue":
            data["iterator_id"] = "{" + str(draw(st.uuids())) + "}"
    return data
