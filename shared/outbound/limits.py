"""Token buckets per rate-limit key: a delivery waits for its turn, never dropped."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["RateLimits"]


@dataclass
class _Bucket:
    per_second: float
    tokens: float
    at: float


class RateLimits:
    """In-process token buckets, one per key, each holding at most one second's worth."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, limits: Sequence[tuple[str, float]]) -> float:
        """Take a token from every bucket in ``limits``; 0 when done.

        When one of them has none yet, nothing is taken and the answer is how many
        seconds until all of them will have one.
        """
        now = self._clock()
        buckets = [self._refill(key, per_second, now) for key, per_second in limits]
        wait = max(
            ((1 - bucket.tokens) / bucket.per_second for bucket in buckets if bucket.tokens < 1),
            default=0.0,
        )
        if wait > 0:
            return wait
        for bucket in buckets:
            bucket.tokens -= 1
        return 0.0

    def _refill(self, key: str, per_second: float, now: float) -> _Bucket:
        burst = max(1.0, per_second)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(per_second, burst, now)
        bucket.tokens = min(burst, bucket.tokens + (now - bucket.at) * per_second)
        bucket.at = now
        return bucket
