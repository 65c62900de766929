"""Benchmark: the flight search's hot paths.

- airport lookup per keystroke (the search box asks on every key): every prefix
  of a few hundred city names, codes and accented names; the target is p95 < 1 ms;
- one builtin-provider search (one direction, in process);
- a whole round-trip search through ``FlightSearch`` (validation, two directions
  concurrently, guard, cache write);
- the fallback when the circuit is open: answered from the cache, or refused as
  unavailable; neither may touch the upstream, so both should cost microseconds.

Usage::

    uv run python benchmarks/bench_flights.py [--rounds 2000] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import random
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from authkit.clock import FrozenClock
from flight_app.flights import BuiltinProvider, FlightSearch, default_index
from flight_app.resilience import (
    ResilienceGuard,
    ResiliencePolicy,
    TransientError,
    Unavailable,
    create_guard,
    redis_client,
)

ACCENTED = [
    "zürich",
    "São Paulo",
    "egilsstaðir",
    "münchen",
    "kraków",
    "malmö",
    "düsseldorf",
    "bogotá",
    "reykjavík",
    "málaga",
    "Genève",
    "Łódź",
]
CODES = ["ZRH", "jfk", "lhr", "CDG", "sfo", "nrt", "SYD", "dxb", "gru", "LSZH"]


def keystrokes(cities: int) -> list[str]:
    """Every prefix of ``cities`` city names spread over the index, codes, accents."""
    names = sorted({a.city for a in default_index() if a.city})
    step = max(1, len(names) // cities)
    words = names[::step] + ACCENTED + CODES
    return [word[:n] for word in words for n in range(1, len(word) + 1)]


def timings(fn: Callable[[], Any], rounds: int) -> list[float]:
    result = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        result.append(time.perf_counter() - started)
    return result


def row(name: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{name:<38} {len(samples):>7} {p50 * 1e6:>10.1f} {p95 * 1e6:>10.1f}")


def bench_airports(cities: int) -> None:
    index = default_index()
    queries = keystrokes(cities)
    for q in queries[:50]:
        index.search(q)  # warm up
    samples = []
    for q in queries:
        started = time.perf_counter()
        index.search(q, limit=20)
        samples.append(time.perf_counter() - started)
    row(f"airport lookup ({len(set(queries))} keystrokes)", samples)


def bench_builtin(rounds: int) -> None:
    index = default_index()
    provider = BuiltinProvider(index)
    rng = random.Random(1)
    codes = [a.iata for a in index]
    queries = []
    for _ in range(rounds):
        origin, destination = rng.sample(codes, 2)
        queries.append((origin, destination, date(2026, 6, 1) + timedelta(rng.randrange(365))))
    samples = []
    for origin, destination, day in queries:
        started = time.perf_counter()
        provider.search_one_way(origin, destination, day, 2)
        samples.append(time.perf_counter() - started)
    row("builtin one-way search", samples)


def _guard(clock: FrozenClock, redis: str | None, namespace: str) -> ResilienceGuard:
    return create_guard(
        name="flight_provider",
        policy=ResiliencePolicy(breaker_fail_max=3, breaker_reset=3600),
        redis=redis,
        namespace=namespace,
        clock=clock,
        sleep=lambda _seconds: None,
    )


def bench_round_trip(rounds: int) -> None:
    index = default_index()
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    search = FlightSearch(
        index=index,
        provider=BuiltinProvider(index),
        guard=_guard(clock, None, "bench"),
        clock=clock,
    )
    rng = random.Random(2)
    codes = [a.iata for a in index]

    def one() -> None:
        origin, destination = rng.sample(codes, 2)
        query = search.validate(
            origin=origin, destination=destination, depart="2026-04-01", return_date="2026-04-08"
        )
        search.search(query)

    row("FlightSearch round trip (builtin)", timings(one, rounds))


def bench_fallback(rounds: int, redis: str | None) -> None:
    clock = FrozenClock(datetime(2026, 3, 1, tzinfo=UTC))
    namespace = f"bench:{uuid.uuid4().hex}"
    guard = _guard(clock, redis, namespace)
    flights = [
        f.to_json()
        for f in BuiltinProvider(default_index()).search_one_way("ZRH", "JFK", date(2026, 4, 1), 1)
    ]
    guard.call("stored", lambda: flights, encode=lambda v: v, decode=lambda v: v)

    def fail() -> list[dict[str, Any]]:
        raise TransientError("down")

    for _ in range(guard.policy.breaker_fail_max):
        with contextlib.suppress(Unavailable):
            guard.call("missing", fail, encode=lambda v: v, decode=lambda v: v)
    where = "redis" if redis else "memory"

    def cached() -> None:
        guard.call("stored", fail, encode=lambda v: v, decode=lambda v: v)

    def refused() -> None:
        with contextlib.suppress(Unavailable):
            guard.call("missing", fail, encode=lambda v: v, decode=lambda v: v)

    row(f"open circuit -> cache ({where})", timings(cached, rounds))
    row(f"open circuit -> unavailable ({where})", timings(refused, rounds))
    if redis:
        client = redis_client(redis)
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--cities", type=int, default=300, help="city names typed out")
    parser.add_argument("--redis", default=None, help="also measure with the Redis circuit")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the fallback runs log each failure
    print(f"{'measurement':<38} {'n':>7} {'p50 µs':>10} {'p95 µs':>10}")
    bench_airports(args.cities)
    bench_builtin(args.rounds)
    bench_round_trip(max(100, args.rounds // 4))
    bench_fallback(args.rounds, None)
    if args.redis:
        bench_fallback(args.rounds, args.redis)


if __name__ == "__main__":
    main()
