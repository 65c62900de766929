"""The builtin provider: a deterministic, plausible schedule for any pair and day.

Property-based: any two airports of the index, any day within a year. The
invariants are the contract's (instants ordered, durations true, lists sorted,
local offsets) plus determinism across calls and processes (SHA-256 seeding).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight_app.flights.airports import AirportIndex, default_index
from flight_app.flights.builtin import (
    FIRST_DEPARTURE,
    LAST_DEPARTURE,
    ONE_STOP_OVER_KM,
    BuiltinProvider,
)
from flight_app.flights.geo import haversine_km
from flight_app.flights.models import Flight
from flight_app.flights.timezones import local_datetime, zone
from flight_app.resilience import PermanentError

INDEX = default_index()
PROVIDER = BuiltinProvider(INDEX)
CODES = sorted(a.iata for a in INDEX)
TODAY = date(2026, 3, 1)

pairs = st.tuples(st.sampled_from(CODES), st.sampled_from(CODES)).filter(lambda p: p[0] != p[1])
days = st.integers(0, 365).map(lambda n: TODAY + timedelta(days=n))
adults = st.integers(1, 9)


def _search(pair: tuple[str, str], day: date, count: int = 1) -> list[Flight]:
    return PROVIDER.search_one_way(pair[0], pair[1], day, count)


@settings(max_examples=150, deadline=None)
@given(pair=pairs, day=days, count=adults)
def test_every_pair_and_day_has_a_sane_schedule(
    pair: tuple[str, str], day: date, count: int
) -> None:
    """Arrival after departure as instants, duration equal to their difference, sorted."""
    flights = _search(pair, day, count)
    assert flights, "every pair of airports has flights"
    for flight in flights:
        assert flight.arrives_at > flight.departs_at
        elapsed = (flight.arrives_at - flight.departs_at).total_seconds() / 60
        assert flight.duration_minutes == elapsed
        assert (flight.origin, flight.destination) == pair
        assert flight.price.amount > 0
        assert flight.price.amount == flight.price.amount.quantize(Decimal("0.01"))
    instants = [f.departs_at for f in flights]
    assert instants == sorted(instants)
    assert len({f.id for f in flights}) == len(flights)


@settings(max_examples=100, deadline=None)
@given(pair=pairs, day=days)
def test_times_are_in_each_airports_own_offset(pair: tuple[str, str], day: date) -> None:
    """Departure in the origin's zone on the asked local date, arrival in the destination's."""
    origin, destination = INDEX.get(pair[0]), INDEX.get(pair[1])
    assert origin is not None
    assert destination is not None
    for flight in _search(pair, day):
        departs, arrives = flight.departs_at, flight.arrives_at
        assert departs.utcoffset() == zone(origin.tz).utcoffset(departs.replace(tzinfo=None))
        assert arrives.utcoffset() == zone(destination.tz).utcoffset(arrives.replace(tzinfo=None))
        assert departs.date() == day
        minutes = departs.hour * 60 + departs.minute
        assert FIRST_DEPARTURE <= minutes <= LAST_DEPARTURE + 60, "06:00-22:30 (+1 h DST gap)"


@settings(max_examples=50, deadline=None)
@given(pair=pairs, day=days)
def test_the_same_query_gives_the_same_answer(pair: tuple[str, str], day: date) -> None:
    """Deterministic: two calls (and two processes: SHA-256 seeded) agree exactly."""
    assert _search(pair, day) == _search(pair, day)
    assert [f.to_json() for f in _search(pair, day)] == [f.to_json() for f in _search(pair, day)]


@settings(max_examples=50, deadline=None)
@given(pair=pairs, day=days, count=adults)
def test_prices_are_totals_for_all_adults(pair: tuple[str, str], day: date, count: int) -> None:
    """Same flights whatever the party size; the price scales with it."""
    single, party = _search(pair, day, 1), _search(pair, day, count)
    assert [f.id for f in single] == [f.id for f in party]
    assert [f.price.amount * count for f in single] == [f.price.amount for f in party]


@settings(max_examples=50, deadline=None)
@given(pair=pairs, day=days)
def test_json_round_trips(pair: tuple[str, str], day: date) -> None:
    """What the cache stores (``to_json``) reads back to equal flights."""
    for flight in _search(pair, day):
        assert Flight.from_json(flight.to_json()) == flight


def test_durations_follow_the_great_circle(index: AirportIndex) -> None:
    """Zurich-London is under 2 h, London-New York 7-8.5 h; eastbound is faster."""
    day = date(2026, 5, 12)
    zrh_lhr = PROVIDER.search_one_way("ZRH", "LHR", day, 1)[0]
    lhr_jfk = PROVIDER.search_one_way("LHR", "JFK", day, 1)[0]
    jfk_lhr = PROVIDER.search_one_way("JFK", "LHR", day, 1)[0]
    assert 80 <= zrh_lhr.duration_minutes <= 120
    assert 7 * 60 <= lhr_jfk.duration_minutes <= 8.5 * 60
    assert jfk_lhr.duration_minutes < lhr_jfk.duration_minutes
    assert zrh_lhr.stops == lhr_jfk.stops == 0


def test_long_routes_make_one_stop(index: AirportIndex) -> None:
    zurich, sydney = index.get("ZRH"), index.get("SYD")
    assert zurich is not None
    assert sydney is not None
    assert haversine_km(zurich.lat, zurich.lon, sydney.lat, sydney.lon) > ONE_STOP_OVER_KM
    flights = PROVIDER.search_one_way("ZRH", "SYD", date(2026, 5, 12), 1)
    assert {f.stops for f in flights} == {1}
    assert all(f.duration_minutes > 20 * 60 for f in flights), "flying time plus a layover"


def test_crossing_the_date_line_never_gives_negative_durations() -> None:
    """Apia to Honolulu lands on the 'previous' local date; the duration is still positive."""
    for flight in PROVIDER.search_one_way("APW", "HNL", date(2026, 5, 12), 1):
        assert flight.arrives_at.date() <= flight.departs_at.date()
        assert flight.duration_minutes > 0
        assert flight.arrives_at.astimezone(UTC) > flight.departs_at.astimezone(UTC)


def test_a_departure_in_a_dst_gap_rolls_forward() -> None:
    """02:30 does not exist in Zurich on 29 March 2026; a wall clock shows 03:30 (+02:00)."""
    tz = zone("Europe/Zurich")
    rolled = local_datetime(date(2026, 3, 29), 150, tz)
    assert rolled.isoformat() == "2026-03-29T03:30:00+02:00"
    assert local_datetime(date(2026, 3, 29), 60, tz).isoformat() == "2026-03-29T01:00:00+01:00"


def test_an_ambiguous_time_in_a_dst_fold_is_the_first() -> None:
    """02:30 happens twice in Zurich on 25 October 2026; the earlier (+02:00) is meant."""
    first = local_datetime(date(2026, 10, 25), 150, zone("Europe/Zurich"))
    assert first.isoformat() == "2026-10-25T02:30:00+02:00"


def test_flights_on_a_dst_change_day_keep_true_durations() -> None:
    """On the spring-forward day the local clock jumps; durations are still instants apart."""
    day = date(2026, 3, 29)
    for flight in PROVIDER.search_one_way("ZRH", "JFK", day, 1):
        expected = (flight.arrives_at.astimezone(UTC) - flight.departs_at.astimezone(UTC)) / 60
        assert flight.duration_minutes == expected.total_seconds()
        assert flight.departs_at.utcoffset() == timedelta(hours=2)


def test_flight_json_is_the_contracts() -> None:
    """RFC 3339 with the local offset; the amount a decimal string; exactly these members."""
    flight = PROVIDER.search_one_way("ZRH", "JFK", date(2026, 7, 1), 2)[0]
    data = flight.to_json()
    assert set(data) == {
        "id",
        "carrier",
        "carrier_name",
        "flight_number",
        "origin",
        "destination",
        "departs_at",
        "arrives_at",
        "duration_minutes",
        "stops",
        "price",
    }
    assert data["departs_at"].endswith("+02:00")
    assert data["arrives_at"].endswith("-04:00")
    assert datetime.fromisoformat(data["departs_at"]) == flight.departs_at
    assert isinstance(data["price"]["amount"], str)
    assert Decimal(data["price"]["amount"]) == flight.price.amount
    assert data["price"]["currency"] == "EUR"
    assert data["flight_number"].startswith(data["carrier"])


def test_unknown_airports_are_refused_not_invented() -> None:
    with pytest.raises(PermanentError):
        PROVIDER.search_one_way("ZRH", "XXX", date(2026, 7, 1), 1)
