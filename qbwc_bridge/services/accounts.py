"""Accounts and their API tokens; the login a backend's QuickBooks uses to reach us comes from the backend.

A Desktop account is created with one (``Backend.create_login``); resetting or disconnecting it
is the Desktop backend's too (``backends/desktop/credentials.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from .. import backends, security
from ..errors import NotFound
from ..store.models import Account, AccountKind, Installation, WebhookEndpoint


@dataclass(frozen=True)
class NewAccount:
    """What is shown once when an account is created; secrets are never shown again."""

    account_id: int
    name: str
    kind: str
    api_token: str
    file_id: str
    wc_username: str | None  # the backend's login (``Backend.create_login``), None when it has none
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
    """Create an account with a fresh API token (and its backend's login, when the backend has one).

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
    username, password = backends.for_kind(kind).create_login(session, account) or (None, None)
    return NewAccount(account.id, account.name, kind, api_token, account.file_id, username, password)


def get_account(session: Session, account_id: int) -> Account:
    """Raises: NotFound."""
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound(f"account {account_id} does not exist")
    return account


def account_for_api_token(session: Session, token: str) -> tuple[Account, WebhookEndpoint | None] | None:
    """The account a token opens, with its webhook endpoint (None: it has none), or None.

    The endpoint comes in the same statement: most API writes record a webhook event, and asking
    whether the account listens cost a round trip of its own.
    """
    if not token:
        return None
    found = session.execute(_BY_TOKEN, {"token_hash": security.token_hash(token)}).first()
    return None if found is None else (found.Account, found.WebhookEndpoint)


_BY_TOKEN = (select(Account, WebhookEndpoint).outerjoin(WebhookEndpoint, WebhookEndpoint.account_id == Account.id)
             .where(Account.api_token_hash == bindparam("token_hash")))  # built once: every API call


def rotate_api_token(session: Session, account_id: int) -> str:
    """A new API token (shown once); only its hash is kept, so the old one is refused from the commit on.

    Raises:
        NotFound: no such account.
    """
    account = get_account(session, account_id)
    token = security.new_token()
    account.api_token_hash = security.token_hash(token)
    return token
