"""Reading values that BlueTrace's backend (or an import file) sends us, field by field.

Each reader returns the clean value or raises :class:`InvalidInput` naming the field,
so the API answers 422 with ``error.field`` and the import reports the line and field.
They are pure functions (no database), property-tested in tests/unit.

Text is refused when PostgreSQL could not store it (NUL, lone surrogates) or when it
holds control characters a person would never type: both are bugs on the sender's
side, and accepting them would only move the failure to QuickBooks.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from ..errors import NeedsPerson

# C0 controls and DEL; tab, CR and LF are allowed only in multi-line text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINE_BREAKS = re.compile(r"[\t\r\n]")
_PLAIN_DECIMAL = re.compile(r"-?(\d+(\.\d*)?|\.\d+)")
# ASCII digits only: int() also reads "٣" and " 3", and str.isdigit() says yes to "²", which int() refuses.
_WHOLE_NUMBER = re.compile(r"[0-9]+")
# What fits NUMERIC(20, 5): 15 digits before the point, 5 after.
MONEY_MAX = Decimal("999999999999999.99999")
MONEY_PLACES = Decimal("0.00001")
_EMAIL = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+")


class InvalidInput(NeedsPerson):
    """One value is wrong; ``field`` is its JSON path (``bill_address.city``)."""

    def __init__(self, field: str, message: str):
        # "sku must be a string": a message starting lower-case is about the field and
        # reads as a sentence after its name; a capitalised one is a sentence already.
        sentence = f"{field} {message}" if message[:1].islower() else message
        super().__init__(sentence)
        self.field = field
        self.problem = message


def text(
    value: Any,
    field: str,
    *,
    max_length: int,
    required: bool = False,
    multiline: bool = False,
) -> str | None:
    """A trimmed string; None for null or blank unless ``required``.

    Raises:
        InvalidInput: not a string, blank when required, too long, or holding characters
        that cannot be stored.
    """
    if value is None:
        if required:
            raise InvalidInput(field, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be a string, not {_json_type(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(field, "is not valid Unicode text (it holds a lone surrogate)") from None
    value = value.strip()
    if _CONTROL.search(value) or (not multiline and _LINE_BREAKS.search(value)):
        raise InvalidInput(field, "holds control characters (line breaks, tabs or invisible codes)")
    if not value:
        if required:
            raise InvalidInput(field, "must not be blank")
        return None
    if len(value) > max_length:
        raise InvalidInput(field, f"is {len(value)} characters long; at most {max_length} are allowed")
    return value


def identifier(value: Any, field: str, *, max_length: int = 100) -> str:
    """A record id from BlueTrace (a path segment or an import column): exact, non-blank.

    Raises:
        InvalidInput: blank, padded with spaces, holding "/" or control characters, or too long.
    """
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(field, "must be a non-blank string")
    if value != value.strip():
        raise InvalidInput(field, "must not start or end with spaces")
    if "/" in value:  # it could never be named in an API path (/items/{item_id})
        raise InvalidInput(field, "must not contain \"/\"")
    return text(value, field, max_length=max_length, required=True)


def whole_number(value: str | None, field: str, *, minimum: int, maximum: int, default: int) -> int:
    """A whole number sent as text (a query string's ``?page=``), ``default`` when absent or empty.

    The bounds keep it inside what the database can hold and what a person could mean:
    a page past every 64-bit integer would otherwise reach SQL and fail there.

    Raises:
        InvalidInput: not plain ASCII digits, or outside ``minimum``..``maximum``.
    """
    if value is None or value == "":
        return default
    # Compared as text first: int() of thousands of digits is slow, and refused past 4300.
    if not _WHOLE_NUMBER.fullmatch(value) or len(value) > len(str(maximum)) or not (
        minimum <= int(value) <= maximum
    ):
        raise InvalidInput(field, f"must be a whole number from {minimum} to {maximum}, not {value[:40]!r}")
    return int(value)


def json_whole_number(value: Any, field: str, *, minimum: int, maximum: int) -> int:
    """A JSON integer from ``minimum`` to ``maximum``; true/false are refused (they hide mistakes).

    5.0 is read as 5: JSON Schema calls it an integer, so a client generated from our OpenAPI may send it.

    Raises:
        InvalidInput: not an integer, or out of bounds.
    """
    if isinstance(value, (float, Decimal)):  # the API reads JSON numbers with a point as Decimal
        try:
            whole = minimum <= value <= maximum and value == int(value)
        except (ArithmeticError, ValueError):  # NaN, infinity
            whole = False
        if whole:
            return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        # A huge number is not echoed: str() of thousands of digits is slow, and refused past 4300.
        small = isinstance(value, int) and not isinstance(value, bool) and -10**12 < value < 10**12
        shown = value if small else _json_type(value)
        raise InvalidInput(field, f"must be a whole number from {minimum} to {maximum}, not {shown}")
    return value


def money(value: Any, field: str) -> Decimal | None:
    """A non-negative amount with at most 5 decimal places, from a JSON number or string.

    JSON numbers must reach us as ``Decimal`` or ``int`` (the API parses with
    ``parse_float=Decimal``); a Python float here means someone lost digits already, so
    it is refused rather than silently rounded.

    Raises:
        InvalidInput: not a number, negative, too large or too precise.
    """
    if value is None:
        return None
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidInput(field, f"must be a decimal amount such as \"12.50\", not {_json_type(value)}")
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if not _PLAIN_DECIMAL.fullmatch(stripped):
            raise InvalidInput(field, f"must be a decimal amount such as \"12.50\", not {value[:40]!r}")
        amount = Decimal(stripped)
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise InvalidInput(field, f"must be a decimal amount such as \"12.50\", not {_json_type(value)}")
    if not amount.is_finite():
        raise InvalidInput(field, "must be a finite amount")
    if amount < 0:
        raise InvalidInput(field, "must not be negative")
    if amount > MONEY_MAX:
        raise InvalidInput(field, f"is too large (at most {MONEY_MAX})")
    try:
        exact = amount.quantize(MONEY_PLACES)
    except InvalidOperation:
        raise InvalidInput(field, "has too many digits") from None
    if exact != amount:
        raise InvalidInput(field, "has more than 5 decimal places")
    return exact


def money_text(amount: Decimal | None) -> str | None:
    """How amounts leave the bridge: a JSON string with 2 to 5 decimal places ("12.50").

    The same on both backends (PostgreSQL hands back 5 places, SQLite what was stored).
    """
    if amount is None:
        return None
    amount = amount.normalize()
    if amount.as_tuple().exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return format(amount, "f")


def boolean(value: Any, field: str) -> bool:
    """A JSON true/false (strings such as "yes" are refused: they hide mistakes).

    Raises:
        InvalidInput: anything but a boolean.
    """
    if not isinstance(value, bool):
        raise InvalidInput(field, f"must be true or false, not {_json_type(value)}")
    return value


def choice(value: Any, field: str, allowed: Iterable[str]) -> str:
    """One of ``allowed``.

    Raises:
        InvalidInput: any other value, with the allowed ones listed.
    """
    allowed = list(allowed)
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(field, f"must be one of {', '.join(allowed)}")
    return value


def email(value: Any, field: str, *, max_length: int = 320) -> str | None:
    """One email address (trimmed; case kept as sent); None when null or blank.

    Raises:
        InvalidInput: not a single address (several addresses, spaces, no "@").
    """
    address = text(value, field, max_length=max_length)
    if address is not None and not _EMAIL.fullmatch(address):
        raise InvalidInput(field, f"is not one email address: {address[:60]!r}")
    return address


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float, Decimal)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
