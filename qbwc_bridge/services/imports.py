"""Bulk import of BlueTrace items or customers (the first load), from CSV or NDJSON.

The rules are the API's (:func:`.catalog.read_item`, :func:`.catalog.read_customer`):
a bad row is reported with its line number and field and skipped, and every good row
is kept. Rows are stored in batches, one unit of work each, so 100k rows take seconds
and an interruption keeps what was committed (running the import again is safe: it is
an upsert). Re-matching happens once at the end, over what changed.

CSV: a header row names the columns (``item_id, sku, name, description, sales_price,
purchase_cost, kind, active``; ``customer_id, name, company_name, billing_email, phone,
bill_address.line1 .. bill_address.country, ship_address.*, active``). Unknown columns
are ignored; an empty cell clears the field (an empty ``kind``/``active`` keeps it).
NDJSON: one JSON object per line, shaped like the API's PUT body plus the id.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..store.db import Store
from ..store.models import Account, BtCustomer, BtItem, search_key, utcnow
from ..sync import customers as sync_customers
from ..sync import items as sync_items
from . import catalog
from . import validation as v

KINDS = ("items", "customers")
_MODELS = {"items": BtItem, "customers": BtCustomer}
FORMATS = ("csv", "ndjson")
DEFAULT_BATCH_SIZE = 1000
#: Above this many changed records, re-matching the whole account is as cheap as naming them.
REMATCH_ALL_ABOVE = 5000
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


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    rematched: int = 0
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.errors),
            "errors": [{"line": e.line, "record_id": e.record_id, "field": e.field, "message": e.message} for e in self.errors],
            "rematched": self.rematched,
            "counts": self.counts,
        }


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


# -- reading ------------------------------------------------------------------------------


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


# -- storing ------------------------------------------------------------------------------


def import_rows(
    store: Store,
    account_id: int,
    kind: str,
    rows: Iterable[Row | RowError],
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ImportResult:
    """Store ``rows`` in batches, then re-match what changed once.

    Raises:
        NotFound: no such account (checked before anything is stored).
    """
    with store.begin() as db:
        if db.get(Account, account_id) is None:
            raise NotFound(f"account {account_id} does not exist")
    result = ImportResult(kind)
    importer = _Importer(account_id, kind, result)
    batch: list[Row] = []
    analyzed = False
    for row in rows:
        if isinstance(row, RowError):
            result.errors.append(row)
            continue
        result.rows += 1
        batch.append(row)
        if len(batch) >= batch_size:
            importer.store_batch(store, batch)
            batch = []
            if not analyzed and result.created:
                _refresh_statistics(store, kind)
                analyzed = True
    if batch:
        importer.store_batch(store, batch)
    result.errors.sort(key=lambda error: error.line)
    if result.created:
        _refresh_statistics(store, kind, vacuum=True)
    with store.begin() as db:
        result.rematched = _rematch(db, account_id, kind, list(dict.fromkeys(importer.changed_ids)))
        result.counts = catalog.match_summary(db, account_id, kind)
    return result


def _refresh_statistics(store: Store, kind: str, *, vacuum: bool = False) -> None:
    """Let PostgreSQL's planner see the table's new size, and (``vacuum``) mark its pages
    all-visible so counts are index-only.

    A first load starts from an empty, never-analysed table, whose plans scan every row
    per batch instead of probing the primary key (quadratic), and whose counts read every
    row until autovacuum comes by. SQLite plans these queries well without statistics.
    """
    if not store.is_postgresql:
        return
    table = _MODELS[kind].__tablename__
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"{'VACUUM ' if vacuum else ''}ANALYZE {table}"))


def _rematch(db: Session, account_id: int, kind: str, changed: list[str]) -> int:
    """Re-match the changed records (all of the account's when there are many). Returns how many changed."""
    if not changed:
        return 0
    ids = None if len(changed) > REMATCH_ALL_ABOVE else changed
    account = db.get(Account, account_id)
    if kind == "items":
        sync_items.rematch_items(db, account, ids)
    else:
        sync_customers.rematch_customers(db, account, ids)
    return len(changed)


class _Importer:
    """Stores batches for one import, remembering SKUs claimed earlier in the same file."""

    def __init__(self, account_id: int, kind: str, result: ImportResult):
        self.account_id = account_id
        self.kind = kind
        self.result = result
        self.model = BtItem if kind == "items" else BtCustomer
        self.id_column = BtItem.item_id if kind == "items" else BtCustomer.customer_id
        self.read = catalog.read_item if kind == "items" else catalog.read_customer
        self.sku_owner: dict[str, str] = {}  # SKU -> item id, as this import left it
        # Every column a new record gets, so that one INSERT takes the whole batch.
        if kind == "items":
            self.blank = {"account_id": account_id, "sku": None, "name": None, "description": None, "sales_price": None,
                          "purchase_cost": None, "kind": "non_inventory", "active": True}
        else:
            self.blank = {"account_id": account_id, "name": None, "company_name": None, "billing_email": None,
                          "phone": None, "bill_address": None, "ship_address": None, "active": True}
        self.changed_ids: list[str] = []

    def store_batch(self, store: Store, batch: list[Row]) -> None:
        """One unit of work for the batch; if the database still refuses it (a SKU moving
        between two items of the batch), the batch is replayed row by row to find the culprits."""
        snapshot = (dict(self.sku_owner), len(self.changed_ids), self._tally())
        try:
            with store.begin() as db:
                self._apply(db, batch, one_by_one=False)
        except IntegrityError:
            self.sku_owner = snapshot[0]
            del self.changed_ids[snapshot[1]:]
            self._restore_tally(snapshot[2])
            with store.begin() as db:
                self._apply(db, batch, one_by_one=True)

    def _tally(self) -> tuple[int, int, int, int]:
        r = self.result
        return r.created, r.updated, r.unchanged, len(r.errors)

    def _restore_tally(self, tally: tuple[int, int, int, int]) -> None:
        r = self.result
        r.created, r.updated, r.unchanged = tally[:3]
        del r.errors[tally[3]:]

    def _apply(self, db: Session, batch: list[Row], *, one_by_one: bool) -> None:
        """Existing records are updated through the ORM; new ones are gathered and inserted
        with one multi-row INSERT (most of a first load), which is what makes 100k rows fast."""
        ids = list(dict.fromkeys(row.record_id for row in batch))
        existing = {
            getattr(record, self.id_column.key): record
            for record in db.scalars(
                select(self.model).where(self.model.account_id == self.account_id, self.id_column.in_(ids))
            )
        }
        if self.kind == "items":
            self._learn_sku_owners(db, batch)
        new: dict[str, dict[str, Any]] = {}
        for row in batch:
            if not one_by_one:
                self._count(row, self._apply_row(row, existing, new))
                continue
            savepoint = db.begin_nested()
            try:
                outcome = self._apply_row(row, existing, new)
                self._insert(db, new)
                db.flush()
                savepoint.commit()
            except IntegrityError:
                savepoint.rollback()
                existing.pop(row.record_id, None)
                self.result.errors.append(
                    RowError(row.line, "the database refused the row (its SKU is taken)", "sku", row.record_id)
                )
            else:
                self._count(row, outcome)
                if row.record_id not in existing and outcome == "created":
                    existing[row.record_id] = db.get(self.model, (self.account_id, row.record_id))
            new.clear()
        self._insert(db, new)

    def _insert(self, db: Session, new: dict[str, dict[str, Any]]) -> None:
        if not new:
            return
        now = utcnow()
        rows = []
        for values in new.values():
            values = {**values, "updated_at": now}
            if self.kind == "items":
                values["sku_key"] = search_key(values["sku"], 100)
                values["name_key"] = search_key(values["name"], 400)
            else:
                values["name_key"] = search_key(values["name"], 400)
                values["email_key"] = search_key(values["billing_email"], 320)
            rows.append(values)
        db.execute(insert(self.model.__table__), rows)

    def _count(self, row: Row, outcome: str | None) -> None:
        if outcome is None:
            return
        setattr(self.result, outcome, getattr(self.result, outcome) + 1)
        if outcome != "unchanged":
            self.changed_ids.append(row.record_id)

    def _learn_sku_owners(self, db: Session, batch: list[Row]) -> None:
        wanted = set()
        for row in batch:
            sku = row.data.get("sku")
            if isinstance(sku, str) and sku.strip() and sku.strip() not in self.sku_owner:
                wanted.add(sku.strip())
        if wanted:
            for item_id, sku in db.execute(
                select(BtItem.item_id, BtItem.sku).where(BtItem.account_id == self.account_id, BtItem.sku.in_(wanted))
            ):
                self.sku_owner[sku] = item_id

    def _apply_row(self, row: Row, existing: dict[str, Any], new: dict[str, dict[str, Any]]) -> str | None:
        """Validate and apply one row: "created", "updated", "unchanged", or None (reported as an error)."""
        record = existing.get(row.record_id)
        gathered = new.get(row.record_id)
        try:
            changes = self.read(row.data, creating=record is None and gathered is None)
        except v.InvalidInput as exc:
            self.result.errors.append(RowError(row.line, str(exc), exc.field, row.record_id))
            return None
        if self.kind == "items" and not self._claim_sku(row, record, changes, gathered):
            return None
        if gathered is not None:  # the same id twice in one batch: the later row wins
            gathered.update(changes)
            return "updated"
        if record is None:
            new[row.record_id] = {**self.blank, self.id_column.key: row.record_id, **changes}
            return "created"
        changed = False
        for key, value in changes.items():
            if getattr(record, key) != value:
                setattr(record, key, value)
                changed = True
        return "updated" if changed else "unchanged"

    def _claim_sku(self, row: Row, record: BtItem | None, changes: dict[str, Any], gathered: dict | None) -> bool:
        """Take the row's SKU for its item, unless another item holds it. Returns False (and reports) on a clash."""
        if "sku" not in changes:
            return True
        sku = changes["sku"]
        old = record.sku if record is not None else gathered.get("sku") if gathered is not None else None
        if sku is not None:
            owner = self.sku_owner.get(sku)
            if owner is not None and owner != row.record_id:
                self.result.errors.append(
                    RowError(row.line, f"SKU {sku!r} is already used by item {owner!r}; SKUs must be unique.", "sku", row.record_id)
                )
                return False
            self.sku_owner[sku] = row.record_id
        if old is not None and old != sku and self.sku_owner.get(old) == row.record_id:
            del self.sku_owner[old]
        return True
