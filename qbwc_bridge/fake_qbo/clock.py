"""Time as the fake Intuit sees it: an injectable clock and QuickBooks' timestamp formats.

Tests expire tokens and age change-data-capture windows by moving the clock, never by
sleeping. QuickBooks writes times in the company's zone with an offset
(``2020-09-29T05:58:16-07:00`` in MetaData, milliseconds in the envelope's ``time``).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

Clock = Callable[[], datetime]

# The recordings come from a Pacific-time sandbox company; a fixed offset keeps the fake
# free of daylight-saving jumps (our decision: any offset is valid, clients must parse it).
PACIFIC = timezone(timedelta(hours=-8))


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class ManualClock:
    """A clock that only moves when told to: ``clock.advance(hours=1)``."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def metadata_time(moment: datetime, zone: timezone) -> str:
    """``2020-09-29T05:58:16-07:00``: MetaData.CreateTime / LastUpdatedTime."""
    return moment.astimezone(zone).replace(microsecond=0).isoformat()


def envelope_time(moment: datetime, zone: timezone) -> str:
    """``2020-09-29T05:58:16.187-07:00``: the ``time`` beside every answer."""
    local = moment.astimezone(zone)
    return local.isoformat(timespec="milliseconds")


@lru_cache(maxsize=65536)  # queries and CDC parse every record's MetaData; many share a moment
def parse_time(text: str) -> datetime:
    """An ISO timestamp as QuickBooks accepts it; a bare date or a naive time means UTC here.

    Our decision: Intuit reads an offset-less changedSince in the company's zone; clients
    should always send an offset, and the tests do.
    """
    value = text.strip()
    if len(value) == 10:
        parsed = datetime.combine(date.fromisoformat(value), datetime.min.time())
    else:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed
