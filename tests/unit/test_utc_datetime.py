"""UTCDateTime's one-call bind on SQLite writes what SQLAlchemy's own chain writes."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from qbwc_bridge.store.models import UTCDateTime, _sqlite_text

ZONES = (dt.timezone.utc, dt.timezone(dt.timedelta(hours=-5)), dt.timezone(dt.timedelta(hours=5, minutes=30)))


def _chain(value: dt.datetime) -> str:
    """The decorator's conversion, then SQLite's DATETIME formatting: what the shortcut stands in for."""
    dialect = sqlite.dialect()
    naive = UTCDateTime().process_bind_param(value, dialect)
    return DateTime().dialect_impl(dialect).bind_processor(dialect)(naive)


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("value", [dt.datetime(2026, 12, 3, 17, 45, 1, 123456), dt.datetime(999, 12, 31, 0, 0, 0, 1),
                                   dt.datetime(2024, 2, 29)])
def test_the_sqlite_bind_writes_what_the_chain_writes(value, zone):
    aware = value.replace(tzinfo=zone)
    dialect = sqlite.dialect()
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is _sqlite_text
    assert bind(aware) == _chain(aware)
    assert bind(None) is None


def test_naive_datetimes_are_refused_on_every_backend():
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
        with pytest.raises(ValueError, match="naive datetime"):
            bind(dt.datetime(2026, 1, 1))
