"""The rate limiter: fixed windows per key, in-process and in a real Redis, 429 + Retry-After."""

from __future__ import annotations

import pytest

from monitor.ratelimit import RateLimiter, TooManyRequests


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def store(request) -> str:
    return "" if request.param == "memory" else request.getfixturevalue("redis_url")


def limiter(store: str, clock: Clock, limit: int = 3, window: int = 60) -> RateLimiter:
    return RateLimiter("test", limit, window, redis_url=lambda: store, clock=clock)


def test_counts_per_key_within_the_window_and_starts_over_after(store):
    clock = Clock(1_000_040.0)  # 20 s into a 60 s window (16667 · 60 + 20)
    limit = limiter(store, clock)
    verdicts = [limit.hit("10.0.0.1") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert verdicts[-1].retry_after == 40
    assert limit.hit("10.0.0.2").allowed  # another key has its own count
    clock.now += 40
    assert limit.hit("10.0.0.1").allowed  # a new window


def test_check_raises_a_429_problem_with_retry_after(store):
    clock = Clock(500.5)
    limit = limiter(store, clock, limit=1, window=10)
    limit.check("k")
    with pytest.raises(TooManyRequests) as refused:
        limit.check("k")
    assert refused.value.status == 429
    assert refused.value.headers == {"Retry-After": "10"}  # 9.5 s left, rounded up


def test_limiters_of_different_names_do_not_share_counts(store):
    clock = Clock(0.0)
    first = RateLimiter("a", 1, 60, redis_url=lambda: store, clock=clock)
    second = RateLimiter("b", 1, 60, redis_url=lambda: store, clock=clock)
    assert first.hit("k").allowed and second.hit("k").allowed
    assert not first.hit("k").allowed


def test_redis_counts_are_shared_between_limiters_and_expire(redis_url, redis_connection):
    clock = Clock(120.0)
    one, other = limiter(redis_url, clock, limit=2), limiter(redis_url, clock, limit=2)
    assert one.hit("k").allowed and other.hit("k").allowed
    assert not one.hit("k").allowed  # another gunicorn process counted too
    [key] = redis_connection.keys("monitor:ratelimit:*")
    assert b"k" not in key.split(b":")[2]  # the key is hashed, not stored as given
    assert 0 < redis_connection.ttl(key) <= 61


def test_an_unreachable_redis_lets_requests_through():
    limit = limiter("redis://127.0.0.1:1/0", Clock(0.0), limit=1)
    assert all(limit.hit("k").allowed for _ in range(3))
