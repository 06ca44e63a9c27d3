"""Bulk import of BlueTrace items or customers (the first load), from CSV or NDJSON.

The rules are the API's (:func:`.catalog.read_item`, :func:`.catalog.read_customer`):
a bad row is reported with its line number and field and skipped, and every good row
is kept. Rows are stored in batches, one unit of work each, so 100k rows take seconds
and an interruption keeps what was committed (running the import again is safe: it is
an upsert). Re-matching happens once at the end, over what changed. The file formats
are read by :mod:`.import_files`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..store.db import Store
from ..store.models import Account, BtCustomer, BtItem, search_key, utcnow
from ..sync import records
from ..sync.facts import CUSTOMERS, ITEMS
from . import catalog
from . import validation as v
from .import_files import Row, RowError

_MODELS = {"items": BtItem, "customers": BtCustomer}
DEFAULT_BATCH_SIZE = 1000
#: Above this many changed records, re-matching the whole account is as cheap as naming them.
REMATCH_ALL_ABOVE = 5000


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
    records.rematch(db, account, ITEMS if kind == "items" else CUSTOMERS, ids)
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
