"""How an account's connection stands, in the words the help article uses.

"Connecting" (with progress and counts) until the initial sync is done, then
"Connected"; the last time the Web Connector called; and, when the last session
failed, what happened and what to do. The progress itself comes from the sync engine
(:func:`qbwc_bridge.sync.progress.connection_progress`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from .. import throttle
from ..domain import ItemMatchField
from ..errors import NotFound
from ..store.models import Account, AccountKind, BtItem, ConnectionStatus, LoginKind, QbItem, QboConnection, utcnow
from ..sync.initial import LIST_REFUSED, LIST_REFUSED_ACTION
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
_ACTIONS_BY_CODE = {
    RECONNECT_NEEDED: RECONNECT_ACTION,
    "wrong_company_file": "Open the company file this account was connected to, then run the Web Connector again.",
    "unreadable_response": "This is a fault in the bridge, not in your data. Report it to support.",
    LIST_REFUSED: LIST_REFUSED_ACTION,
}
SILENT = "web_connector_silent"
SILENT_ACTION = (
    "Check the computer where QuickBooks runs: is it on and awake, is QuickBooks open with this company file, "
    "and is the Web Connector running with Auto-Run ticked for BlueTrace? The error clears at the Web Connector's next run."
)

PASSWORD_REFUSED = "web_connector_password_refused"
PASSWORD_REFUSED_ACTION = (
    "The Web Connector is still calling, with a password that is no longer this account's (was it reset?). "
    "In Settings > Integration, reset the Web Connector password; in the Web Connector, type the new one into "
    "BlueTrace's Password column and press Enter. The error clears at its next run."
)


def account_status(
    db: Session,
    account_id: int,
    *,
    silent_after: dt.timedelta | None = None,
    now: dt.datetime | None = None,
    panel: bool = False,
) -> dict[str, Any]:
    """Status, label and plain-words message, progress, counts, last contact and the current error.

    With ``silent_after``, a Web Connector quiet for longer than that is the error shown (see :func:`silence`).
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
        "qbxml_version": account.qbxml_version,
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
    when = f"in {_duration(left)}" if left > dt.timedelta(minutes=1) else "now"
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
    """The error of a Desktop account whose Web Connector stopped calling, or None.

    Computed, never stored: the next call (which sets ``last_contact_at``) clears it, on any
    process, with nothing to reset. Only an account that was connected once (it has a last
    contact) can fall silent; before that, the status already says to run the Web Connector.
    Silence outranks a stored error: that error cannot be fixed or cleared until the Web
    Connector calls again. A Web Connector that does call, but is refused its password (typically
    after a reset), is told apart: checking the PC would not help that bookkeeper.
    """
    if (silent_after is None or account.kind != AccountKind.DESKTOP.value or account.last_contact_at is None
            or account.status == ConnectionStatus.NOT_CONNECTED.value):  # disconnected: not expected to call
        return None
    quiet = now - account.last_contact_at
    if quiet <= silent_after:
        return None
    refused_at = throttle.last_failure(db, LoginKind.WEB_CONNECTOR, account.credential.username) if account.credential else None
    if refused_at is not None and refused_at > account.last_contact_at:
        return {
            "code": PASSWORD_REFUSED,
            "message": f"The Web Connector called {_duration(now - refused_at)} ago, but its password was refused, "
                       "so nothing reaches QuickBooks.",
            "action": PASSWORD_REFUSED_ACTION,
            "at": refused_at.isoformat(),
        }  # fmt: skip
    return {
        "code": SILENT,
        "message": f"The Web Connector has not called for {_duration(quiet)}, so nothing reaches QuickBooks.",
        "action": SILENT_ACTION,
        "at": (account.last_contact_at + silent_after).isoformat(),
    }


def _duration(span: dt.timedelta) -> str:
    """``span`` in the largest whole unit a person reads at a glance: 25 minutes, 3 hours, 2 days."""
    minutes = int(span.total_seconds() // 60)
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "a minute"


def _message(account: Account) -> str:
    if account.kind == AccountKind.ONLINE.value and account.status == ConnectionStatus.NOT_CONNECTED.value:
        return "Click Connect, choose Quickbooks and sign in to Intuit as a QuickBooks administrator."
    if account.kind == AccountKind.ONLINE.value and account.status == ConnectionStatus.CONNECTING.value:
        return (
            "Connecting: BlueTrace is reading your QuickBooks Online terms, accounts, items and customers. "
            "This can take a while for a large company."
        )
    if account.status == ConnectionStatus.NOT_CONNECTED.value:
        return "Waiting for the first Web Connector run: add the .qwc file to the Web Connector and run it."
    if account.status == ConnectionStatus.CONNECTING.value:
        return (
            "Connecting: the Web Connector is reading your QuickBooks terms, accounts, items and customers. "
            "This can take up to an hour for a large company file."
        )
    if account.status == ConnectionStatus.CONNECTED.value:
        company = f" ({account.company_name})" if account.company_name else ""
        return f"Connected to QuickBooks{company}."
    return account.status_message or "The last Web Connector run failed."


def _error(account: Account) -> dict[str, Any] | None:
    """The current error split into what happened and what to do, or None."""
    if account.status != ConnectionStatus.ERROR.value:
        return None
    code = account.error_code or "unknown"
    action = _ACTIONS_BY_CODE.get(code) or account.error_action
    message = account.status_message or "The last Web Connector run failed."
    if action and message.endswith(action):
        message = message[: -len(action)].rstrip()
    return {
        "code": code,
        "message": message,
        "action": action,
        "at": account.error_at.isoformat() if account.error_at else None,
    }
