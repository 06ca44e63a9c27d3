"""Reading BlueTrace records from an import file: CSV or NDJSON, line by line.

CSV: a header row names the columns (``item_id, sku, name, description, sales_price,
purchase_cost, kind, active``; ``customer_id, name, company_name, billing_email, phone,
bill_address.line1 .. bill_address.country, ship_address.*, active``). Unknown columns
are ignored; an empty cell clears the field (an empty ``kind``/``active`` keeps it).
NDJSON: one JSON object per line, shaped like the API's PUT body plus the id.

Each record comes out with the line it starts on, so every refusal can say where;
values are only shaped like the API's JSON here, and checked by the API's own readers
when stored (:mod:`.imports`). A line that cannot be a record (not UTF-8, a NUL byte,
longer than :data:`MAX_LINE_BYTES`, a CSV cell past the csv module's limit) is one
line-numbered refusal and the lines after it are still read; a file that is not UTF-8
at all (a UTF-16 or UTF-32 byte-order mark, or a CSV header that is not text) is one
clear error before any row is stored.
"""
from __future__ import annotations

import codecs
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
#: Far above any real record (the longest field the API takes is 4,095 characters), small enough
#: that one line never holds much memory: a file without line breaks is read in pieces of this size.
MAX_LINE_BYTES = 1024 * 1024
_FOREIGN_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32", codecs.BOM_UTF32_BE: "UTF-32",  # before UTF-16: UTF-32 LE starts alike
    codecs.BOM_UTF16_LE: "UTF-16", codecs.BOM_UTF16_BE: "UTF-16",
}


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
        FileRefused: the file is UTF-16 or UTF-32, or the CSV header is unreadable or lacks the id column.
    """
    lines = _decoded_lines(stream, on_bytes)
    id_field = _id_field(kind)
    if fmt == "csv":
        return _csv_rows(lines, kind, id_field)
    return _ndjson_rows(lines, id_field)


def _decoded_lines(stream: IO[bytes], on_bytes: Callable[[int], None] | None) -> Iterator[tuple[int, str | None, str | None]]:
    """(line number, text, None) per physical line, or (line number, None, why it cannot be read).

    Raises:
        FileRefused: the first line starts with a UTF-16 or UTF-32 byte-order mark.
    """
    number = 0
    while raw := stream.readline(MAX_LINE_BYTES + 1):
        number += 1
        if on_bytes is not None:
            on_bytes(len(raw))
        if number == 1:
            _refuse_foreign_encoding(raw)
            raw = raw.removeprefix(codecs.BOM_UTF8)  # a byte-order mark from spreadsheet exports
        if len(raw) > MAX_LINE_BYTES:
            # Skip the rest of the line in bounded pieces, so the next line is read as one.
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE_BYTES)
                if on_bytes is not None:
                    on_bytes(len(raw))
            yield number, None, f"the line is longer than {MAX_LINE_BYTES} bytes"
        elif b"\x00" in raw:
            yield number, None, "the line holds a NUL byte (is the file UTF-16?)"
        else:
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError:
                yield number, None, "the line is not UTF-8 text"


def _refuse_foreign_encoding(first_line: bytes) -> None:
    for bom, encoding in _FOREIGN_BOMS.items():
        if first_line.startswith(bom):
            raise FileRefused(
                "file", f"The file is {encoding} text; save it as UTF-8 (in Excel: CSV UTF-8) and import it again."
            )


def _ndjson_rows(lines: Iterable[tuple[int, str | None, str | None]], id_field: str) -> Iterator[Row | RowError]:
    for number, line, problem in lines:
        if problem is not None:
            yield RowError(number, problem)
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


def _csv_rows(lines: Iterable[tuple[int, str | None, str | None]], kind: str, id_field: str) -> Iterator[Row | RowError]:
    bad_lines: list[tuple[int, str]] = []  # unreadable lines, handed to the csv reader as empty ones

    def text_lines() -> Iterator[str]:
        for number, line, problem in lines:
            if problem is not None:
                if number == 1:
                    raise FileRefused("file", f"The header (line 1) cannot be read: {problem}.")
                bad_lines.append((number, problem))
                yield "\n"
            else:
                yield line

    reader = csv.reader(text_lines())
    header = _next_record(reader)
    if header is None:
        return
    if isinstance(header, csv.Error):
        raise FileRefused("file", f"The header (line 1) is not CSV: {header}.")
    columns = [name.strip().lower() for name in header]
    if id_field not in columns:
        raise FileRefused(id_field, f"the CSV header has no {id_field} column (it has: {', '.join(columns)})")
    convert = _csv_item if kind == "items" else _csv_customer
    previous_end = reader.line_num
    while (cells := _next_record(reader)) is not None:
        line = previous_end + 1
        previous_end = reader.line_num
        if bad_lines and bad_lines[0][0] <= previous_end:
            problem = bad_lines[0][1]
            while bad_lines and bad_lines[0][0] <= previous_end:
                bad_lines.pop(0)
            yield RowError(line, problem)
            continue
        if isinstance(cells, csv.Error):
            yield RowError(line, f"the row cannot be read as CSV ({cells})")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield RowError(line, f"the row has {len(cells)} cells but the header names {len(columns)} columns")
            continue
        record = dict(zip(columns, cells))
        record_id = record.pop(id_field, "")
        yield _row(line, record_id, id_field, convert(record))


def _next_record(reader) -> list[str] | csv.Error | None:
    """The next record, the csv module's refusal of it (e.g. a cell over 128 KiB), or None at the end.

    After a refusal the reader starts afresh on the next line, so one bad row costs only itself.
    """
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        return exc


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
