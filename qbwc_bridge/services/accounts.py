"""Accounts, their API tokens and their Web Connector credentials."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import backends, security, throttle
from ..backends.desktop import conversation
from ..errors import Conflict, NotFound
from ..store.models import (
    Account, AccountKind, ConnectionStatus, Installation, LoginKind, SessionState, WebConnectorCredential, utcnow,
)


@dataclass(frozen=True)
class NewAccount:
    """What is shown once when an account is created; secrets are never shown again."""

    account_id: int
    name: str
    kind: str
    api_token: str
    file_id: str
    wc_username: str | None
    wc_password: str | None


def installation(session: Session) -> Installation:
    """The deployment's single Installation row, created on first use (OwnerID)."""
    row = session.get(Installation, 1)
    if row is None:
        row = Installation(id=1, owner_id=security.new_guid())
        session.add(row)
        session.flush()
    return row


def create_account(session: Session, name: str, kind: str) -> NewAccount:
    """Create an account with a fresh API token (and Web Connector login for Desktop).

    Raises:
        ValueError: unknown kind or empty name.
    """
    name = name.strip()
    if not name:
        raise ValueError("the account name is empty")
    kind = AccountKind(kind).value
    installation(session)
    api_token = security.new_token()
    account = Account(name=name, kind=kind, api_token_hash=security.token_hash(api_token), file_id=security.new_guid(),
                      item_match_field=backends.for_kind(kind).item_match_fields[0].value)
    session.add(account)
    session.flush()
    username = password = None
    if kind == AccountKind.DESKTOP.value:
        username = _unique_username(session, name, account.id)
        password = security.new_password()
        session.add(
            WebConnectorCredential(
                account_id=account.id, username=username, password_hash=security.hash_generated_secret(password)
            )
        )
    return NewAccount(account.id, account.name, kind, api_token, account.file_id, username, password)


def _unique_username(session: Session, name: str, account_id: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "account"
    candidate = f"bt-{slug}"
    if session.scalar(select(WebConnectorCredential).where(WebConnectorCredential.username == candidate)):
        candidate = f"bt-{slug}-{account_id}"
    return candidate


def get_account(session: Session, account_id: int) -> Account:
    """Raises: NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


def account_for_api_token(session: Session, token: str) -> Account | None:
    if not token:
        return None
    return session.scalar(select(Account).where(Account.api_token_hash == security.token_hash(token)))


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


def rotate_api_token(session: Session, account_id: int) -> str:
    """A new API token (shown once); only its hash is kept, so the old one is refused from the commit on.

    Raises:
        NotFound: no such account.
    """
    account = get_account(session, account_id)
    token = security.new_token()
    account.api_token_hash = security.token_hash(token)
    return token


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
