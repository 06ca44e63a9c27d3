"""Our copy of the QuickBooks lists needed for matching: idempotent upserts.

Records arrive as typed qbXML records (a Ret type name and a dict of fields); a record
we already hold with the same EditSequence is left alone, so replaying a page is free.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy.orm import Session

from ..store.models import QbAccount, QbTerms


def _bool(value) -> bool:
    return str(value).strip().lower() != "false"


def _time(value) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def upsert_terms(db: Session, account_id: int, records: Iterable) -> int:
    count = 0
    for record in records:
        fields = record.fields
        row = db.get(QbTerms, (account_id, fields["ListID"])) or QbTerms(account_id=account_id, list_id=fields["ListID"])
        row.full_name = fields.get("Name", "")
        row.edit_sequence = fields.get("EditSequence")
        row.time_modified = _time(fields.get("TimeModified"))
        row.is_active = _bool(fields.get("IsActive", "true"))
        days = fields.get("StdDueDays")
        row.days_due = int(days) if days not in (None, "") else None
        db.add(row)
        count += 1
    return count


def upsert_accounts(db: Session, account_id: int, records: Iterable) -> int:
    count = 0
    for record in records:
        fields = record.fields
        row = db.get(QbAccount, (account_id, fields["ListID"])) or QbAccount(
            account_id=account_id, list_id=fields["ListID"]
        )
        row.full_name = fields.get("FullName") or fields.get("Name", "")
        row.edit_sequence = fields.get("EditSequence")
        row.time_modified = _time(fields.get("TimeModified"))
        row.is_active = _bool(fields.get("IsActive", "true"))
        row.account_type = fields.get("AccountType")
        db.add(row)
        count += 1
    return count
