"""The SQLite writer's lock hands itself over in arrival order, and a holder may take it again."""
from __future__ import annotations

import threading
import time

from qbwc_bridge.store.db import FifoLock


def _queued(lock: FifoLock) -> int:
    return len(lock._waiters)


def test_waiters_get_the_lock_in_the_order_they_came():
    lock = FifoLock()
    order: list[int] = []
    threads = [threading.Thread(target=lambda n=n: _take(lock, order, n)) for n in range(8)]
    with lock:
        for count, thread in enumerate(threads, start=1):
            thread.start()
            deadline = time.monotonic() + 10
            while _queued(lock) < count:  # each one queued before the next starts
                assert time.monotonic() < deadline, "a thread did not queue"
                time.sleep(0.001)
    for thread in threads:
        thread.join(timeout=10)
    assert order == list(range(8))


def _take(lock: FifoLock, order: list, n) -> None:
    with lock:
        order.append(n)
        time.sleep(0.002)  # hold it a moment: a lock that let anyone in would be overtaken here


def test_the_holder_may_take_it_again_and_others_wait_for_the_outermost_release():
    lock = FifoLock()
    entered = threading.Event()

    def other():
        with lock:
            entered.set()

    with lock:
        with lock:
            thread = threading.Thread(target=other)
            thread.start()
        assert not entered.wait(0.05)  # the inner release did not let it in
    thread.join(timeout=10)
    assert entered.is_set()


def test_a_thread_releasing_and_taking_it_again_at_once_queues_behind_the_waiters():
    lock = FifoLock()
    order: list[str] = []
    waiter = threading.Thread(target=lambda: _take(lock, order, "waiter"))
    with lock:
        waiter.start()
        deadline = time.monotonic() + 10
        while _queued(lock) < 1:
            assert time.monotonic() < deadline, "the waiter did not queue"
            time.sleep(0.001)
    with lock:  # at once: threading.RLock would let this thread barge in ahead of the woken waiter
        order.append("again")
    waiter.join(timeout=10)
    assert order == ["waiter", "again"]
