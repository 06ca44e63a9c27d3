"""One entity's records in one company (Items, Customers, ...), kept in Id order.

Ids are increasing integers written as strings, so appending keeps ``rows`` in Id
order and a page of an unfiltered query is a slice: STARTPOSITION paging through 100k
records costs O(page), not O(position). ``active`` holds the active rows in the same
order, for the name lists' default "active only". Deleting or deactivating is O(n),
which is fine: tests do it a handful of times.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class Tombstone:
    """A deleted (or merged-away) record, for change data capture."""

    id: str
    deleted_at: datetime


class RecordTable:
    def __init__(self, entity: str) -> None:
        self.entity = entity
        self.by_id: dict[str, Record] = {}
        self.rows: list[Record] = []
        self.active: list[Record] = []
        self.tombstones: list[Tombstone] = []
        self.last_id = 0

    def next_id(self) -> str:
        self.last_id += 1
        return str(self.last_id)

    def insert(self, record: Record) -> Record:
        """Store a record whose Id came from :meth:`next_id` (so it sorts last)."""
        self.by_id[record["Id"]] = record
        self.rows.append(record)
        if record.get("Active", True):
            self.active.append(record)
        return record

    def get(self, record_id: str) -> Record | None:
        return self.by_id.get(record_id)

    def set_active(self, record: Record, active: bool) -> None:
        was_active = record.get("Active", True)
        record["Active"] = active
        if was_active and not active:
            self.active.remove(record)
        elif active and not was_active:
            keys = [int(r["Id"]) for r in self.active]
            self.active.insert(bisect.bisect(keys, int(record["Id"])), record)

    def delete(self, record_id: str, at: datetime) -> Record:
        record = self.by_id.pop(record_id)
        self.rows.remove(record)
        if record.get("Active", True):
            self.active.remove(record)
        self.tombstones.append(Tombstone(record_id, at))
        return record

    def __len__(self) -> int:
        return len(self.rows)
