"""The resilience rules over real HTTP, against a local stand-in for Duffel.

The stand-in (``flight_app.flights.testing``, shared with the end-to-end tests) is
a ``ThreadingHTTPServer`` on 127.0.0.1 (a free port) that answers from a script:
offers, ``{"errors": [...]}`` bodies, 429 with ``Retry-After`` or
``ratelimit-reset``, or a hang. It records every request, so a test can say how
often the upstream was really called. Together with the guard these are the
contract's resilience rules end to end over real HTTP.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY

from authkit.clock import FrozenClock
from flight_app.flights.airports import AirportIndex
from flight_app.flights.duffel import DuffelProvider
from flight_app.flights.models import Flight, flights_from_json, flights_to_json
from flight_app.flights.testing import StandIn, Step, errors_body
from flight_app.resilience import (
    CircuitState,
    Outcome,
    PermanentError,
    ResilienceGuard,
    ResiliencePolicy,
    TransientError,
    Unavailable,
    UpstreamTimeout,
)

TOKEN = "duffel_test_SECRET-token-123"
DAY = date(2026, 5, 12)


def _offer(n: int, departs: str, arrives: str) -> dict[str, Any]:
    segment = {
        "origin": {"iata_code": "LHR", "time_zone": "Europe/London"},
        "destination": {"iata_code": "JFK", "time_zone": "America/New_York"},
        "departing_at": f"2026-05-12T{departs}:00",
        "arriving_at": f"2026-05-12T{arrives}:00",
        "marketing_carrier": {"iata_code": "BA", "name": "British Airways"},
        "marketing_carrier_flight_number": f"11{n}",
    }
    return {
        "id": f"off_{n}",
        "total_amount": "512.40",
        "total_currency": "GBP",
        "slices": [{"segments": [segment]}],
    }


OK = Step(body={"data": {"offers": [_offer(1, "11:20", "14:05"), _offer(2, "17:10", "19:55")]}})


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    with StandIn() as server:
        yield server


@pytest.fixture
def provider_for(
    stand_in: StandIn, index: AirportIndex, clock: FrozenClock
) -> Iterator[Callable[[ResiliencePolicy], DuffelProvider]]:
    made: list[DuffelProvider] = []

    def make(policy: ResiliencePolicy) -> DuffelProvider:
        provider = DuffelProvider(
            token=TOKEN, index=index, base_url=stand_in.url, timeout=policy.timeout, clock=clock
        )
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()


def search(
    guard: ResilienceGuard, provider: DuffelProvider, adults: int = 1
) -> Outcome[list[Flight]]:
    return guard.call(
        f"LHR:JFK:{DAY}:{adults}",
        lambda: provider.search_one_way("LHR", "JFK", DAY, adults),
        encode=flights_to_json,
        decode=flights_from_json,
    )


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


POLICY = ResiliencePolicy(timeout=2.0, retries=2, breaker_fail_max=2, breaker_reset=30)


# errors and retries ---------------------------------------------------------------


def test_a_500_then_an_answer_takes_two_attempts(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    sleeps: list[float],
) -> None:
    stand_in.will(Step(status=500, body=errors_body("internal_server_error", "Oops")), OK)
    outcome = search(make_guard(POLICY), provider_for(POLICY))
    assert outcome.source == "live"
    assert len(outcome.value) == 2
    assert stand_in.calls == 2
    assert len(sleeps) == 1


def test_a_422_is_not_retried(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    sleeps: list[float],
) -> None:
    """Duffel's validation error is permanent: one request, no wait, 503 for the client."""
    stand_in.will(Step(status=422, body=errors_body("invalid_airport", "Invalid airport")))
    before = metric("flight_provider_requests_total", outcome="error")
    with pytest.raises(Unavailable):
        search(make_guard(POLICY), provider_for(POLICY))
    assert stand_in.calls == 1
    assert sleeps == []
    assert metric("flight_provider_requests_total", outcome="error") == before + 1


