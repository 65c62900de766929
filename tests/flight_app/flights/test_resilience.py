"""The resilience policy on plain functions: retries, jitter, breaker, cache, metrics.

No sleeping and no waiting: the guard's ``sleep`` records, its clock is frozen and
moved by hand. The HTTP behaviour (timeouts, 429 headers) is in test_duffel.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import REGISTRY

from authkit.clock import FrozenClock
from flight_app.resilience import (
    BadResponse,
    CircuitState,
    PermanentError,
    ResilienceGuard,
    ResiliencePolicy,
    TransientError,
    Unavailable,
    UpstreamTimeout,
)

GuardFactory = Callable[..., ResilienceGuard]
POLICY = ResiliencePolicy(retries=2, breaker_fail_max=3, breaker_reset=30, backoff_cap=4)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def identity(value: Any) -> Any:
    return value


class Upstream:
    """A scripted upstream: each call takes the next step (a value or an exception)."""

    def __init__(self, *steps: object) -> None:
        self.steps = list(steps)
        self.calls = 0

    def __call__(self) -> object:
        self.calls += 1
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, BaseException):
            raise step
        return step


def call(guard: ResilienceGuard, upstream: Callable[[], object], key: str = "k") -> Any:
    return guard.call(key, upstream, encode=identity, decode=identity)


def fail_until_open(guard: ResilienceGuard, key: str = "k") -> None:
    for _ in range(guard.policy.breaker_fail_max):
        with pytest.raises(Unavailable):
            call(guard, Upstream(TransientError("down")), key)


# retries -------------------------------------------------------------------------


def test_a_transient_failure_is_retried_until_success(
    make_guard: GuardFactory, sleeps: list[float]
) -> None:
    """Two 503-like failures, then an answer: three attempts, two waits, a live result."""
    upstream = Upstream(TransientError("503"), TransientError("503"), "flights")
    outcome = call(make_guard(POLICY), upstream)
    assert (outcome.value, outcome.source, outcome.stale) == ("flights", "live", False)
    assert upstream.calls == 3
    assert len(sleeps) == 2


def test_retries_stop_after_the_configured_number(
    make_guard: GuardFactory, sleeps: list[float]
) -> None:
    upstream = Upstream(TransientError("503"))
    with pytest.raises(Unavailable):
        call(make_guard(POLICY), upstream)
    assert upstream.calls == POLICY.retries + 1


def test_a_permanent_failure_is_not_retried(make_guard: GuardFactory, sleeps: list[float]) -> None:
    """A refusal (4xx) gets the same answer twice: one attempt, no wait."""
    upstream = Upstream(PermanentError("422"))
    with pytest.raises(Unavailable):
        call(make_guard(POLICY), upstream)
    assert upstream.calls == 1
    assert sleeps == []


def test_retry_waits_are_full_jitter_within_the_window(
    make_guard: GuardFactory, sleeps: list[float]
) -> None:
    """Waits are drawn from [0, min(cap, base * 2**(n-1))]: they differ and stay in range."""
    policy = ResiliencePolicy(retries=6, backoff_base=0.5, backoff_cap=2.0, breaker_fail_max=50)
    guard = make_guard(policy)
    for _ in range(5):
        with pytest.raises(Unavailable):
            call(guard, Upstream(TransientError("503")))
    assert len(sleeps) == 30
    assert len(set(sleeps)) == len(sleeps), "jittered: no two waits alike"
    for n, wait in enumerate(sleeps[:6], start=1):
        assert 0.0 <= wait <= min(2.0, 0.5 * 2 ** (n - 1))
    assert all(0.0 <= wait <= 2.0 for wait in sleeps)


def test_retry_after_is_honoured_up_to_the_cap(
    make_guard: GuardFactory, sleeps: list[float]
) -> None:
    """A 429 asking for 1.5 s waits 1.5 s; one asking for 100 s waits the cap (4 s)."""
    upstream = Upstream(
        TransientError("429", retry_after=1.5), TransientError("429", retry_after=100), "ok"
    )
    assert call(make_guard(POLICY), upstream).value == "ok"
    assert sleeps == [1.5, 4.0]


# circuit breaker -----------------------------------------------------------------


def test_the_circuit_opens_after_fail_max_failed_calls(make_guard: GuardFactory) -> None:
    """Three failed calls (each after its retries) open it; then upstream is not called."""
    guard = make_guard(POLICY)
    fail_until_open(guard)
    assert guard.circuit.state() is CircuitState.OPEN
    upstream = Upstream("ok")
    with pytest.raises(Unavailable) as refused:
        call(guard, upstream)
    assert upstream.calls == 0
    assert refused.value.retry_after == 30, "seconds until the trial"


def test_a_success_resets_the_count_of_consecutive_failures(make_guard: GuardFactory) -> None:
    guard = make_guard(POLICY)
    for _ in range(5):
        for _ in range(POLICY.breaker_fail_max - 1):
            with pytest.raises(Unavailable):
                call(guard, Upstream(TransientError("down")), key="never-stored")
        call(guard, Upstream("ok"))
    assert guard.circuit.state() is CircuitState.CLOSED


def test_refusals_do_not_open_the_circuit(make_guard: GuardFactory) -> None:
    """One client's bad requests (4xx) must not cut everyone off."""
    guard = make_guard(POLICY)
    for _ in range(POLICY.breaker_fail_max * 2):
        with pytest.raises(Unavailable):
            call(guard, Upstream(PermanentError("422")))
    assert guard.circuit.state() is CircuitState.CLOSED


