"""How an account's connection stands, in the words the help article uses.

"Connecting" (with progress and counts) until the initial sync is done, then
"Connected"; the last time the Web Connector called; and, when the last session
failed, what happened and what to do. The progress itself comes from the sync engine
(:func:`qbwc_bridge.sync.progress.connection_progress`).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..backends.desktop.status import explain_hresult, parse_hresult
from ..errors import NotFound
from ..store.models import Account, ConnectionStatus
from ..sync.initial import LIST_REFUSED, LIST_REFUSED_ACTION
from ..sync.progress import connection_progress
from .catalog import match_summary

LABELS = {
    ConnectionStatus.NOT_CONNECTED.value: "Not connected",
    ConnectionStatus.CONNECTING.value: "Connecting",
    ConnectionStatus.CONNECTED.value: "Connected",
    ConnectionStatus.ERROR.value: "Error",
}
_ACTIONS_BY_CODE = {
    "wrong_company_file": "Open the company file this account was connected to, then run the Web Connector again.",
    "unreadable_response": "This is a fault in the bridge, not in your data. Report it to support.",
    LIST_REFUSED: LIST_REFUSED_ACTION,
}


def account_status(db: Session, account_id: int) -> dict[str, Any]:
    """Status, label and plain-words message, progress, counts, last contact and the current error.

    Raises:
        NotFound: no such account.
    """
    account = db.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    progress = connection_progress(db, account)
    counts = dict(progress.get("counts") or {})
    counts["items"] = match_summary(db, account_id, "items")
    counts["customers"] = match_summary(db, account_id, "customers")
    return {
        "status": account.status,
        "label": LABELS.get(account.status, account.status),
        "message": _message(account),
        "progress": {"phase": progress.get("phase"), "percent": progress.get("percent")},
        "counts": counts,
        "last_contact_at": account.last_contact_at.isoformat() if account.last_contact_at else None,
        "company_name": account.company_name,
        "company_file_name": account.company_file_name,
        "qbxml_version": account.qbxml_version,
        "error": _error(account),
    }


def _message(account: Account) -> str:
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
    action = _ACTIONS_BY_CODE.get(code)
    if action is None and parse_hresult(code) is not None:
        action = explain_hresult(code, "").action
    message = account.status_message or "The last Web Connector run failed."
    if action and message.endswith(action):
        message = message[: -len(action)].rstrip()
    return {
        "code": code,
        "message": message,
        "action": action,
        "at": account.error_at.isoformat() if account.error_at else None,
    }
