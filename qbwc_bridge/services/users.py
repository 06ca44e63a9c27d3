"""Admin users: bookkeepers (one account) and support staff (all accounts)."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import security
from ..errors import Conflict
from ..store.models import User, UserRole
from .accounts import get_account

MIN_PASSWORD_LENGTH = 10
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_user(session: Session, email: str, password: str, role: str, account_id: int | None = None) -> User:
    """Raises: ValueError (bad email, role, short password, bookkeeper without account), Conflict."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError(f"{email!r} is not an email address")
    role = UserRole(role).value
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
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