def test_garbage_answers_and_bugs_count_as_failures_but_never_escape(
    make_guard: GuardFactory,
) -> None:
    """BadResponse and unexpected exceptions: not retried, counted, answered as Unavailable."""
    guard = make_guard(POLICY)
    bad, bug = Upstream(BadResponse("not json")), Upstream(KeyError("offers"))
    with pytest.raises(Unavailable):
        call(guard, bad)
    with pytest.raises(Unavailable):
        call(guard, bug)
    with pytest.raises(Unavailable):
        call(guard, Upstream(RuntimeError("boom")))
    assert (bad.calls, bug.calls) == (1, 1)
    assert guard.circuit.state() is CircuitState.OPEN


def test_after_the_reset_one_trial_goes_through_and_success_closes(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    guard = make_guard(POLICY)
    fail_until_open(guard)
    clock.advance(29)
    with pytest.raises(Unavailable) as refused:
        call(guard, Upstream("ok"))
    assert refused.value.retry_after == 1
    clock.advance(1)
    trial = Upstream("ok")
    assert call(guard, trial).source == "live"
    assert trial.calls == 1
    assert guard.circuit.state() is CircuitState.CLOSED


def test_a_failed_trial_opens_the_circuit_again_for_a_full_reset(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    guard = make_guard(POLICY)
    fail_until_open(guard)
    clock.advance(30)
    trial = Upstream(TransientError("still down"))
    with pytest.raises(Unavailable):
        call(guard, trial)
    assert trial.calls == POLICY.retries + 1
    assert guard.circuit.state() is CircuitState.OPEN
    clock.advance(29)
    untouched = Upstream("ok")
    with pytest.raises(Unavailable):
        call(guard, untouched)
    assert untouched.calls == 0


def test_only_one_trial_at_a_time_while_half_open(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    """While the trial is in flight every other caller is refused without a call."""
    guard = make_guard(POLICY)
    fail_until_open(guard)
    clock.advance(30)
    entered, release = threading.Event(), threading.Event()

    def slow_trial() -> object:
        entered.set()
        release.wait(5)
        return "ok"

    worker = threading.Thread(target=lambda: call(guard, slow_trial))
    worker.start()
    try:
        assert entered.wait(5)
        assert guard.circuit.state() is CircuitState.HALF_OPEN
        other = Upstream("ok")
        with pytest.raises(Unavailable):
            call(guard, other)
        assert other.calls == 0
    finally:
        release.set()
        worker.join(5)
    assert guard.circuit.state() is CircuitState.CLOSED


def test_calls_run_concurrently_not_under_the_breakers_lock(make_guard: GuardFactory) -> None:
    """pybreaker serialises calls under one lock; the guard must not (two overlap here)."""
    guard = make_guard(POLICY)
    barrier = threading.Barrier(2, timeout=5)

    def meet() -> object:
        barrier.wait()
        return "ok"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(call(guard, meet).source)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == ["live", "live"]


# fallback cache -------------------------------------------------------------------


def test_a_failure_is_answered_from_the_cache_as_stale(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    guard = make_guard(POLICY)
    fetched = call(guard, Upstream(["f1", "f2"]))
    clock.advance(600)
    fallback = call(guard, Upstream(TransientError("down")))
    assert (fallback.value, fallback.source, fallback.stale) == (["f1", "f2"], "cache", True)
    assert fallback.fetched_at == fetched.fetched_at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_an_open_circuit_answers_from_the_cache_fast(make_guard: GuardFactory) -> None:
    """No upstream call, no wait: the answer costs a cache read."""
    guard = make_guard(POLICY)
    call(guard, Upstream("stored"), key="q1")
    fail_until_open(guard, key="q2")
    upstream = Upstream("live")
    started = time.perf_counter()
    outcome = call(guard, upstream, key="q1")
    assert time.perf_counter() - started < 0.05
    assert (outcome.value, outcome.source, outcome.stale, upstream.calls) == (
        "stored",
        "cache",
        True,
        0,
    )


def test_without_a_stored_result_the_answer_is_unavailable_with_retry_after(
    make_guard: GuardFactory,
) -> None:
    """Closed circuit: the cap as the hint; an upstream's own Retry-After wins."""
    guard = make_guard(POLICY)
    with pytest.raises(Unavailable) as plain:
        call(guard, Upstream(TransientError("down")))
    assert plain.value.retry_after == 4
    with pytest.raises(Unavailable) as hinted:
        call(guard, Upstream(TransientError("429", retry_after=12.2)))
    assert hinted.value.retry_after == 13


def test_stored_results_expire_after_the_ttl(make_guard: GuardFactory, clock: FrozenClock) -> None:
    guard = make_guard(ResiliencePolicy(cache_ttl=60, breaker_fail_max=10))
    call(guard, Upstream("stored"))
    clock.advance(61)
    with pytest.raises(Unavailable):
        call(guard, Upstream(TransientError("down")))


def test_fresh_for_serves_the_cache_without_calling(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    """Optional read-through window: source cache, not stale; after it, live again."""
    guard = make_guard(ResiliencePolicy(fresh_for=60))
    call(guard, Upstream("first"))
    upstream = Upstream("second")
    hit = call(guard, upstream)
    assert (hit.value, hit.source, hit.stale, upstream.calls) == ("first", "cache", False, 0)
    clock.advance(60)
    assert call(guard, upstream).value == "second"


def test_a_stored_result_that_no_longer_decodes_is_a_miss(make_guard: GuardFactory) -> None:
    guard = make_guard(POLICY)
    call(guard, Upstream({"shape": "old"}))

    def strict(value: Any) -> Any:
        raise KeyError("new_field")

    with pytest.raises(Unavailable):
        guard.call("k", Upstream(TransientError("down")), encode=identity, decode=strict)


# metrics ------------------------------------------------------------------------


def test_metrics_count_outcomes_retries_fallbacks_and_state(
    make_guard: GuardFactory, clock: FrozenClock
) -> None:
    """The contract's names move as calls succeed, retry, time out, fail and are refused."""
    names = {
        "success": ("flight_provider_requests_total", {"outcome": "success"}),
        "error": ("flight_provider_requests_total", {"outcome": "error"}),
        "timeout": ("flight_provider_requests_total", {"outcome": "timeout"}),
        "rejected": ("flight_provider_requests_total", {"outcome": "rejected"}),
        "retries": ("flight_provider_retries_total", {}),
        "cache": ("flight_provider_fallbacks_total", {"result": "cache"}),
        "unavailable": ("flight_provider_fallbacks_total", {"result": "unavailable"}),
        "latency": ("flight_provider_latency_seconds_count", {}),
    }
    before = {k: metric(n, **labels) for k, (n, labels) in names.items()}
    guard = make_guard(POLICY)
    call(guard, Upstream(TransientError("503"), "ok"))  # success after 1 retry
    with pytest.raises(Unavailable):
        call(guard, Upstream(UpstreamTimeout("slow")), key="other")  # 3 attempts, timeout
    call(guard, Upstream(TransientError("503")))  # error, answered from cache
    with pytest.raises(Unavailable):
        call(guard, Upstream(TransientError("503")), key="other")  # error: opens (3rd failure)
    assert metric("flight_provider_circuit_state") == CircuitState.OPEN
    call(guard, Upstream("never"))  # rejected, from cache
    delta = {k: metric(n, **labels) - before[k] for k, (n, labels) in names.items()}
    assert delta == {
        "success": 1,
        "error": 2,
        "timeout": 1,
        "rejected": 1,
        "retries": 1 + 2 + 2 + 2,
        "cache": 2,
        "unavailable": 2,
        "latency": 2 + 3 + 3 + 3,
    }
    clock.advance(30)
    call(guard, Upstream("back"))
    assert metric("flight_provider_circuit_state") == CircuitState.CLOSED
