"""Fixtures of the flight search tests: the airport index, clocks, guards, Redis.

Self-contained on purpose: nothing here needs the app, its settings or a database.
Guards get a recording ``sleep`` (no test waits for a backoff) and a FrozenClock
(no test waits for the breaker's reset), and each a unique name so the Redis keys
of one test never meet another's.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from redis import Redis

from authkit.clock import FrozenClock
from flight_app.flights.airports import AirportIndex, default_index
from flight_app.resilience import (
    ResilienceGuard,
    ResiliencePolicy,
    ResultCache,
    create_guard,
    policy_metrics,
    redis_client,
)

REDIS_ENV = "AUTHKIT_TEST_REDIS_URL"

GuardFactory = Callable[..., ResilienceGuard]


@pytest.fixture(scope="session")
def index() -> AirportIndex:
    return default_index()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def sleeps() -> list[float]:
    """The waits the guard asked for, in order (instead of sleeping)."""
    return []


@pytest.fixture
def make_guard(clock: FrozenClock, sleeps: list[float]) -> GuardFactory:
    """Build an in-process guard on the contract's metric names (``flight_provider``)."""

    def make(
        policy: ResiliencePolicy | None = None,
        *,
        redis: Redis | str | None = None,
        namespace: str | None = None,
        cache: ResultCache | None = None,
    ) -> ResilienceGuard:
        return create_guard(
            name="flight_provider",
            policy=policy or ResiliencePolicy(retries=2, breaker_fail_max=3),
            metrics=policy_metrics("flight_provider"),
            redis=redis,
            namespace=namespace,
            cache=cache,
            clock=clock,
            sleep=sleeps.append,
            rng=random.Random(7),
        )

    return make


@pytest.fixture
def flights_redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: no Redis server to test against")
    return url


@pytest.fixture
def redis_namespace(flights_redis_url: str) -> Iterator[str]:
    """A fresh key namespace, deleted after the test."""
    namespace = f"test:{uuid.uuid4().hex}"
    yield namespace
    client: Redis = redis_client(flights_redis_url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
