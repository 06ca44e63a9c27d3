"""The Web Connector sessions of an account and what was exchanged in each, for support's pages.

Read-only, secrets redacted on the way out (``services.diagnostics.redact``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...errors import NotFound
from ...services.diagnostics import LogEntry, log_entries
from ...services.pagination import Page, clamp
from ...store.models import ExchangeLogEntry, WebConnectorSession


@dataclass(frozen=True)
class SessionSummary:
    session: WebConnectorSession
    entries: int


def list_sessions(db: Session, account_id: int, *, page: int = 1, page_size: int = 25) -> Page:
    """The account's Web Connector sessions, newest first, each with its number of log entries."""
    page, page_size = clamp(page, page_size)
    total = db.scalar(select(func.count()).where(WebConnectorSession.account_id == account_id)) or 0
    counts = (
        select(ExchangeLogEntry.session_id, func.count().label("entries"))
        .where(ExchangeLogEntry.account_id == account_id)
        .group_by(ExchangeLogEntry.session_id)
        .subquery()
    )
    result = db.execute(
        select(WebConnectorSession, func.coalesce(counts.c.entries, 0))
        .outerjoin(counts, counts.c.session_id == WebConnectorSession.id)
        .where(WebConnectorSession.account_id == account_id)
        .order_by(WebConnectorSession.id.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return Page([SessionSummary(ws, entries) for ws, entries in result], total, page, page_size)


def session_log(db: Session, account_id: int, session_id: int) -> tuple[WebConnectorSession, list[LogEntry]]:
    """One session of the account and everything exchanged in it, in order, secrets redacted.

    Raises:
        NotFound: no such session for this account.
    """
    ws = db.get(WebConnectorSession, session_id)
    if ws is None or ws.account_id != account_id:
        raise NotFound(f"account {account_id} has no Web Connector session {session_id}")
    rows = db.scalars(
        select(ExchangeLogEntry)
        .where(ExchangeLogEntry.account_id == account_id, ExchangeLogEntry.session_id == session_id)
        .order_by(ExchangeLogEntry.id)
    )
    return ws, log_entries(rows)
