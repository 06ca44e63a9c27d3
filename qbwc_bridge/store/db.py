"""Engine and unit-of-work factory. Nothing connects at import time.

One unit of work per SOAP call, HTTP request or CLI command (``with store.begin() as s``).
SQLite is made to behave like a server database for concurrent writers: WAL, a busy
timeout, foreign keys on, and ``BEGIN IMMEDIATE`` so that two writers queue instead of
failing half-way through with "database is locked".
"""
from __future__ import annotations

import collections
import contextlib
import functools
import logging
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from ..config import Settings


class Store:
    """The database of one deployment: an engine plus a session factory."""

    def __init__(self, database_url: str, *, echo: bool = False):
        self.url = make_url(database_url)
        self.engine = _create_engine(database_url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time and its busy handler polls with growing sleeps, so
        # eight threads contending for BEGIN IMMEDIATE starve each other (p99 > 1 s in
        # bench/bench_invoices.py). Queuing this process's units of work on a lock wakes the
        # next one as soon as the last commits; other processes still wait on busy_timeout.
        self._sqlite_writer = FifoLock() if self.url.get_backend_name() == "sqlite" else None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Store":
        return cls(settings.database_url)

    @property
    def is_postgresql(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    @contextlib.contextmanager
    def begin(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any exception."""
        with self._sqlite_writer or contextlib.nullcontext(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection outside any transaction, for a read that one statement answers: each statement
        sees what was committed when it began. No BEGIN or COMMIT (round trips on a server database),
        and on SQLite no writer's lock: readers never queue behind writers."""
        # SQLite's connections are in autocommit already (see "begin" below); asking SQLAlchemy for
        # AUTOCOMMIT there would hand the connection back in pysqlite's implicit-transaction mode.
        options = {NO_TRANSACTION: True} if self._sqlite_writer else {"isolation_level": "AUTOCOMMIT"}
        with self.engine.connect().execution_options(**options) as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()


class FifoLock:
    """A reentrant lock handed to its waiters in the order they came.

    threading.RLock lets whichever waiter the scheduler wakes first take it: with 8 threads
    queuing for SQLite's writer, one unit of work could wait behind fifteen others while
    another waited behind none, and that spread was the p99 of a packed order.
    """

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiters: collections.deque[tuple[int, threading.Lock]] = collections.deque()
        self._owner: int | None = None
        self._depth = 0

    def __enter__(self) -> "FifoLock":
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return self
            if self._owner is None:
                self._owner, self._depth = me, 1
                return self
            gate = threading.Lock()
            gate.acquire()
            self._waiters.append((me, gate))
        gate.acquire()  # opened by the owner before us, who made us the owner
        return self

    def __exit__(self, *exc_info) -> None:
        with self._mutex:
            self._depth -= 1
            if self._depth:
                return
            if not self._waiters:
                self._owner = None
                return
            self._owner, gate = self._waiters.popleft()
            self._depth = 1
            gate.release()


# The execution option of Store.read's SQLite connections: no BEGIN IMMEDIATE.
NO_TRANSACTION = "qbwc_bridge_no_transaction"
# A server database's pooled connection resting longer than this is checked before it is used again.
PING_AFTER_IDLE_SECONDS = 1.0
_LAST_USED = "qbwc_bridge.last_used"


def _create_engine(database_url: str, *, echo: bool) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        engine = create_engine(url, echo=echo, future=True)

        @event.listens_for(engine, "checkin")
        def _note_last_use(_dbapi_connection, record):
            record.info[_LAST_USED] = time.monotonic()

        @event.listens_for(engine, "checkout")
        def _ping_after_a_pause(dbapi_connection, record, _proxy):
            # SQLAlchemy's pool_pre_ping, but only for a connection that rested: pinging before every
            # unit of work was a round trip per SOAP call (a fifth of a quiet poll's time). A database
            # restarted within the pause still fails one unit of work, which SQLAlchemy then treats as a
            # lost connection (503, pool emptied); the Web Connector's next run carries on.
            if time.monotonic() - record.info.get(_LAST_USED, -PING_AFTER_IDLE_SECONDS) < PING_AFTER_IDLE_SECONDS:
                return
            try:
                alive = engine.dialect.do_ping(dbapi_connection)
            except engine.dialect.loaded_dbapi.Error as exc:
                raise DisconnectionError("the pooled connection was lost") from exc
            if not alive:
                raise DisconnectionError("the pooled connection was lost")

        @event.listens_for(engine, "handle_error")
        def _read_only_drops_the_connection(context):
            # A read-only database (default_transaction_read_only, a hot standby after a failover)
            # is read by each connection once, when it opens: a pooled one would stay read-only
            # after the database is writable again. Treated as a lost connection, the pool is
            # emptied and the next request asks anew.
            if getattr(context.original_exception, "sqlstate", None) == READ_ONLY_SQLSTATE:
                context.is_disconnect = True

        return engine

    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        if not connection.get_execution_options().get(NO_TRANSACTION):  # Store.read
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# SQLSTATEs that mean "the database is away for now", not "this request is wrong": connection
# exceptions (08), insufficient resources such as a full disk (53), operator intervention such
# as a shutdown or restart (57), and a read-only transaction (25006).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
READ_ONLY_SQLSTATE = "25006"


def log_failure(logger: logging.Logger, message: str, *args: object, error: BaseException | None = None) -> None:
    """Log what failed in work that is tried again later: ``error``, else the exception being handled.

    The database away for a moment (see :func:`database_unavailable`) is one warning line saying so:
    it is not our bug, and a restart of PostgreSQL would otherwise fill the log with tracebacks. Any
    other exception is an error with its traceback.
    """
    error = error if error is not None else sys.exc_info()[1]
    if database_unavailable(error):
        logger.warning(message + " (the database is unavailable: %s)", *args, type(error).__name__)
    else:
        logger.error(message, *args, exc_info=error)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether ``error`` (or what caused it) says the database cannot serve us for the moment.

    Such a request deserves a 503 (try again), not a 500 (our bug): the database is down,
    restarting, unreachable, out of space or read-only.
    """
    for _ in range(10):  # the exception chain, bounded
        if error is None:
            return False
        if isinstance(error, DBAPIError):
            if error.connection_invalidated or isinstance(error, OperationalError):
                return True
            sqlstate = getattr(error.orig, "sqlstate", None) or ""
            if sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES or sqlstate == READ_ONLY_SQLSTATE:
                return True
        error = error.__cause__ or error.__context__
    return False


def check_connection(store: Store) -> None:
    """Raise if the database cannot answer a trivial query (used by /healthz)."""
    with store.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def plain_rows(db: Session, statement):
    """The rows of a SELECT of columns, read through the session's connection (Core).

    The ORM's loading step adds more than the read itself costs: twice its time at 100k
    rows. Pending changes are flushed first, as the session's own execute would.
    """
    db.flush()
    return db.connection().execute(statement)


Row = TypeVar("Row")


def inserted_row(db: Session, model: type[Row], values: Mapping[str, Any], *, read_back: tuple[str, ...] = ()) -> Row:
    """The row an INSERT has just written with ``values``, put in ``db`` as if it had been read back.

    The values sent are what is stored, and every column not sent holds its scalar default (or
    null): reading the whole row back (an ORM INSERT ... RETURNING the entity) cost more than the
    INSERT itself on the per-event path. The object is persistent and unchanged: changes made to it
    are flushed as an UPDATE, as for any row read. Columns named in ``read_back`` are read from the
    database when first used instead: a JSON value is stored in its own form (a tuple becomes a list,
    an enum its value), so the value sent is not always the value read.

    Raises:
        ValueError: a column whose stored value is not known here was not in ``values`` (the primary
            key, or one with a server-side or computed default).
    """
    defaults, required = _insert_defaults(model)
    if not values.keys() >= required:
        raise ValueError(f"{model.__name__}: the INSERT's values lack {sorted(required - values.keys())}")
    known = {**defaults, **values}
    for name in read_back:
        del known[name]
    instance = model(**known)
    make_transient_to_detached(instance)  # what was not given is expired: read on first use
    db.add(instance)
    return instance


@functools.cache
def _insert_defaults(model: type) -> tuple[dict[str, Any], frozenset[str]]:
    """(the value each column not sent is stored with, the columns that must be sent) for :func:`inserted_row`."""
    defaults, required = {}, set()
    for attribute in inspect(model).column_attrs:
        column = attribute.columns[0]
        default = column.default
        if column.primary_key or column.server_default is not None or (default is not None and not default.is_scalar):
            required.add(attribute.key)
        else:
            defaults[attribute.key] = default.arg if default is not None else None
    return defaults, frozenset(required)
