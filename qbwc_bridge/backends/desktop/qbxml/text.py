"""What text, money and quantities may go to QuickBooks Desktop, and in which form.

QuickBooks Desktop stores ISO-8859-1 (Latin-1) only. Anything else used to turn
into ``?`` silently; we transliterate the characters people paste without noticing
(curly quotes, dashes, ellipses, exotic spaces, bullets, the trademark sign) and
refuse everything else with a :class:`~qbwc_bridge.errors.DataError` that names the
record, the field and the character, so a person can fix it at the source.

Length policy (limits come from Intuit's ``qbxmlops130-annotated-samples.xml``):

* identifying fields (names, RefNumber, PONumber, part numbers, bar codes, e-mail,
  phone, address lines) are **never truncated**: two items cut to the same 31
  characters would become one item, a cut address delivers to the wrong door.
  Too long -> ``DataError`` saying how long it is and what the limit is.
* free text (descriptions, memos, notes) is **truncated deliberately** to the limit,
  with a DEBUG log, because nothing is matched on it and refusing a whole invoice
  for a long comment helps nobody.

Money and quantities are :class:`~decimal.Decimal` end to end. A ``float`` is a
programming error (``TypeError``); a value QuickBooks cannot hold exactly (too many
decimals, too many digits, NaN, infinity) is a ``DataError``: we never round money
on someone's behalf.
"""
from __future__ import annotations

import logging
import unicodedata
from decimal import Decimal
from enum import Enum

from ....errors import DataError

logger = logging.getLogger(__name__)

TRANSLITERATIONS: dict[str, str] = {
    # quotes and primes
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u2039": "<",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u203a": ">",
    # dashes and minus signs
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    # ellipsis, bullets, slashes
    "\u2026": "...", "\u2022": "*", "\u2023": "*", "\u2043": "-", "\u2219": "*", "\u25e6": "*", "\u2044": "/",
    # symbols missing from Latin-1
    "\u2122": "TM", "\u20ac": "EUR", "\u2116": "No.", "\u0152": "OE", "\u0153": "oe",
    # spaces: non-breaking (Latin-1 has it, but it breaks name matching) and the unicode ones
    "\u00a0": " ", "\u2000": " ", "\u2001": " ", "\u2002": " ", "\u2003": " ", "\u2004": " ",
    "\u2005": " ", "\u2006": " ", "\u2007": " ", "\u2008": " ", "\u2009": " ", "\u200a": " ",
    "\u202f": " ", "\u205f": " ", "\u3000": " ",
    # invisible characters that only cause mismatches
    "\u200b": "", "\u200c": "", "\u200d": "", "\u2060": "", "\ufeff": "", "\u00ad": "",
}
_TRANSLATION_TABLE = str.maketrans(TRANSLITERATIONS)
_LINE_BREAKS = str.maketrans({"\r": " ", "\n": " ", "\t": " "})

AMOUNT_DIGITS, AMOUNT_DECIMALS = 13, 2  # AMTTYPE:   [+-]?[0-9]{1,13}(\.[0-9]{2})?
PRICE_DIGITS, PRICE_DECIMALS = 10, 5  # PRICETYPE: [+-]?[0-9]{1,10}(\.[0-9]{1,5})?
QUANTITY_DIGITS, QUANTITY_DECIMALS = 10, 5  # QUANTYPE: same pattern as PRICETYPE


class Overflow(Enum):
    """What to do with text longer than QuickBooks allows."""

    REFUSE = "refuse"  # identifying fields: names, numbers, addresses, contact details
    TRUNCATE = "truncate"  # free text: descriptions, memos, notes


def _describe(character: str) -> str:
    name = unicodedata.name(character, None)
    return f"{character!r} ({name})" if name else f"U+{ord(character):04X}"


def to_latin1(value: str, *, record: str, field: str, label: str, multiline: bool = False) -> str:
    """Return ``value`` in a form QuickBooks stores faithfully.

    Normalises to NFC (so a decomposed ``e`` + accent becomes ``é``), transliterates
    :data:`TRANSLITERATIONS`, strips surrounding whitespace and, unless ``multiline``,
    turns line breaks and tabs into spaces.

    Raises:
        TypeError: ``value`` is not a ``str``.
        DataError: a character has no Latin-1 form, or is a control character.
    """
    if not isinstance(value, str):
        raise TypeError(f"{label} of {record} must be text, not {type(value).__name__}")
    text = unicodedata.normalize("NFC", value).translate(_TRANSLATION_TABLE)
    if not multiline:
        text = text.translate(_LINE_BREAKS)
    text = text.strip()
    for character in text:
        code = ord(character)
        if code > 0xFF:
            raise DataError(
                f"The {label} of {record} contains {_describe(character)}, a character QuickBooks cannot store. "
                "Replace it in BlueTrace, then sync again.",
                record=record,
                field=field,
                action=f"Replace {character!r} in the {label} of {record}.",
            )
        if (code < 0x20 and character not in "\t\n\r") or 0x7F <= code <= 0x9F:
            raise DataError(
                f"The {label} of {record} contains an invisible control character (U+{code:04X}). "
                "Retype the text in BlueTrace, then sync again.",
                record=record,
                field=field,
                action=f"Retype the {label} of {record}.",
            )
    return text


