"""The stores behind the guard: the in-process cache, the policy, and Redis sharing.

The Redis tests need ``AUTHKIT_TEST_REDIS_URL`` and skip with a reason without it;
each uses its own key namespace, deleted afterwards. Two guards on one namespace
stand for two gunicorn workers (or two hosts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from redis import Redis

from authkit.clock import FrozenClock
from flight_app.resilience import (
    CachedResult,
    CircuitState,
    MemoryResultCache,
    Outcome,
    RedisResultCache,
    ResilienceGuard,
    ResiliencePolicy,
    TransientError,
    Unavailable,
    redis_client,
)

GuardFactory = Callable[..., ResilienceGuard]
POLICY = ResiliencePolicy(retries=2, breaker_fail_max=3, breaker_reset=30, backoff_cap=4)


def identity(value: Any) -> Any:
    return value


def answering(value: object) -> Callable[[], object]:
    return lambda: value


def failing() -> object:
    raise TransientError("down")


def call(guard: ResilienceGuard, fn: Callable[[], object]) -> Outcome[Any]:
    return guard.call("k", fn, encode=identity, decode=identity)


def test_the_memory_cache_is_bounded_least_recently_used_first(clock: FrozenClock) -> None:
    cache = MemoryResultCache(max_entries=2, clock=clock)
    entry = CachedResult(value=[1], fetched_at=clock.now())
    cache.put("a", entry, ttl=60)
    cache.put("b", entry, ttl=60)
    assert cache.get("a") == entry  # a is now the most recently used
    cache.put("c", entry, ttl=60)
    assert (cache.get("a"), cache.get("b"), len(cache)) == (entry, None, 2)


def test_the_memory_cache_stores_json_like_redis_does(clock: FrozenClock) -> None:
    """Parity: a value Redis could not store fails here too, not first in production."""
    cache = MemoryResultCache(clock=clock)
    with pytest.raises(TypeError):
        cache.put("k", CachedResult(value={1, 2}, fetched_at=clock.now()), ttl=60)


def test_the_memory_cache_is_thread_safe(clock: FrozenClock) -> None:
    cache = MemoryResultCache(max_entries=50, clock=clock)
    entry = CachedResult(value="v", fetched_at=clock.now())

    def hammer(worker: int) -> None:
        for i in range(500):
            cache.put(f"{worker}:{i % 80}", entry, ttl=60)
            cache.get(f"{(worker + 1) % 8}:{i % 80}")

    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(cache) == 50


def test_the_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="timeout"):
        ResiliencePolicy(timeout=0)
    with pytest.raises(ValueError, match="retries"):
        ResiliencePolicy(retries=-1)
    with pytest.raises(ValueError, match="fail_max"):
        ResiliencePolicy(breaker_fail_max=0)
    with pytest.raises(ValueError, match="backoff_base"):
        ResiliencePolicy(backoff_base=10, backoff_cap=1)


def test_the_contracts_defaults() -> None:
    policy = ResiliencePolicy()
    assert (policy.timeout, policy.retries, policy.breaker_fail_max) == (10, 2, 5)
    assert (policy.breaker_reset, policy.cache_ttl, policy.fresh_for) == (30, 3600, 0)


# Redis --------------------------------------------------------------------------


@pytest.mark.redis
def test_a_circuit_opened_by_one_worker_is_open_for_another(
    make_guard: GuardFactory, flights_redis_url: str, redis_namespace: str
) -> None:
    """Two independent guards (two workers, own clients) share one circuit in Redis."""
    first = make_guard(POLICY, redis=flights_redis_url, namespace=redis_namespace)
    second = make_guard(POLICY, redis=flights_redis_url, namespace=redis_namespace)
    assert second.circuit.state() is CircuitState.CLOSED
    for _ in range(POLICY.breaker_fail_max):
        with pytest.raises(Unavailable):
            call(first, failing)
    calls: list[int] = []
    with pytest.raises(Unavailable):
        call(second, lambda: calls.append(1))
    assert calls == []
    assert second.circuit.state() is CircuitState.OPEN


@pytest.mark.redis
def test_a_result_fetched_by_one_worker_answers_for_another(
    make_guard: GuardFactory, flights_redis_url: str, redis_namespace: str
) -> None:
    first = make_guard(POLICY, redis=flights_redis_url, namespace=redis_namespace)
    second = make_guard(POLICY, redis=flights_redis_url, namespace=redis_namespace)
    call(first, answering({"flights": [1, 2]}))
    outcome = call(second, failing)
    assert (outcome.value, outcome.source, outcome.stale) == ({"flights": [1, 2]}, "cache", True)


@pytest.mark.redis
def test_the_redis_cache_sets_a_ttl(
    flights_redis_url: str, redis_namespace: str, clock: FrozenClock
) -> None:
    client = redis_client(flights_redis_url)
    try:
        cache = RedisResultCache(client, prefix=f"{redis_namespace}:cache:")
        cache.put("k", CachedResult(value=[1], fetched_at=clock.now()), ttl=90.5)
        assert 0 < int(client.ttl(f"{redis_namespace}:cache:k")) <= 91
        assert cache.get("k") == CachedResult(value=[1], fetched_at=clock.now())
    finally:
        client.close()


@pytest.mark.redis
def test_the_circuit_refuses_a_decoding_redis_client(
    make_guard: GuardFactory, flights_redis_url: str, redis_namespace: str
) -> None:
    """pybreaker's Redis storage calls bytes.decode: decode_responses=True would crash it."""
    client = Redis.from_url(flights_redis_url, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses"):
            make_guard(POLICY, redis=client, namespace=redis_namespace)
    finally:
        client.close()


def test_a_redis_that_is_down_degrades_to_calling_without_a_circuit(
    make_guard: GuardFactory,
) -> None:
    """Unreachable Redis: the call still goes through and a failure is still Unavailable."""
    guard = make_guard(POLICY, redis="redis://127.0.0.1:1/0", namespace="test:down")
    assert call(guard, answering("ok")).source == "live"
    with pytest.raises(Unavailable):
        call(guard, failing)
