"""QuickBooks Online's per-company limits, kept by this process: 10 calls at once, 500 a minute.

Intuit counts per company (realm): at most 10 concurrent requests and 500 requests in any
minute (batch calls have their own 40 a minute; we do not use the batch endpoint). A
:class:`CompanyLimiter` holds a process's calls to one company under both: a semaphore of
10 and a sliding window of the start times of the last minute's calls. Every HTTP attempt,
retries included, goes through :meth:`CompanyLimiter.slot`; waiting between retries happens
outside it, so a call backing off holds no slot. :func:`limiter_for` is the process's one
limiter per realm, so that every client of a company in this process shares it.

Only this process is counted. Keeping the counts across processes would cost a database
round trip (or a shared cache we do not run) per call, and would still not see the other
apps the company has connected to QuickBooks, which spend the same allowance. The worker's
lease means one process drives a company at a time in the ordinary case; everything else
(two processes briefly overlapping, another app's traffic) is what QuickBooks' 429 answer
is for, and the client backs off from it with jitter, honouring Retry-After.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

CONCURRENT_CALLS = 10
CALLS_PER_MINUTE = 500
WINDOW_SECONDS = 60.0


class CompanyLimiter:
    """At most ``concurrent`` calls at once and ``per_minute`` call starts in any ``window`` seconds.

    Thread-safe. ``clock`` (monotonic seconds) and ``sleep`` are injectable so tests can run
    minutes of traffic without waiting for them.
    """

    def __init__(
        self,
        *,
        concurrent: int = CONCURRENT_CALLS,
        per_minute: int = CALLS_PER_MINUTE,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrent < 1 or per_minute < 1 or window <= 0:
            raise ValueError("limits must be positive")
        self.concurrent = concurrent
        self.per_minute = per_minute
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._slots = threading.BoundedSemaphore(concurrent)
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the company's concurrent calls, started within the per-minute allowance.

        The concurrency slot is taken first, so a start is counted when the request really
        leaves rather than when it began to queue.
        """
        with self._slots:
            self._wait_for_allowance()
            yield

    def _wait_for_allowance(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._starts and self._starts[0] <= now - self.window:
                    self._starts.popleft()
                if len(self._starts) < self.per_minute:
                    self._starts.append(now)
                    return
                wait = self._starts[0] + self.window - now
            self._sleep(max(wait, 0.0))

    def calls_in_window(self) -> int:
        """How many calls started within the last window (for tests and status)."""
        with self._lock:
            now = self._clock()
            return sum(1 for start in self._starts if start > now - self.window)


_limiters: dict[str, CompanyLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(realm_id: str) -> CompanyLimiter:
    """This process's limiter for the company ``realm_id`` (created with QuickBooks' limits on first use)."""
    with _limiters_lock:
        limiter = _limiters.get(realm_id)
        if limiter is None:
            limiter = _limiters[realm_id] = CompanyLimiter()
        return limiter