def fit_length(text: str, max_length: int, overflow: Overflow, *, record: str, field: str, label: str) -> str:
    """Apply QuickBooks' maximum length to already-cleaned text (see module docstring).

    Raises:
        DataError: the text is too long and ``overflow`` is :attr:`Overflow.REFUSE`.
    """
    if len(text) <= max_length:
        return text
    if overflow is Overflow.TRUNCATE:
        logger.debug("Truncating %s of %s from %d to %d characters", label, record, len(text), max_length)
        return text[:max_length].rstrip()
    raise DataError(
        f"The {label} of {record} is {len(text)} characters long; QuickBooks allows at most {max_length}. "
        "Shorten it in BlueTrace, then sync again.",
        record=record,
        field=field,
        action=f"Shorten the {label} of {record} to {max_length} characters or fewer.",
    )


def clean_text(
    value: str,
    *,
    max_length: int | None,
    overflow: Overflow = Overflow.REFUSE,
    multiline: bool = False,
    record: str,
    field: str,
    label: str,
) -> str:
    """:func:`to_latin1` then :func:`fit_length`: the one call the renderer makes per text field.

    Raises:
        TypeError: ``value`` is not a ``str``.
        DataError: see :func:`to_latin1` and :func:`fit_length`.
    """
    text = to_latin1(value, record=record, field=field, label=label, multiline=multiline)
    if max_length is None:
        return text
    return fit_length(text, max_length, overflow, record=record, field=field, label=label)


def _format_decimal(
    value: Decimal | int, digits: int, decimals: int, *, exact_decimals: bool, record: str, field: str, label: str
) -> str:
    if isinstance(value, float):
        raise TypeError(f"{label} of {record} is a float ({value!r}); money and quantities must be Decimal")
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{label} of {record} must be a Decimal, not {type(value).__name__}")
    number = Decimal(value)
    if not number.is_finite():
        raise DataError(
            f"The {label} of {record} is not a number ({number}). Correct it in BlueTrace, then sync again.",
            record=record,
            field=field,
        )
    step = Decimal(1).scaleb(-decimals)
    quantized = number.quantize(step) if number.adjusted() < digits + 1 else number
    if quantized != number:
        raise DataError(
            f"The {label} of {record} is {number}, which has more than {decimals} decimal places; "
            "QuickBooks would round it. Round it in BlueTrace, then sync again.",
            record=record,
            field=field,
        )
    if abs(number) >= Decimal(10) ** digits:
        raise DataError(
            f"The {label} of {record} is {number}, larger than QuickBooks can hold "
            f"({digits} digits before the decimal point). Correct it in BlueTrace, then sync again.",
            record=record,
            field=field,
        )
    if exact_decimals:
        return format(quantized, "f")
    # Up to `decimals` places: keep what was given, but never scientific notation.
    if number.as_tuple().exponent < -decimals:  # e.g. 1.5000000 -> 1.50000
        number = quantized
    if number.as_tuple().exponent > 0:  # e.g. 1E+3 -> 1000
        number = number.quantize(Decimal(1))
    return format(number, "f")


def format_amount(value: Decimal | int, *, record: str, field: str, label: str) -> str:
    """Money as AMTTYPE: exactly two decimals (``"103.00"``).

    Raises:
        TypeError: a float, or not a number at all.
        DataError: NaN/infinity, more than 2 decimals, or 13+ digits before the point.
    """
    return _format_decimal(
        value, AMOUNT_DIGITS, AMOUNT_DECIMALS, exact_decimals=True, record=record, field=field, label=label
    )


def format_price(value: Decimal | int, *, record: str, field: str, label: str) -> str:
    """A unit price or cost as PRICETYPE: up to five decimals (``"0.12345"``).

    Raises:
        TypeError: a float, or not a number at all.
        DataError: NaN/infinity, more than 5 decimals, or 11+ digits before the point.
    """
    return _format_decimal(
        value, PRICE_DIGITS, PRICE_DECIMALS, exact_decimals=False, record=record, field=field, label=label
    )


def format_quantity(value: Decimal | int, *, record: str, field: str, label: str) -> str:
    """A quantity as QUANTYPE: up to five decimals.

    Raises:
        TypeError: a float, or not a number at all.
        DataError: NaN/infinity, more than 5 decimals, or 11+ digits before the point.
    """
    return _format_decimal(
        value, QUANTITY_DIGITS, QUANTITY_DECIMALS, exact_decimals=False, record=record, field=field, label=label
    )
