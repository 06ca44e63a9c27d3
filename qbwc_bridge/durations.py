"""Spans of time in the words a person reads at a glance, for status messages of every backend."""
from __future__ import annotations

import datetime as dt


def in_words(span: dt.timedelta) -> str:
    """``span`` in the largest whole unit: 25 minutes, 3 hours, 2 days (never less than "a minute")."""
    minutes = int(span.total_seconds() // 60)
    for size, unit in ((24 * 60, "day"), (60, "hour"), (1, "minute")):
        if minutes >= size:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "a minute"
