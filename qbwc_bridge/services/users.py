"""Admin users: bookkeepers (one account) and support staff (all accounts)."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import security, throttle
from ..errors import Conflict, NotFound
from ..store.models import LoginKind, User, UserRole, utcnow
from .accounts import get_account

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(session: Session, email: str, password: str, role: str, account_id: int | None = None) -> User:
    """Raises: ValueError (bad email, role, short password, bookkeeper without account), Conflict."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError(f"{email!r} is not an email address")
    role = UserRole(role).value
    _check_password(password)
    if role == UserRole.BOOKKEEPER.value:
        if account_id is None:
            raise ValueError("a bookkeeper belongs to one account: give --account")
        get_account(session, account_id)
    elif account_id is not None:
        raise ValueError("support staff see every account: do not give --account")
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"a user {email} already exists")
    user = User(email=email, password_hash=security.hash_password(password), role=role, account_id=account_id)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, email: str) -> User:
    """Raises: NotFound."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email.strip()!r} exists")
    return user


def disable_user(session: Session, email: str) -> User:
    """The user can no longer log in, and every admin session they have ends now.

    Raises:
        NotFound: no such user.
    """
    user = get_user(session, email)
    now = utcnow()
    user.disabled_at = user.disabled_at or now
    user.sessions_revoked_at = now
    return user


def reset_password(session: Session, email: str, password: str) -> User:
    """A new password; sessions started under the old one end (their cookie's fingerprint no longer matches).

    Raises:
        NotFound: no such user. ValueError: the password is too short.
    """
    _check_password(password)
    user = get_user(session, email)
    user.password_hash = security.hash_password(password)
    throttle.forget(session, LoginKind.ADMIN, user.email)
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
