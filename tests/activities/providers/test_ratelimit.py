"""The per-account token bucket, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from activities.providers.ratelimit import TokenBucket, shared_bucket
from tests.activities.providers.conftest import FakeClock


def test_sends_are_spaced_at_the_configured_rate_after_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4, burst=2, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(6):
        bucket.acquire()
        starts.append(clock.now)
    assert starts == [0, 0, 0.25, 0.5, 0.75, 1.0]


def test_an_idle_bucket_refills_only_up_to_its_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(10, burst=3, clock=clock, sleep=clock.sleep)
    clock.now = 60.0  # a minute idle
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0, 0, 0, 0.1, 0.1])


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    lock = threading.Lock()
    bucket = TokenBucket(5, burst=1, clock=clock, sleep=lambda s: None)
    waits: list[float] = []

    def worker() -> None:
        for _ in range(5):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The clock never moves, so 20 reservations queue up 0.2 s apart: each thread's wait is its place in line.
    assert sorted(round(w, 6) for w in waits) == [round(0.2 * i, 6) for i in range(20)]


def test_the_bucket_is_shared_per_account() -> None:
    assert shared_bucket("test:acct-1", 50) is shared_bucket("test:acct-1", 50)
    assert shared_bucket("test:acct-1", 50) is not shared_bucket("test:acct-2", 50)
