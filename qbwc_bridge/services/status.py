"""How an account's connection stands, in the words the help article uses.

"Connecting" (with progress and counts) until the initial sync is done, then
"Connected"; the last contact with QuickBooks; and, when the last exchange
failed, what happened and what to do. What only one backend can say (how it waits, how
it falls silent, its own fields) comes from the account's backend. The progress itself comes from the sync engine
(:func:`qbwc_bridge.sync.progress.connection_progress`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .. import backends, durations
from ..domain import ItemMatchField
from ..errors import NotFound
from ..store.models import Account, AccountKind, BtItem, ConnectionStatus, QbItem, QboConnection, utcnow
from ..sync.progress import connection_progress
from .catalog import match_summary

LABELS = {
    ConnectionStatus.NOT_CONNECTED.value: "Not connected",
    ConnectionStatus.CONNECTING.value: "Connecting",
    ConnectionStatus.CONNECTED.value: "Connected",
    ConnectionStatus.ERROR.value: "Error",
}
RECONNECT_NEEDED = "reconnect_needed"
RECONNECT_ACTION = (
    "Click Reconnect on the integration page and sign in to Intuit again as a QuickBooks administrator. "
    "Nothing is lost meanwhile: the waiting invoices and changes go on once the company is connected again."
)
# Intuit's refresh tokens expire after 100 days without use: warn this long before.
AUTHORIZATION_WARNING = dt.timedelta(days=14)
# Errors whose action does not depend on the backend; every other error carries its own (``error_action``).
_ACTIONS_BY_CODE = {
    RECONNECT_NEEDED: RECONNECT_ACTION,
    "unreadable_response": "This is a fault in the bridge, not in your data. Report it to support.",
}


def account_status(
    db: Session,
    account_id: int,
    *,
    silent_after: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    panel: bool = False,
) -> dict[str, Any]:
    """Status, label and plain-words message, progress, counts, last contact and the current error.

    With ``silent_after``, a QuickBooks that has not reached us for longer than that is the error shown
    (see :func:`silence`).
    With ``panel`` (the admin's status panel, on every page), only what the panel shows for
    the status is worked out: progress and the mirror's counts while Connecting, the match
    summaries once Connected, neither otherwise (``progress`` is then empty and ``counts``
    holds what was worked out).

    Raises:
        NotFound: no such account.
    """
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    silent = silence(db, account, now or utcnow(), silent_after)
    if silent is not None:
        error = silent
        status, message = ConnectionStatus.ERROR.value, f"{silent['message']} {silent['action']}"
    else:
        error, status, message = _error(account), account.status, _message(account)
    backend = backends.for_account(account)
    progress: dict[str, Any] = {}
    if not panel or status == ConnectionStatus.CONNECTING.value:
        progress = connection_progress(db, account)
    counts = dict(progress.get("counts") or {})
    if not panel or status == ConnectionStatus.CONNECTED.value:
        counts["items"] = match_summary(db, account_id, "items")
        counts["customers"] = match_summary(db, account_id, "customers")
    return {
        "status": status,
        "label": LABELS.get(status, status),
        "message": message,
        "progress": {"phase": progress.get("phase"), "percent": progress.get("percent")},
        "counts": counts,
        "last_contact_at": account.last_contact_at.isoformat() if account.last_contact_at else None,
        "company_name": account.company_name,
        "company_file_name": account.company_file_name,
        **backend.status_fields(account),
        "error": error,
        "quickbooks": quickbooks(db, account),
        "warning": authorization_warning(db, account, now or utcnow()) or sku_warning(db, account),
    }


def quickbooks(db: Session, account: Account) -> dict[str, Any]:
    """Which QuickBooks the account is linked to: the kind always, the Online company once connected.

    ``authorization_expires_at`` is when a person must consent again (the refresh token's
    expiry), not the hourly access token's.
    """
    online = account.kind == AccountKind.ONLINE.value
    connection = db.get(QboConnection, account.id) if online else None
    return {
        "kind": account.kind,
        "realm_id": connection.realm_id if connection else None,
        "company_name": connection.company_name if connection else None if online else account.company_name,
        "environment": connection.environment if connection else None,
        "authorization_expires_at": connection.refresh_expires_at.isoformat() if connection else None,
    }


def authorization_warning(db: Session, account: Account, now: dt.datetime) -> str | None:
    """Plain words when the Online authorization runs out within :data:`AUTHORIZATION_WARNING`, else None.

    Every token refresh moves the expiry on, so this shows only for a company the bridge has not
    reached for a long time (no work for months, or a worker that is not running).
    """
    if account.kind != AccountKind.ONLINE.value or account.error_code == RECONNECT_NEEDED:
        return None
    connection = db.get(QboConnection, account.id)
    if connection is None or connection.refresh_expires_at - now > AUTHORIZATION_WARNING:
        return None
    left = connection.refresh_expires_at - now
    when = f"in {durations.in_words(left)}" if left > dt.timedelta(minutes=1) else "now"
    return (
        f"QuickBooks Online's authorization for BlueTrace runs out {when} "
        f"({connection.refresh_expires_at:%Y-%m-%d %H:%M} UTC). Click Reconnect on the integration page and sign in "
        "to Intuit to renew it before then, or nothing more reaches QuickBooks."
    )


SKU_WARNING = (
    "None of the QuickBooks items carries a SKU, while BlueTrace's items have SKUs, so no item can match. In "
    "QuickBooks Online turn on SKUs (Settings \u2192 Account and settings \u2192 Sales \u2192 Products and services "
    "\u2192 Show SKU column), enter them on the items, then click Re-sync; or match items by name on the Items tab."
)


def sku_warning(db: Session, account: Account) -> str | None:
    """A hint when items match on QuickBooks' Sku field and the company's items carry none (SKUs turned off)."""
    if account.item_match_field != ItemMatchField.SKU.value:
        return None

    def some(model, *conditions) -> bool:
        return bool(db.scalar(select(exists().where(model.account_id == account.id, *conditions))))

    if some(QbItem, QbItem.sku.is_not(None)) or not some(QbItem) or not some(BtItem, BtItem.sku.is_not(None)):
        return None
    return SKU_WARNING


def silence(db: Session, account: Account, now: dt.datetime, silent_after: dt.timedelta | None) -> dict[str, Any] | None:
    """The error of an account whose QuickBooks stopped reaching us, or None (the backend decides)."""
    return backends.for_account(account).silence(db, account, now, silent_after)


def _message(account: Account) -> str:
    backend = backends.for_account(account)
    if account.status == ConnectionStatus.NOT_CONNECTED.value:
        return backend.waiting_message
    if account.status == ConnectionStatus.CONNECTING.value:
        return backend.connecting_message
    if account.status == ConnectionStatus.CONNECTED.value:
        company = f" ({account.company_name})" if account.company_name else ""
        return f"Connected to QuickBooks{company}."
    return account.status_message or backend.failed_message


def _error(account: Account) -> dict[str, Any] | None:
    """The current error split into what happened and what to do, or None."""
    if account.status != ConnectionStatus.ERROR.value:
        return None
    code = account.error_code or "unknown"
    action = _ACTIONS_BY_CODE.get(code) or account.error_action
    message = account.status_message or backends.for_account(account).failed_message
    if action and message.endswith(action):
        message = message[: -len(action)].rstrip()
    return {
        "code": code,
        "message": message,
        "action": action,
        "at": account.error_at.isoformat() if account.error_at else None,
    }
