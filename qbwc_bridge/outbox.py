"""The per-account outbox: durable operations waiting to travel to QuickBooks.

The sync engine writes *what* must happen here; a backend decides *how* it travels
(Desktop: drained inside Web Connector sessions; Online: pushed over REST). Every state
change happens inside the caller's unit of work, so an operation is never both sent and
pending, and nothing is lost when a process dies.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Exists, and_, bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from .errors import OurBug
from .store.db import inserted_row
from .store.models import OperationState, OutboxOperation, utcnow

_TABLE = OutboxOperation.__table__

READY_STATES = (OperationState.PENDING.value, OperationState.UNCONFIRMED.value)
# Backoff for transient failures (locks, QuickBooks busy): 1, 2, 4 ... minutes, capped.
BACKOFF_BASE_SECONDS = 60
BACKOFF_MAX_SECONDS = 30 * 60


def enqueue(
    session: Session,
    account_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    dedupe_key: str | None = None,
    priority: int = 100,
    depends_on_id: int | None = None,
) -> OutboxOperation | None:
    """Add an operation; with a ``dedupe_key`` an existing one with that key wins.

    Returns the new operation, or None when the key was already queued. Uses an
    INSERT ... ON CONFLICT DO NOTHING so two processes racing on one key cannot both win.
    """
    values = dict(
        account_id=account_id,
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        priority=priority,
        depends_on_id=depends_on_id,
        state=OperationState.PENDING.value,
        attempts=0,
        verify_first=False,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    insert = _INSERTS[session.get_bind().dialect.name == "postgresql", dedupe_key is not None]
    session.flush()  # as the session's own execute would: a plain INSERT skips the ORM's autoflush
    operation_id = session.execute(insert, values).scalar()
    if operation_id is None:
        return None
    return inserted_row(session, OutboxOperation, {"id": operation_id, **values}, read_back=("payload",))


def _insert(dialect, dedupe: bool):
    columns = ("account_id", "kind", "payload", "dedupe_key", "priority", "depends_on_id", "state", "attempts",
               "verify_first", "created_at", "updated_at")  # fmt: skip
    insert = dialect.insert(_TABLE).values({name: bindparam(name) for name in columns})
    if dedupe:
        insert = insert.on_conflict_do_nothing(index_elements=["account_id", "dedupe_key"])
    # Only the new id: the rest of the row is what was sent (inserted_row), and reading it back as an
    # entity cost more than the INSERT itself (every packed order).
    return insert.returning(_TABLE.c.id)


# Built once, with the values as parameters: an INSERT built with its values (the payload too) was keyed
# for the statement cache value by value, which cost more than running it (every packed order).
_INSERTS = {(pg, dedupe): _insert(postgresql if pg else sqlite, dedupe) for pg in (False, True) for dedupe in (False, True)}


# Built once: a fresh alias per call cost more than the query it filters (authenticate asks on
# every Web Connector run whether anything is ready).
_DEPENDENCY = aliased(OutboxOperation, name="dependency")


def _ready_clause(account_id: int, now: dt.datetime):
    return and_(
        OutboxOperation.account_id == account_id,
        OutboxOperation.state.in_(READY_STATES),
        or_(OutboxOperation.not_before.is_(None), OutboxOperation.not_before <= now),
        or_(
            OutboxOperation.depends_on_id.is_(None),
            select(_DEPENDENCY.id)
            .where(_DEPENDENCY.id == OutboxOperation.depends_on_id, _DEPENDENCY.state == OperationState.DONE.value)
            .exists(),
        ),
    )


def ready(session: Session, account_id: int, now: dt.datetime, limit: int) -> Sequence[OutboxOperation]:
    """Operations that may be sent now, in order (priority, then age).

    An operation whose dependency is not done yet waits: a customer and the invoice
    that needs it never share a message set.
    """
    return session.scalars(_READY, {"account_id": account_id, "now": now, "limit": limit}).all()


def has_ready(session: Session, account_id: int, now: dt.datetime) -> bool:
    """Whether anything may be sent now: stops at the first such operation instead of counting them all."""
    session.flush()  # what the caller queued or requeued counts (plain SQL below skips the ORM's autoflush)
    return session.connection().scalar(_HAS_READY, {"account_id": account_id, "now": now})


# Built once, with parameters: building and keying a statement cost more than running it (these run in
# every authenticate, sendRequestXML and receiveResponseXML).
_READY_PARAMS = _ready_clause(bindparam("account_id"), bindparam("now"))
_READY = (select(OutboxOperation).where(_READY_PARAMS).order_by(OutboxOperation.priority, OutboxOperation.id)
          .limit(bindparam("limit")))  # fmt: skip
_DEPENDENCY_ROW = _TABLE.alias("dependency")


def ready_exists(account_id, now) -> Exists:
    """SQL for :func:`has_ready`, to put inside a bigger statement: ``account_id`` and ``now`` are SQL
    expressions (a bound parameter, or a column of the outer statement)."""
    # On the table, not the entity: plain SQL on the connection, without the ORM's bookkeeping.
    return select(_TABLE.c.id).where(
        _TABLE.c.account_id == account_id,
        _TABLE.c.state.in_(READY_STATES),
        or_(_TABLE.c.not_before.is_(None), _TABLE.c.not_before <= now),
        or_(_TABLE.c.depends_on_id.is_(None),
            select(_DEPENDENCY_ROW.c.id).where(_DEPENDENCY_ROW.c.id == _TABLE.c.depends_on_id,
                                               _DEPENDENCY_ROW.c.state == OperationState.DONE.value).exists()),
    ).exists()


_HAS_READY = select(ready_exists(bindparam("account_id"), bindparam("now")))


def count_ready(session: Session, account_id: int, now: dt.datetime) -> int:
    return session.scalar(_COUNT_READY, {"account_id": account_id, "now": now})


_COUNT_READY = select(func.count()).select_from(OutboxOperation).where(_READY_PARAMS)  # every receiveResponseXML


def mark_unconfirmed(op: OutboxOperation, *, not_before: dt.datetime | None = None) -> None:
    """QuickBooks may hold what ``op`` asked for, or not: look it up before anything is sent again.

    ``verify_first`` stays set through every later detour until a look-up has answered. ``not_before``
    keeps it waiting while the message set that carried it may still be applied by QuickBooks.
    """
    op.state = OperationState.UNCONFIRMED.value
    op.verify_first = True
    op.not_before = not_before


def looked_up(op: OutboxOperation) -> None:
    """A look-up answered that QuickBooks does not hold it: send it (again), from now on blind-safe."""
    op.state = OperationState.PENDING.value
    op.verify_first = False
    op.not_before = None
    op.error_code = op.error_message = None


def back_to_ready(op: OutboxOperation) -> None:
    """Ready to go again as it was: a look-up still owed stays unconfirmed, anything else is pending."""
    op.state = OperationState.UNCONFIRMED.value if op.verify_first else OperationState.PENDING.value


def retry_later(op: OutboxOperation, now: dt.datetime, code: str, message: str) -> None:
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(op.attempts - 1, 0), BACKOFF_MAX_SECONDS)
    back_to_ready(op)
    op.not_before = now + dt.timedelta(seconds=delay)
    op.error_code, op.error_message = code, message


def requeue(op: OutboxOperation) -> None:
    """Send a failed operation again from scratch: a person fixed what stopped it.

    Raises:
        OurBug: the operation did not fail (in flight, unconfirmed or done: sending it again could duplicate it).
    """
    if op.state != OperationState.FAILED.value:
        raise OurBug(f"operation #{op.id} is {op.state}: only a failed operation can be queued again")
    op.state = OperationState.PENDING.value
    op.not_before = None
    op.error_code = op.error_message = None


def succeed(op: OutboxOperation, result: dict[str, Any] | None = None) -> None:
    op.state = OperationState.DONE.value
    op.verify_first = False
    op.result = result
    op.error_code = op.error_message = None


def fail(op: OutboxOperation, code: str, message: str) -> None:
    op.state = OperationState.FAILED.value
    op.error_code, op.error_message = code, message


def depth(session: Session, account_id: int) -> tuple[int, dt.datetime | None]:
    """How many operations wait, and since when (support's health view)."""
    row = session.execute(
        select(func.count(), func.min(OutboxOperation.created_at)).where(
            OutboxOperation.account_id == account_id, OutboxOperation.state.in_(READY_STATES + ("sent",))
        )
    ).one()
    oldest = row[1]
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.timezone.utc)
    return row[0], oldest
