"""Requests per API key (or per client address without keys), counted with the `limits` library."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter

from app.server.errors import RateLimited
from config.errors import SettingsError


class RateLimiter:
    """Sliding-window counters in memory: one server process, so no shared store is needed."""

    def __init__(self, spec: str, setting: str = "RAGD_RATE_LIMIT") -> None:
        try:
            self.items: list[RateLimitItem] = parse_many(spec) if spec.strip() else []
        except ValueError as exc:
            raise SettingsError(f"{setting} {spec!r} is not a rate like 300/minute: {exc}") from exc
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    def hit(self, bucket: str) -> None:
        """Count one request for `bucket`; raise RateLimited when any limit is spent."""
        for item in self.items:
            if not self._limiter.hit(item, bucket):
                stats = self._limiter.get_window_stats(item, bucket)
                retry = max(1, math.ceil(stats.reset_time - time.time()))
                raise RateLimited(
                    f"rate limit of {item} reached for this key; retry in {retry} s", retry
                )
