"""FlightSearch: validation naming each field, concurrent directions, meta, 503.

The provider is the builtin schedule behind a thin wrapper that can fail a
direction, meet the other direction at a barrier, and record what it saw.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from authkit.clock import FrozenClock
from authkit.errors import AuthkitError, ValidationFailed
from flight_app.flights.airports import AirportIndex
from flight_app.flights.builtin import BuiltinProvider
from flight_app.flights.errors import ProviderUnavailable
from flight_app.flights.models import Flight, SearchQuery
from flight_app.flights.service import FlightSearch
from flight_app.resilience import ResilienceGuard, ResiliencePolicy, TransientError

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Recording:
    """The builtin schedule, able to fail a direction and to wait for the other one."""

    name = "builtin"

    def __init__(self, index: AirportIndex) -> None:
        self.inner = BuiltinProvider(index)
        self.failing: set[tuple[str, str]] = set()
        self.barrier: threading.Barrier | None = None
        self.seen: list[tuple[str, str, int, str]] = []
        self._lock = threading.Lock()

    def search_one_way(
        self, origin: str, destination: str, date: date, adults: int
    ) -> list[Flight]:
        with self._lock:
            self.seen.append((origin, destination, threading.get_ident(), REQUEST_ID.get()))
        if self.barrier is not None:
            self.barrier.wait()
        if (origin, destination) in self.failing:
            raise TransientError("503 from the provider")
        return self.inner.search_one_way(origin, destination, date, adults)


@pytest.fixture
def provider(index: AirportIndex) -> Recording:
    return Recording(index)


@pytest.fixture
def flights(
    index: AirportIndex,
    provider: Recording,
    make_guard: Callable[..., ResilienceGuard],
    clock: FrozenClock,
) -> FlightSearch:
    guard = make_guard(ResiliencePolicy(retries=1, breaker_fail_max=10))
    return FlightSearch(index=index, provider=provider, guard=guard, clock=clock)


def locs(error: ValidationFailed) -> list[list[str]]:
    return [item["loc"] for item in error.errors]


def query(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "origin": "ZRH",
        "destination": "JFK",
        "depart": "2026-03-10",
        "return_date": "2026-03-17",
        "adults": 1,
    }
    return base | overrides


# validation ---------------------------------------------------------------------


def test_a_valid_query_is_normalised(flights: FlightSearch) -> None:
    """Codes in any case and spacing, dates as text, adults as text: all read."""
    checked = flights.validate(**query(origin=" zrh", destination="jfk", adults="2"))
    assert checked == SearchQuery(
        origin="ZRH",
        destination="JFK",
        depart=date(2026, 3, 10),
        return_date=date(2026, 3, 17),
        adults=2,
    )


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"origin": "XXX"}, "origin"),
        ({"origin": ""}, "origin"),
        ({"origin": "ZURICH"}, "origin"),
        ({"destination": "QQQ"}, "destination"),
        ({"destination": "zrh"}, "destination"),
        ({"depart": "2026-02-28"}, "depart"),
        ({"depart": "2027-03-02", "return_date": None}, "depart"),
        ({"depart": None}, "depart"),
        ({"depart": "2026-13-01"}, "depart"),
        ({"depart": "2026-02-30"}, "depart"),
        ({"depart": "10.03.2026"}, "depart"),
        ({"depart": "20260310"}, "depart"),
        ({"return_date": "2026-03-09"}, "return"),
        ({"return_date": "2027-03-02"}, "return"),
        ({"return_date": "next week"}, "return"),
        ({"adults": 0}, "adults"),
        ({"adults": 10}, "adults"),
        ({"adults": "two"}, "adults"),
        ({"adults": True}, "adults"),
    ],
)
def test_each_invalid_field_is_named(
    flights: FlightSearch, overrides: dict[str, Any], field: str
) -> None:
    """422 ``validation_error`` with ``loc: ["query", <parameter>]`` and a message."""
    with pytest.raises(ValidationFailed) as failed:
        flights.validate(**query(**overrides))
    assert locs(failed.value) == [["query", field]]
    assert failed.value.code == "validation_error"
    assert all(item["msg"].endswith(".") for item in failed.value.errors)


def test_every_problem_is_reported_at_once(flights: FlightSearch) -> None:
    with pytest.raises(ValidationFailed) as failed:
        flights.validate(origin="XXX", destination="", depart="soon", return_date="x", adults=0)
    assert sorted(loc[1] for loc in locs(failed.value)) == [
        "adults",
        "depart",
        "destination",
        "origin",
        "return",
    ]


def test_the_last_day_of_the_horizon_and_same_day_return_are_fine(flights: FlightSearch) -> None:
    """365 days ahead is allowed, 366 not; returning on the departure day is allowed."""
    assert flights.validate(**query(depart="2027-03-01", return_date="2027-03-01")).adults == 1
    assert flights.validate(**query(depart="2026-03-01", return_date=None)).return_date is None


def test_today_is_the_date_at_the_origin(index: AirportIndex, flights: FlightSearch) -> None:
    """At 12:00 UTC on 1 March it is already 2 March in Auckland but 1 March in Honolulu."""
    at_noon = FrozenClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    search = FlightSearch(
        index=index, provider=flights.provider, guard=flights.guard, clock=at_noon
    )
    with pytest.raises(ValidationFailed) as failed:
        search.validate(origin="AKL", destination="SYD", depart="2026-03-01")
    assert locs(failed.value) == [["query", "depart"]]
    assert search.validate(origin="AKL", destination="SYD", depart="2026-03-02").origin == "AKL"
    assert search.validate(origin="HNL", destination="LAX", depart="2026-03-01").origin == "HNL"


def test_dates_may_be_given_as_date_objects(flights: FlightSearch) -> None:
    checked = flights.validate(origin="ZRH", destination="JFK", depart=date(2026, 3, 10))
    assert checked.depart == date(2026, 3, 10)


# searching ----------------------------------------------------------------------


def test_a_round_trip_asks_both_directions_concurrently(
    flights: FlightSearch, provider: Recording
) -> None:
    """The two calls meet at a barrier: run one after the other, they never would."""
    provider.barrier = threading.Barrier(2, timeout=5)
    result = flights.search(flights.validate(**query()))
    assert result.outbound
    assert result.inbound
    assert {(o, d) for o, d, _, _ in provider.seen} == {("ZRH", "JFK"), ("JFK", "ZRH")}
    assert len({thread for _, _, thread, _ in provider.seen}) == 2
    assert (result.source, result.stale) == ("live", False)


def test_the_request_context_reaches_the_inbound_thread(
    flights: FlightSearch, provider: Recording
) -> None:
    """Context variables (the trace id of the logs) are copied into the helper thread."""
    token = REQUEST_ID.set("trace-42")
    try:
        flights.search(flights.validate(**query()))
    finally:
        REQUEST_ID.reset(token)
    assert [ctx for *_, ctx in provider.seen] == ["trace-42", "trace-42"]


def test_a_one_way_search_has_no_inbound_and_one_call(
    flights: FlightSearch, provider: Recording
) -> None:
    result = flights.search(flights.validate(**query(return_date=None)))
    assert result.inbound == ()
    assert len(provider.seen) == 1
    assert result.to_json()["meta"]["return"] is None
    assert result.to_json()["inbound"] == []


def test_the_result_json_is_the_contracts(flights: FlightSearch, clock: FrozenClock) -> None:
    data = flights.search(flights.validate(**query(adults=2))).to_json()
    assert set(data) == {"outbound", "inbound", "meta"}
    assert data["meta"] == {
        "origin": "ZRH",
        "destination": "JFK",
        "depart": "2026-03-10",
        "return": "2026-03-17",
        "adults": 2,
        "provider": "builtin",
        "source": "live",
        "stale": False,
        "fetched_at": "2026-03-01T09:00:00Z",
    }
    for direction in ("outbound", "inbound"):
        times = [datetime.fromisoformat(f["departs_at"]) for f in data[direction]]
        assert times == sorted(times)
    assert {f["origin"] for f in data["inbound"]} == {"JFK"}


def test_a_failed_direction_is_served_stale_from_the_cache(
    flights: FlightSearch, provider: Recording, clock: FrozenClock
) -> None:
    """Inbound fails after both were stored: source cache, stale, fetched_at the older one."""
    checked = flights.validate(**query())
    first = flights.search(checked)
    clock.advance(600)
    provider.failing = {("JFK", "ZRH")}
    again = flights.search(checked)
    assert (again.source, again.stale) == ("cache", True)
    assert again.inbound == first.inbound
    assert again.fetched_at == first.fetched_at
    assert again.to_json()["meta"]["fetched_at"] == "2026-03-01T09:00:00Z"


def test_a_direction_with_nothing_stored_makes_the_search_unavailable(
    flights: FlightSearch, provider: Recording
) -> None:
    """503 ``provider_unavailable`` with a whole-second Retry-After, never a 500."""
    provider.failing = {("JFK", "ZRH")}
    with pytest.raises(ProviderUnavailable) as unavailable:
        flights.search(flights.validate(**query()))
    error = unavailable.value
    assert isinstance(error, AuthkitError)
    assert error.code == "provider_unavailable"
    assert error.retry_after >= 1
    assert error.extra["retry_after"] == error.retry_after


def test_one_way_and_round_trip_share_the_cache_per_direction(
    flights: FlightSearch, provider: Recording
) -> None:
    """Keys are per direction and party size, so a one-way result serves the round trip."""
    flights.search(flights.validate(**query(return_date=None)))
    flights.search(flights.validate(origin="JFK", destination="ZRH", depart="2026-03-17"))
    provider.failing = {("ZRH", "JFK"), ("JFK", "ZRH")}
    result = flights.search(flights.validate(**query()))
    assert (result.source, result.stale) == ("cache", True)
    assert flights.cache_key("ZRH", "JFK", date(2026, 3, 10), 1) == (
        "flights:v1:builtin:ZRH:JFK:2026-03-10:1"
    )


def test_provider_unavailable_is_a_safe_error() -> None:
    error = ProviderUnavailable(0)
    assert error.retry_after == 1
    assert error.message == "The flight provider is unavailable. Try again later."
