"""The login throttle: wrong passwords counted per (login, source address), and the locks they earn.

Both logins (the Web Connector's ``authenticate`` and the admin's) use it the same way: ask
:func:`is_locked` first, always run one password verification, then :func:`record_failure`
or :func:`record_success`. Every step happens whether or not the login exists, so a failure
costs the same for an unknown login, a wrong password and a locked one.

A lock binds one source address only: Web Connector usernames are predictable
(``bt-<account>``), and a lock on the login itself would let anyone keep a customer's Web
Connector out for good with five tries every five minutes.

Counting is one ``INSERT … ON CONFLICT DO UPDATE SET failed_attempts = failed_attempts + 1
… RETURNING`` statement: concurrent failures each add one (a read-modify-write lost all but
one of twelve simultaneous failures on PostgreSQL).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, bindparam, case, delete, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .store.models import LoginKind, LoginThrottle, UTCDateTime

_LOGIN_LENGTH = LoginThrottle.login.property.columns[0].type.length
_SOURCE_LENGTH = LoginThrottle.source.property.columns[0].type.length


def source_key(source: str) -> str:
    """``source`` as stored and looked up (the column has a length)."""
    return source[:_SOURCE_LENGTH]


def login_key(login: str | None) -> str:
    """``login`` as stored and looked up: PostgreSQL refuses NUL in text, and columns have a length."""
    return (login or "").strip().replace("\x00", "\ufffd")[:_LOGIN_LENGTH]


def is_locked(db: Session, kind: LoginKind, login: str, source: str, now: dt.datetime) -> bool:
    """True while this source may not log in as ``login`` (whatever the password)."""
    return standing(db, kind, login, source, now)[1]


def standing(db: Session, kind: LoginKind, login: str, source: str, now: dt.datetime) -> tuple[bool, bool]:
    """(whether failures of this source at ``login`` are counted, whether it is locked), in one statement.

    The first tells :func:`record_success` whether it has anything to wipe: the Web Connector's
    right password, every run, then costs no write.
    """
    row = db.connection().execute(_STANDING, {"kind": kind.value, "login": login_key(login),
                                              "source": source[:_SOURCE_LENGTH]}).first()  # fmt: skip
    return row is not None, row is not None and row.locked_until is not None and row.locked_until > now


def record_failure(
    db: Session, kind: LoginKind, login: str, source: str, now: dt.datetime, *, max_failures: int, lockout: dt.timedelta
) -> int:
    """Count one failure (a locked attempt counts too); the ``max_failures``-th locks for ``lockout``.

    A count starts again once its lock has ended, or after ``lockout`` without a failure, so
    "in a row" means within one lockout window. Returns the failures counted so far.
    """
    db.execute(
        delete(LoginThrottle).where(
            _key(kind, login, source),
            or_(
                LoginThrottle.locked_until <= now,
                and_(LoginThrottle.locked_until.is_(None), LoginThrottle.last_failed_at < now - lockout),
            ),
        )
    )
    lock_until = literal(now + lockout, UTCDateTime())
    dialect = db.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(LoginThrottle).values(
        kind=kind.value,
        login=login_key(login),
        source=source[:_SOURCE_LENGTH],
        failed_attempts=1,
        locked_until=now + lockout if max_failures <= 1 else None,
        last_failed_at=now,
    )
    upsert = insert.on_conflict_do_update(
        index_elements=["kind", "login", "source"],
        set_={
            "failed_attempts": LoginThrottle.failed_attempts + 1,
            "last_failed_at": now,
            "locked_until": case(
                (
                    and_(LoginThrottle.locked_until.is_(None), LoginThrottle.failed_attempts + 1 >= max_failures),
                    lock_until,
                ),
                else_=LoginThrottle.locked_until,
            ),
        },
    )
    return db.execute(upsert.returning(LoginThrottle.failed_attempts)).scalar_one()


def last_failure(db: Session, kind: LoginKind, login: str) -> dt.datetime | None:
    """The latest refused attempt at ``login`` from any address, or None."""
    return db.scalar(select(func.max(LoginThrottle.last_failed_at))
                     .where(LoginThrottle.kind == kind.value, LoginThrottle.login == login_key(login)))  # fmt: skip


def record_success(db: Session, kind: LoginKind, login: str, source: str, *, counted: bool = True) -> None:
    """A right password from this source wipes its count (``counted=False``: :func:`standing` found none)."""
    if not counted:
        return
    db.execute(delete(LoginThrottle).where(_key(kind, login, source)))


def forget(db: Session, kind: LoginKind, login: str) -> None:
    """A new password: what was counted against the old one, from anywhere, no longer applies."""
    db.execute(delete(LoginThrottle).where(LoginThrottle.kind == kind.value, LoginThrottle.login == login_key(login)))


_THROTTLES = LoginThrottle.__table__.c
# Built once, on the table (no ORM entity, so it runs as plain SQL on the connection): every authenticate asks.
_STANDING = select(_THROTTLES.locked_until).where(
    _THROTTLES.kind == bindparam("kind"), _THROTTLES.login == bindparam("login"), _THROTTLES.source == bindparam("source"))


def _key(kind: LoginKind, login: str, source: str):
    return and_(
        LoginThrottle.kind == kind.value,
        LoginThrottle.login == login_key(login),
        LoginThrottle.source == source[:_SOURCE_LENGTH],
    )
