"""What support staff read to diagnose a customer's trouble: health and exchange logs.

Read-only views over the store, shared by the admin's support pages (and any future
API); a backend with sessions of its own lists them itself (Desktop: ``session_history``). Exchange-log bodies are redacted again on the way out, whatever was stored:
passwords, tickets and tokens never reach a support person's screen.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import outbox
from ..errors import NotFound
from ..store.models import Account, ExchangeLogEntry, utcnow
from .status import LABELS, silence

REDACTED = "[redacted]"
# Elements whose text is a secret, in any XML body we log (a SOAP envelope, a QuickBooks request): strPassword, ticket, ...
_SECRET_ELEMENT = re.compile(
    r"<(?P<tag>(?:[\w.-]+:)?[\w.-]*(?:password|ticket|token|secret|creditcardnumber|cardsecuritycode)[\w.-]*)"
    r"(?P<attrs>\s[^>]*)?>(?P<text>[^<]*)</(?P=tag)\s*>",
    re.IGNORECASE,
)
# The same words as key=value or key: value in plain-text summaries.
_SECRET_PAIR = re.compile(r"(?P<key>\b(?:password|ticket|token|secret)\b\s*[=:]\s*)(?P<value>[^\s,;&<]+)", re.IGNORECASE)


def redact(text: str | None) -> str | None:
    """``text`` with the contents of secret-bearing elements and key=value pairs replaced."""
    if text is None:
        return None
    text = _SECRET_ELEMENT.sub(lambda m: f"<{m['tag']}{m['attrs'] or ''}>{REDACTED}</{m['tag']}>", text)
    return _SECRET_PAIR.sub(lambda m: m["key"] + REDACTED, text)


@dataclass(frozen=True)
class AccountHealth:
    """One row of support's list of accounts."""

    account_id: int
    name: str
    kind: str
    status: str
    status_label: str
    last_contact_at: dt.datetime | None
    error: str | None
    error_at: dt.datetime | None
    outbox_depth: int
    oldest_waiting_at: dt.datetime | None


def account_health(
    db: Session, *, search: str | None = None, silent_after: dt.timedelta | None = None, now: dt.datetime | None = None
) -> list[AccountHealth]:
    """Every account (or those whose name contains ``search``), with what support checks first.

    With ``silent_after``, an account whose QuickBooks stopped reaching us shows that as its error.
    """
    now = now or utcnow()
    query = select(Account).order_by(Account.name, Account.id)
    if search and search.strip():
        query = query.where(func.lower(Account.name).contains(search.strip().lower(), autoescape=True))
    rows = []
    for account in db.scalars(query):
        depth, oldest = outbox.depth(db, account.id)
        silent = silence(db, account, now, silent_after)
        status = "error" if silent else account.status
        rows.append(
            AccountHealth(
                account_id=account.id,
                name=account.name,
                kind=account.kind,
                status=status,
                status_label=LABELS.get(status, status),
                last_contact_at=account.last_contact_at,
                error=f"{silent['message']} {silent['action']}" if silent else account.status_message if status == "error" else None,
                error_at=dt.datetime.fromisoformat(silent["at"]) if silent else account.error_at,
                outbox_depth=depth,
                oldest_waiting_at=oldest,
            )
        )
    return rows


@dataclass(frozen=True)
class LogEntry:
    at: dt.datetime
    operation: str
    direction: str
    summary: str
    body: str | None


def log_entries(rows) -> list[LogEntry]:
    return [LogEntry(row.at, row.operation, row.direction, redact(row.summary), redact(row.body)) for row in rows]


def logins_log(db: Session, account_id: int, *, limit: int = 50) -> list[LogEntry]:
    """The newest calls that opened no session: wrong passwords, locked logins, 'nothing to do'."""
    rows = db.scalars(
        select(ExchangeLogEntry)
        .where(ExchangeLogEntry.account_id == account_id, ExchangeLogEntry.session_id.is_(None))
        .order_by(ExchangeLogEntry.id.desc())
        .limit(limit)
    )
    return log_entries(rows)
