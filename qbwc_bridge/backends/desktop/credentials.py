"""The Web Connector's login to one Desktop account: create it with the account, reset its password, or disconnect it.

Resetting and disconnecting end what a Web Connector holding the old password is doing: its open sessions are
revoked (every later call with their tickets is refused, a late answer is not believed) and
what they held becomes unconfirmed, to be looked up once the in-flight timeout has passed.
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import security, throttle
from ...errors import Conflict
from ...services.accounts import get_account
from ...store.models import Account, ConnectionStatus, LoginKind, SessionState, WebConnectorCredential, utcnow
from . import conversation


def create_login(session: Session, account: Account) -> tuple[str, str]:
    """The new account's Web Connector login: a username from its name, a generated password (shown once)."""
    username = _unique_username(session, account.name, account.id)
    password = security.new_password()
    session.add(WebConnectorCredential(account_id=account.id, username=username,
                                       password_hash=security.hash_generated_secret(password)))
    return username, password


def _unique_username(session: Session, name: str, account_id: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "account"
    candidate = f"bt-{slug}"
    if session.scalar(select(WebConnectorCredential).where(WebConnectorCredential.username == candidate)):
        candidate = f"bt-{slug}-{account_id}"
    return candidate


def reset_web_connector_password(session: Session, account_id: int, *, inflight_timeout: dt.timedelta) -> str:
    """A new Web Connector password (shown once) that also ends every open session of the account.

    A reset is how support answers a leaked password, so whoever holds a ticket issued under the
    old one must not keep working: its sessions are revoked (every later call with the ticket is
    refused, and a late answer is not believed) and what they held becomes unconfirmed, to be
    looked up once ``inflight_timeout`` has passed (``Settings.inflight_timeout``).

    Raises:
        NotFound: no such account. Conflict: the account is not a Desktop account.
    """
    account = get_account(session, account_id)
    if account.credential is None:
        raise Conflict(f"account {account_id} is a QuickBooks Online account: it has no Web Connector password")
    # The account row lock serialises the reset with authenticate and every call of a session.
    session.refresh(account, with_for_update=True)
    now = utcnow()
    for ws in conversation.open_sessions(session, account_id):
        conversation.end_session(session, ws, SessionState.REVOKED, now, inflight_timeout=inflight_timeout)
    password = security.new_password()
    account.credential.password_hash = security.hash_generated_secret(password)
    account.credential.password_set_at = now
    throttle.forget(session, LoginKind.WEB_CONNECTOR, account.credential.username)
    return password


def disconnect_web_connector(session: Session, account_id: int, *, inflight_timeout: dt.timedelta) -> None:
    """End a Desktop account's Web Connector link: it is refused from now on, and the account reads Not connected.

    What "disconnect" means for the Web Connector, which we cannot reach: its password is
    replaced by one nobody is shown (so the Web Connector that holds the old one is refused
    at its next run), every open session is revoked (what it held becomes unconfirmed, as for
    a password reset), and the status goes back to Not connected. The .qwc file, the mirrored
    lists and the matches stay: connecting again is making a new password on the Connect
    page and typing it into the Web Connector.

    Raises:
        NotFound: no such account. Conflict: the account is a QuickBooks Online account.
    """
    reset_web_connector_password(session, account_id, inflight_timeout=inflight_timeout)  # the new one is dropped
    account = get_account(session, account_id)
    account.status = ConnectionStatus.NOT_CONNECTED.value
    account.error_code = account.status_message = account.error_at = None
