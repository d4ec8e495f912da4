"""A token bucket per provider account, shared by every activity thread of the worker process.

Providers limit each account (SendGrid's and FCM's per-project quotas, Twilio's
messages per second per sender); going over earns 429s that cost a retry with
backoff. Waiting here first keeps the worker just under the limit instead.
`clock` and `sleep` are injectable so tests check the spacing without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """`rate` tokens per second, at most `burst` banked; `acquire` blocks until one is available."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._updated = clock()
        self._lock = threading.Lock()

    def _reserve(self, count: float) -> float:
        """Take `count` tokens (possibly going into debt); the seconds until they are really ours."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= count
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self, count: float = 1) -> float:
        """Wait for `count` tokens (a batch call's messages); returns how long it waited. Waiters are served in reservation order."""
        wait = self._reserve(count)
        if wait > 0:
            self._sleep(wait)
        return wait


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def shared_bucket(account: str, rate: float) -> TokenBucket:
    """The process-wide bucket of `account` (e.g. `twilio:AC123`), made at `rate` on first use."""
    with _buckets_lock:
        bucket = _buckets.get(account)
        if bucket is None or bucket.rate != rate:
            bucket = _buckets[account] = TokenBucket(rate)
        return bucket
