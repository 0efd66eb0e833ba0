"""Rate limiting: a fixed window per key, in Redis when ``REDIS_URL`` is set (shared by every
gunicorn process and host), in this process otherwise (the embedded default).

A limiter counts hits of a key (a client address, an email) in the current window of
``window_seconds`` and refuses past ``limit``, telling how long until the window ends::

    LOGIN = RateLimiter("login", limit=10, window_seconds=60)
    LOGIN.check(request.remote_addr)   # raises TooManyRequests: a 429 with Retry-After

For the API the 429 is a problem+json (:class:`monitor.api.problems.Problem`); pages may call
:meth:`RateLimiter.hit` and answer in their own way.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from redis import Redis
from redis.exceptions import RedisError

from monitor.api.problems import Problem


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    #: Hits counted in this window, this one included.
    count: int
    #: Seconds until the window ends (a whole number, at least 1): the ``Retry-After``.
    retry_after: int


class TooManyRequests(Problem):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "Too Many Requests",
            f"Too many requests; retry after {retry_after} seconds.",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class _MemoryCounter:
    """Counts per (key, window) in this process; old windows are dropped as time moves on."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def incr(self, key: str, window: int) -> int:
        with self._lock:
            started, count = self._counts.get(key, (window, 0))
            if started != window:
                started, count = window, 0
            count += 1
            self._counts[key] = (started, count)
            if len(self._counts) > 100_000:  # many one-off keys: forget the finished windows
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
            return count


class _RedisCounter:
    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url)

    def incr(self, key: str, window: int, ttl: int) -> int:
        name = f"monitor:ratelimit:{key}:{window}"
        pipe = self._redis.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, ttl)
        count, _ = pipe.execute()
        return int(count)


@cache
def _redis_counter(url: str) -> _RedisCounter:
    return _RedisCounter(url)


def _default_redis_url() -> str:
    from monitor.jobs import config

    return config().redis_url


@dataclass
class RateLimiter:
    """At most ``limit`` hits per key in each window of ``window_seconds``.

    ``redis_url`` picks the store: by default the deployment's ``REDIS_URL`` (read on each hit,
    so an app configured later is honoured), in-process when empty. A Redis that does not answer
    lets requests through: a limiter must not take the site down with it.
    """

    name: str
    limit: int
    window_seconds: int
    redis_url: Callable[[], str] = _default_redis_url
    clock: Callable[[], float] = time.time
    _memory: _MemoryCounter = field(default_factory=_MemoryCounter, repr=False)

    def hit(self, key: str) -> Verdict:
        """Count one hit of ``key`` and say whether it is within the limit."""
        now = self.clock()
        window = int(now // self.window_seconds)
        retry_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
        # Keys may be personal (addresses, emails): only their hash reaches Redis.
        digest = hashlib.sha256(f"{self.name}:{key}".encode()).hexdigest()[:32]
        url = self.redis_url()
        if url:
            try:
                count = _redis_counter(url).incr(digest, window, self.window_seconds + 1)
            except RedisError:
                return Verdict(True, 0, retry_after)
        else:
            count = self._memory.incr(digest, window)
        return Verdict(count <= self.limit, count, retry_after)

    def check(self, key: str) -> None:
        """Count a hit; raise :class:`TooManyRequests` (429, ``Retry-After``) past the limit."""
        verdict = self.hit(key)
        if not verdict.allowed:
            raise TooManyRequests(verdict.retry_after)
