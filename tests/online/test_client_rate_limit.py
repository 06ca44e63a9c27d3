"""The per-company limiter: 10 calls at once, 500 starts a minute, one limiter per realm in a process."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from qbwc_bridge.backends.online.rate_limit import CompanyLimiter, limiter_for


class FakeClock:
    """Monotonic seconds that only move when the limiter sleeps (or the test says so)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def take(limiter: CompanyLimiter, calls: int) -> None:
    for _ in range(calls):
        with limiter.slot():
            pass


def test_the_501st_call_of_a_minute_waits_for_the_first_to_leave_the_window():
    clock = FakeClock()
    limiter = CompanyLimiter(clock=clock, sleep=clock.sleep)
    take(limiter, 500)
    assert clock.sleeps == []
    take(limiter, 1)
    assert clock.sleeps == [60.0]
    assert limiter.calls_in_window() == 1  # the 500 of the first minute have left the window


def test_the_window_slides_rather_than_resetting_each_minute():
    clock = FakeClock()
    limiter = CompanyLimiter(per_minute=4, clock=clock, sleep=clock.sleep)
    take(limiter, 2)  # at t
    clock.now += 30
    take(limiter, 2)  # at t + 30
    clock.now += 31  # t + 61: the first two have left, the last two are still counted
    take(limiter, 2)
    assert clock.sleeps == []
    take(limiter, 1)
    assert clock.sleeps == [pytest.approx(29.0)]  # until the calls of t + 30 are a minute old


def test_an_eleventh_concurrent_call_waits_until_one_of_ten_ends():
    limiter = CompanyLimiter()
    release = threading.Event()
    inside = threading.Semaphore(0)
    eleventh_inside = threading.Event()

    def hold() -> None:
        with limiter.slot():
            inside.release()
            release.wait(10)

    def eleventh() -> None:
        with limiter.slot():
            eleventh_inside.set()

    with ThreadPoolExecutor(max_workers=11) as pool:
        holders = [pool.submit(hold) for _ in range(10)]
        for _ in range(10):
            assert inside.acquire(timeout=10)
        late = pool.submit(eleventh)
        # A correct limiter never lets it in here, whatever the machine's speed.
        assert not eleventh_inside.wait(0.2)
        release.set()
        late.result(timeout=10)
        for holder in holders:
            holder.result(timeout=10)
    assert eleventh_inside.is_set()


def test_one_limiter_per_realm_in_the_process_even_when_created_at_once():
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda _: limiter_for("9130-limiter-test"), range(32)))
    assert all(limiter is found[0] for limiter in found)
    assert limiter_for("9130-limiter-test-other") is not found[0]
    assert (found[0].concurrent, found[0].per_minute) == (10, 500)


@pytest.mark.parametrize("limits", [{"concurrent": 0}, {"per_minute": 0}, {"window": 0}])
def test_limits_must_be_positive(limits):
    with pytest.raises(ValueError):
        CompanyLimiter(**limits)
