"""Live mode: a Web Connector session that has finished its work stays open for a while.

Instead of answering 100 (done) the session answers 99, then ``""`` to sendRequestXML and ``NoOp``
to getLastError, so the Web Connector pauses ~5 s and asks again (PROTOCOL.md §1): an order
packed meanwhile goes out at the next ask instead of at the next scheduled run.

The clock starts when the session first runs out of work and is never moved on by later work,
so a session lasts at most its work plus the account's minutes. It stops at once when the
setting is turned off, on any error of the session (QBWC ends a session after -1 anyway), and
when QuickBooks reports another user working on the data (:data:`~.status.IN_USE_BY_ANOTHER_USER`).
Nothing else changes: a message set is handed out and answered as in any session, so none is
held longer, and its in-flight timeout is the same.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from ...store.models import Account, SessionState, WebConnectorSession
from .status import IN_USE_BY_ANOTHER_USER

# What receiveResponseXML answers when the work is done but the session stays open: 100 would end it.
IDLE_PERCENT = 99


def keep_open(ws: WebConnectorSession, account: Account, now: dt.datetime) -> bool:
    """Whether ``ws``, out of work now, stays open; the first time it is, its live-mode clock starts."""
    minutes = account.live_mode_minutes or 0
    # An ended session (closed, superseded) is never kept: a NoOp would have its Web Connector ask forever.
    if minutes <= 0 or ws.state != SessionState.OPEN.value or ws.last_error or ws.fatal_error:
        return False
    if ws.live_until is None:
        ws.live_until = now + dt.timedelta(minutes=minutes)
    return now < ws.live_until


def is_idling(ws: WebConnectorSession, now: dt.datetime) -> bool:
    """Whether ``ws`` is past its work and inside its live-mode minutes."""
    return ws.live_until is not None and now < ws.live_until


def note_statuses(ws: WebConnectorSession, codes: Iterable[int], now: dt.datetime) -> None:
    """Stop idling once QuickBooks says another user is working on the data: they may need the file."""
    if IN_USE_BY_ANOTHER_USER.intersection(codes):
        ws.live_until = now


def closing_message(ws: WebConnectorSession) -> str | None:
    """getLastError's words for a session whose live mode has run out (None: it never idled)."""
    if ws.live_until is None:
        return None
    return "Live mode is over for this run: the next scheduled run connects again."
