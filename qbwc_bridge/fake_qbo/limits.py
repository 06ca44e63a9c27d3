"""Intuit's per-company limits: 10 requests at once, 500 per rolling minute, of which at most
40 batch calls (PROTOCOL §5.1).

A request over either limit is answered 429 / 3001 before anything is done. The
concurrency counted is what the client attempts: refused requests count while they are
being refused, so ``max_concurrency`` is the most requests one company had in flight at
once, which is what "a 429 storm still finishes with <= 10 concurrent calls" measures.
The minute window runs on the fake clock, so a frozen clock never frees it: tests that
send more than 500 calls either move the clock or turn the limit off (``None``).
"""
from __future__ import annotations

import math
from collections import deque
from datetime import datetime, timedelta

from .clock import Clock

WINDOW = timedelta(minutes=1)


class RealmLimits:
    def __init__(self, clock: Clock, max_concurrent: int | None = 10, per_minute: int | None = 500,
                 batches_per_minute: int | None = 40) -> None:
        self.clock = clock
        self.max_concurrent = max_concurrent
        self.per_minute = per_minute
        self.batches_per_minute = batches_per_minute
        self.in_flight: dict[str, int] = {}
        self.max_concurrency: dict[str, int] = {}
        self.recent: dict[str, deque[datetime]] = {}
        self.recent_batches: dict[str, deque[datetime]] = {}
        self.refusals: dict[str, int] = {}

    def enter(self, realm: str, batch: bool = False) -> float | None:
        """Count a request in; None when it may proceed, else seconds to wait (0 = unknown).

        Every ``enter`` must be followed by one ``leave``, refused or not.
        """
        in_flight = self.in_flight.get(realm, 0) + 1
        self.in_flight[realm] = in_flight
        self.max_concurrency[realm] = max(self.max_concurrency.get(realm, 0), in_flight)
        if self.max_concurrent is not None and in_flight > self.max_concurrent:
            return self._refuse(realm, 0)
        windows = [(self.recent, self.per_minute)] + ([(self.recent_batches, self.batches_per_minute)] if batch else [])
        for recent_by_realm, limit in windows:
            wait = self._wait(recent_by_realm.setdefault(realm, deque()), limit)
            if wait is not None:
                return self._refuse(realm, wait)
        for recent_by_realm, limit in windows:
            if limit is not None:
                recent_by_realm[realm].append(self.clock())
        return None

    def _wait(self, recent: deque[datetime], limit: int | None) -> float | None:
        """Seconds until the window has room again, or None when it has room now."""
        if limit is None:
            return None
        now = self.clock()
        while recent and recent[0] <= now - WINDOW:
            recent.popleft()
        if len(recent) >= limit:
            return math.ceil((recent[0] + WINDOW - now).total_seconds())
        return None

    def _refuse(self, realm: str, wait_seconds: float) -> float:
        self.refusals[realm] = self.refusals.get(realm, 0) + 1
        return wait_seconds

    def leave(self, realm: str) -> None:
        self.in_flight[realm] -= 1
