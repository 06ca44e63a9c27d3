"""log_failure: the database away is one warning line; anything else an error with its traceback."""
from __future__ import annotations

import logging

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from qbwc_bridge.store.db import log_failure

log = logging.getLogger("tests.log_failure")


def _database_away() -> OperationalError:
    return OperationalError("SELECT 1", {}, psycopg.OperationalError("connection refused"))


def test_the_database_away_is_a_warning_without_traceback(caplog):
    caplog.set_level(logging.WARNING)
    try:
        raise _database_away()
    except OperationalError:
        log_failure(log, "the loop failed; trying again in %g s", 5)
    [record] = caplog.records
    assert (record.levelno, record.exc_info) == (logging.WARNING, None)
    assert record.getMessage() == "the loop failed; trying again in 5 s (the database is unavailable: OperationalError)"


def test_an_error_given_rather_than_being_handled(caplog):
    caplog.set_level(logging.WARNING)
    log_failure(log, "account %d: driving it failed", 7, error=_database_away())
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.WARNING, "account 7: driving it failed (the database is unavailable: OperationalError)")]


@pytest.mark.parametrize("bug", [KeyError("x"), IntegrityError("INSERT", {}, psycopg.errors.UniqueViolation("duplicate key"))])
def test_anything_else_is_an_error_with_its_traceback(caplog, bug):
    caplog.set_level(logging.WARNING)
    try:
        raise bug
    except Exception:
        log_failure(log, "the loop failed")
    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (logging.ERROR, "the loop failed")
    assert record.exc_info[1] is bug
