"""Reading BlueTrace records from an import file: CSV or NDJSON, line by line.

CSV: a header row names the columns (``item_id, sku, name, description, sales_price,
purchase_cost, kind, active``; ``customer_id, name, company_name, billing_email, phone,
bill_address.line1 .. bill_address.country, ship_address.*, active``). Unknown columns
are ignored; an empty cell clears the field (an empty ``kind``/``active`` keeps it).
NDJSON: one JSON object per line, shaped like the API's PUT body plus the id.

Each record comes out with the line it starts on, so every refusal can say where;
values are only shaped like the API's JSON here, and checked by the API's own readers
when stored (:mod:`.imports`).
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from . import validation as v

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_KEEP_WHEN_EMPTY = {"kind", "active"}


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: where, which field, why."""

    line: int
    message: str
    field: str | None = None
    record_id: str | None = None

    def __str__(self) -> str:
        where = f"line {self.line}" + (f" ({self.record_id})" if self.record_id else "")
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Row:
    """One record read from the file: its first line, id and the fields present."""

    line: int
    record_id: str
    data: dict[str, Any]


class FileRefused(v.InvalidInput):
    """The file as a whole cannot be imported (no id column, unknown format)."""


def detect_format(file_name: str) -> str:
    """csv or ndjson, from the file name. Raises: FileRefused."""
    lower = file_name.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith((".ndjson", ".jsonl", ".json")):
        return "ndjson"
    raise FileRefused("format", f"cannot tell the format of {file_name!r}: name it .csv or .ndjson, or pass --format")


def read_rows(
    stream: IO[bytes], kind: str, fmt: str, on_bytes: Callable[[int], None] | None = None
) -> Iterator[Row | RowError]:
    """Rows (or the error that stopped one) of a UTF-8 file, in order.

    ``on_bytes`` is told how many bytes each line took (for a progress bar).

    Raises:
        FileRefused: the CSV header lacks the id column.
    """
    lines = _decoded_lines(stream, on_bytes)
    id_field = _id_field(kind)
    if fmt == "csv":
        return _csv_rows(lines, kind, id_field)
    return _ndjson_rows(lines, id_field)


def _decoded_lines(stream: IO[bytes], on_bytes: Callable[[int], None] | None) -> Iterator[tuple[int, str | None]]:
    """(line number, text) per physical line; text None when the line is not UTF-8."""
    for number, raw in enumerate(stream, start=1):
        if on_bytes is not None:
            on_bytes(len(raw))
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):  # a byte-order mark from spreadsheet exports
            raw = raw[3:]
        try:
            yield number, raw.decode("utf-8")
        except UnicodeDecodeError:
            yield number, None


def _ndjson_rows(lines: Iterable[tuple[int, str | None]], id_field: str) -> Iterator[Row | RowError]:
    for number, line in lines:
        if line is None:
            yield RowError(number, "the line is not UTF-8 text")
            continue
        if not line.strip():
            continue
        try:
            data = json.loads(line, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            yield RowError(number, f"the line is not JSON ({exc})")
            continue
        if not isinstance(data, dict):
            yield RowError(number, "the line must hold one JSON object")
            continue
        record_id = data.pop(id_field, None)
        if isinstance(record_id, int) and not isinstance(record_id, bool):
            record_id = str(record_id)
        yield _row(number, record_id, id_field, data)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _csv_rows(lines: Iterable[tuple[int, str | None]], kind: str, id_field: str) -> Iterator[Row | RowError]:
    bad_lines: list[int] = []

    def text_lines() -> Iterator[str]:
        for number, line in lines:
            if line is None:
                bad_lines.append(number)
                yield "\n"
            else:
                yield line

    reader = csv.reader(text_lines())
    header = next(reader, None)
    if header is None:
        return
    columns = [name.strip().lower() for name in header]
    if id_field not in columns:
        raise FileRefused(id_field, f"the CSV header has no {id_field} column (it has: {', '.join(columns)})")
    convert = _csv_item if kind == "items" else _csv_customer
    previous_end = reader.line_num
    for cells in reader:
        line = previous_end + 1
        previous_end = reader.line_num
        if bad_lines and bad_lines[0] <= previous_end:
            while bad_lines and bad_lines[0] <= previous_end:
                bad_lines.pop(0)
            yield RowError(line, "the line is not UTF-8 text")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield RowError(line, f"the row has {len(cells)} cells but the header names {len(columns)} columns")
            continue
        record = dict(zip(columns, cells))
        record_id = record.pop(id_field, "")
        yield _row(line, record_id, id_field, convert(record))


def _csv_cell(name: str, value: str) -> Any:
    """A CSV cell as the API would receive it: empty is null, true/false words are booleans."""
    if not value.strip():
        return None
    if name == "active":
        word = value.strip().lower()
        return True if word in _TRUE else False if word in _FALSE else value
    return value


def _csv_item(record: dict[str, str]) -> dict[str, Any]:
    return {
        name: _csv_cell(name, value)
        for name, value in record.items()
        if not (name in _KEEP_WHEN_EMPTY and not value.strip())
    }


def _csv_customer(record: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, value in record.items():
        prefix, dot, key = name.partition(".")
        if dot and prefix in ("bill_address", "ship_address"):
            address = data.setdefault(prefix, {})
            if value.strip():
                address[key] = value
        elif not (name in _KEEP_WHEN_EMPTY and not value.strip()):
            data[name] = _csv_cell(name, value)
    for prefix in ("bill_address", "ship_address"):
        if prefix in data and not data[prefix]:
            data[prefix] = None
    return data


def _row(line: int, record_id: Any, id_field: str, data: dict[str, Any]) -> Row | RowError:
    try:
        return Row(line, v.identifier(record_id, id_field), data)
    except v.InvalidInput as exc:
        return RowError(line, str(exc), exc.field, record_id if isinstance(record_id, str) else None)


def _id_field(kind: str) -> str:
    return "item_id" if kind == "items" else "customer_id"