def test_the_error_names_duffels_code_but_never_the_token(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """401s, 5xx and their logs carry the status and Duffel's code, not the credential."""
    provider = provider_for(POLICY)
    stand_in.will(Step(status=401, body=errors_body("invalid_authorization", "Bad token")))
    with pytest.raises(PermanentError) as refused:
        provider.search_one_way("LHR", "JFK", DAY, 1)
    assert "401" in str(refused.value)
    assert "invalid_authorization" in str(refused.value)
    assert TOKEN not in repr(provider)
    caplog.set_level(logging.DEBUG)
    stand_in.will(Step(status=503, body=errors_body("service_unavailable", "Down")))
    with pytest.raises(Unavailable):
        search(make_guard(POLICY), provider)
    texts = [r.getMessage() + str(r.exc_info) + str(r.__dict__) for r in caplog.records]
    assert texts, "the failure was logged"
    assert not [t for t in texts if TOKEN in t]


def test_a_hang_is_cut_by_the_timeout(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
) -> None:
    """An upstream that never answers costs the timeout, then a 503, reported as timeout."""
    policy = ResiliencePolicy(timeout=0.3, retries=1)
    stand_in.will(Step(hang=True))
    before = metric("flight_provider_requests_total", outcome="timeout")
    started = time.perf_counter()
    with pytest.raises(Unavailable):
        search(make_guard(policy), provider_for(policy))
    elapsed = time.perf_counter() - started
    assert 0.55 <= elapsed < 3.0, "two attempts of 0.3 s each"
    assert stand_in.calls == 2
    assert metric("flight_provider_requests_total", outcome="timeout") == before + 1


def test_a_timeout_is_reported_as_an_upstream_timeout(
    stand_in: StandIn, provider_for: Callable[[ResiliencePolicy], DuffelProvider]
) -> None:
    stand_in.will(Step(hang=True))
    with pytest.raises(UpstreamTimeout):
        provider_for(ResiliencePolicy(timeout=0.2)).search_one_way("LHR", "JFK", DAY, 1)


def test_a_refused_connection_is_transient(index: AirportIndex, clock: FrozenClock) -> None:
    probe = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = probe.server_address[1]
    probe.server_close()  # nothing listens there now
    provider = DuffelProvider(token=TOKEN, index=index, base_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(TransientError) as failed:
            provider.search_one_way("LHR", "JFK", DAY, 1)
        assert TOKEN not in str(failed.value)
    finally:
        provider.close()


def test_a_429_is_retried_after_its_retry_after(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    sleeps: list[float],
) -> None:
    stand_in.will(
        Step(
            status=429,
            body=errors_body("rate_limit_exceeded", "Slow down"),
            headers={"Retry-After": "3"},
        ),
        OK,
    )
    assert search(make_guard(POLICY), provider_for(POLICY)).source == "live"
    assert sleeps == [3.0]
    assert stand_in.calls == 2


def test_a_429_with_only_ratelimit_reset_waits_until_the_reset(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    sleeps: list[float],
    clock: FrozenClock,
) -> None:
    """Duffel's ``ratelimit-reset`` (an HTTP-date here) two seconds ahead of the clock."""
    reset = (clock.now() + timedelta(seconds=2)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    stand_in.will(
        Step(
            status=429,
            body=errors_body("rate_limit_exceeded", "Slow down"),
            headers={"ratelimit-reset": reset},
        ),
        OK,
    )
    assert search(make_guard(POLICY), provider_for(POLICY)).source == "live"
    assert sleeps == [2.0]


# circuit over HTTP ----------------------------------------------------------------


def test_after_fail_max_failures_the_upstream_is_left_alone_until_the_reset(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    clock: FrozenClock,
) -> None:
    """Open circuit: no request reaches Duffel; the answer is the cache or 503, fast."""
    guard, provider = make_guard(POLICY), provider_for(POLICY)
    stand_in.will(OK, Step(status=503, body=errors_body("unavailable", "Down")))
    search(guard, provider)  # stored for the fallback
    for _ in range(POLICY.breaker_fail_max):
        assert search(guard, provider).stale
    assert guard.circuit.state() is CircuitState.OPEN
    calls = stand_in.calls
    assert calls == 1 + POLICY.breaker_fail_max * POLICY.attempts

    started = time.perf_counter()
    cached = search(guard, provider)
    assert time.perf_counter() - started < 0.05
    assert (cached.source, cached.stale, len(cached.value)) == ("cache", True, 2)
    with pytest.raises(Unavailable) as refused:
        search(guard, provider, adults=2)  # nothing stored for two adults
    assert refused.value.retry_after == 30
    assert stand_in.calls == calls, "not a single request while open"

    clock.advance(POLICY.breaker_reset)
    stand_in.will(OK)
    trial = search(guard, provider)
    assert (trial.source, trial.stale) == ("live", False)
    assert stand_in.calls == calls + 1, "exactly one trial request"
    assert guard.circuit.state() is CircuitState.CLOSED


# regressions ----------------------------------------------------------------------


def test_a_body_that_cannot_be_decoded_is_a_bad_response_without_a_traceback(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Regression: ``Content-Encoding: gzip`` over a plain body raised httpx's
    ``DecodingError`` (not a ``TransportError``), which the guard logged with a
    traceback as a bug of ours. Whatever the upstream sends is the upstream's fault."""
    stand_in.will(Step(raw=b"not gzip at all", headers={"Content-Encoding": "gzip"}))
    caplog.set_level(logging.WARNING)
    with pytest.raises(Unavailable):
        search(make_guard(POLICY), provider_for(POLICY))
    assert stand_in.calls == 1, "a bad answer is not retried"
    assert [r.getMessage() for r in caplog.records if "could not be decoded" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info]


@pytest.mark.parametrize(
    ("retry_after", "told"),
    [
        pytest.param("1" + "0" * 400, 4, id="infinite: ignored, the backoff cap"),
        pytest.param("99999999999999", 30, id="huge: capped at the reset"),
    ],
)
def test_an_absurd_retry_after_is_neither_an_overflow_nor_a_promise(
    stand_in: StandIn,
    provider_for: Callable[[ResiliencePolicy], DuffelProvider],
    make_guard: Callable[..., ResilienceGuard],
    retry_after: str,
    told: int,
) -> None:
    """Regression: a 429 whose ``Retry-After`` parsed to infinity made ``math.ceil``
    raise ``OverflowError`` out of the guard (a 500); a huge finite one was passed on
    to clients as is (about 3 million years). Now a non-finite hint is ignored and
    a finite one capped at the circuit's reset."""
    policy = ResiliencePolicy(timeout=2.0, retries=0, breaker_fail_max=5, breaker_reset=30)
    stand_in.will(
        Step(
            status=429,
            body=errors_body("rate_limit_exceeded", "Slow down"),
            headers={"Retry-After": retry_after},
        )
    )
    with pytest.raises(Unavailable) as refused:
        search(make_guard(policy), provider_for(policy))
    assert refused.value.retry_after == told
