"""The one call that builds a guard: in-process state, or Redis-shared state."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from redis import Redis

from authkit.clock import Clock, SystemClock
from flight_app.resilience.breaker import Circuit
from flight_app.resilience.cache import MemoryResultCache, RedisResultCache, ResultCache
from flight_app.resilience.guard import ResilienceGuard
from flight_app.resilience.metrics import PolicyMetrics, policy_metrics
from flight_app.resilience.policy import ResiliencePolicy

REDIS_SOCKET_TIMEOUT = 0.5
"""Seconds a Redis command may take: a slow Redis must not slow every guarded call."""


def redis_client(url: str) -> Redis:
    """A client fit for the circuit (``decode_responses=False``) and the cache."""
    return Redis.from_url(
        url,
        decode_responses=False,
        socket_timeout=REDIS_SOCKET_TIMEOUT,
        socket_connect_timeout=REDIS_SOCKET_TIMEOUT,
        health_check_interval=30,
    )


def create_guard(
    *,
    name: str,
    policy: ResiliencePolicy,
    metrics: PolicyMetrics | None = None,
    redis: Redis | str | None = None,
    namespace: str | None = None,
    cache: ResultCache | None = None,
    cache_max_entries: int = 1024,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> ResilienceGuard:
    """A guard for the upstream ``name``.

    With ``redis`` (a URL or a client made with ``decode_responses=False``) the
    circuit and the cache live in Redis under ``namespace`` (default
    ``resilience:<name>``), shared by every worker and host; without it both live
    in this process. ``metrics`` defaults to ``policy_metrics(name)``.
    """
    clock = clock or SystemClock()
    metrics = metrics or policy_metrics(name)
    gauge = metrics.circuit_state

    def on_state(state: int) -> None:
        gauge.set(state)

    lease = policy.worst_case_seconds + 1.0
    if redis is None:
        circuit = Circuit.in_memory(
            name=name,
            fail_max=policy.breaker_fail_max,
            reset_timeout=policy.breaker_reset,
            clock=clock,
            trial_lease=lease,
            on_state=on_state,
        )
        cache = cache or MemoryResultCache(max_entries=cache_max_entries, clock=clock)
    else:
        client = redis_client(redis) if isinstance(redis, str) else redis
        namespace = namespace or f"resilience:{name}"
        circuit = Circuit.on_redis(
            client,
            namespace=namespace,
            name=name,
            fail_max=policy.breaker_fail_max,
            reset_timeout=policy.breaker_reset,
            clock=clock,
            trial_lease=lease,
            on_state=on_state,
        )
        cache = cache or RedisResultCache(client, prefix=f"{namespace}:cache:")
    return ResilienceGuard(
        name=name,
        policy=policy,
        circuit=circuit,
        cache=cache,
        metrics=metrics,
        clock=clock,
        sleep=sleep,
        rng=rng,
    )
