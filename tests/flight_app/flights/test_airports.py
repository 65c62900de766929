"""The airport index: lookup, ranking, accent-insensitivity, limits, speed.

The ranked search is checked against a brute-force oracle that classifies every
airport, so the bisect/scan shortcuts can never drift from the contract's order.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flight_app.flights.airports import Airport, AirportIndex, default_index
from flight_app.flights.text import fold

_WORD_BOUNDARY = (" ", "-", "/", "(", "'")


def _tier(airport: Airport, q: str) -> tuple[int, int] | None:
    """The contract's rank of ``airport`` for folded query ``q``, or None if no match."""
    city, name = fold(airport.city), fold(airport.name)
    if airport.iata.casefold() == q:
        return (0, 0)
    if city.startswith(q):
        return (1, 0)
    if name.startswith(q):
        return (2, 0)
    fields = (airport.iata.casefold(), airport.icao.casefold(), city, name)
    hits = [(field, at) for field in fields for at in _positions(field, q)]
    if not hits:
        return None
    word_start = any(at == 0 or field[at - 1] in _WORD_BOUNDARY for field, at in hits)
    return (3, 0 if word_start else 1)


def _positions(text: str, q: str) -> list[int]:
    found, at = [], text.find(q)
    while at != -1:
        found.append(at)
        at = text.find(q, at + 1)
    return found


def oracle(index: AirportIndex, query: str, limit: int) -> list[str]:
    q = fold(query)
    if not q:
        return []
    ranked = []
    for airport in index:
        tier = _tier(airport, q)
        if tier is not None:
            ranked.append((tier, fold(airport.city), airport.iata))
    return [iata for _, _, iata in sorted(ranked)[:limit]]


def test_the_index_holds_only_airports_with_an_iata_code(index: AirportIndex) -> None:
    """Every entry has a three-letter code, an ICAO-or-empty code and a valid zone name."""
    assert len(index) > 7000
    assert all(len(a.iata) == 3 and a.iata.isupper() and a.tz for a in index)


def test_get_by_code_ignores_case_and_spaces(index: AirportIndex) -> None:
    """``get`` is the lookup the search validation uses: ``' zrh '`` is ZRH."""
    zurich = index.get(" zrh ")
    assert zurich is not None
    assert (zurich.iata, zurich.icao, zurich.city, zurich.tz) == (
        "ZRH",
        "LSZH",
        "Zurich",
        "Europe/Zurich",
    )
    assert index.get("XXX") is None
    assert index.get("") is None


def test_airport_json_has_exactly_the_contract_members(index: AirportIndex) -> None:
    airport = index.get("JFK")
    assert airport is not None
    assert set(airport.to_json()) == {"iata", "icao", "name", "city", "country", "tz", "lat", "lon"}
    assert isinstance(airport.to_json()["lat"], float)


def test_exact_code_first_then_city_then_name_then_the_rest(index: AirportIndex) -> None:
    """``bar``: the airport BAR first, then Barcelona, Bari... (city), then names."""
    results = index.search("bar", limit=50)
    assert results[0].iata == "BAR", "the exact IATA code beats every city prefix"
    tiers = [_tier(a, "bar") for a in results]
    assert tiers == sorted(t for t in tiers if t is not None)
    assert [a.iata for a in results] == oracle(index, "bar", 50)


@pytest.mark.parametrize(
    "query",
    ["lon", "new y", "york", "kennedy", "heathrow", "a", "zu", "sao paulo", "int", "lszh", "zrh"],
)
def test_ranking_matches_the_brute_force_oracle(index: AirportIndex, query: str) -> None:
    """The fast search returns exactly what ranking every airport by hand returns."""
    assert [a.iata for a in index.search(query, limit=20)] == oracle(index, query, 20)


def test_a_city_word_ranks_before_mid_word_matches(index: AirportIndex) -> None:
    """``york``: York, then Yorkton..., then New York (word) before mid-word hits."""
    results = index.search("york", limit=20)
    assert results[0].iata == "THV"  # York, Pennsylvania: the city itself
    tiers = [_tier(a, "york") for a in results]
    new_york = tiers[[a.iata for a in results].index("JFK")]
    assert new_york == (3, 0), "New York matches at a word start"
    assert all(t != (3, 1) for t in tiers[: tiers.index(new_york)])


@pytest.mark.parametrize(
    ("typed", "code"),
    [("zürich", "ZRH"), ("ZURICH", "ZRH"), ("São Paulo", "GRU"), ("egilsstadir", "EGS")],
)
def test_search_is_case_and_accent_insensitive(index: AirportIndex, typed: str, code: str) -> None:
    """NFKD + casefold (+ ð, ø, ł...): what a keyboard without accents can type finds it."""
    assert code in [a.iata for a in index.search(typed, limit=10)]


def test_accented_and_plain_queries_give_the_same_answer(index: AirportIndex) -> None:
    assert index.search("Zürich") == index.search("zurich") == index.search("  ZURICH ")


def test_limit_bounds_the_answer(index: AirportIndex) -> None:
    assert len(index.search("a", limit=1)) == 1
    assert len(index.search("a", limit=50)) == 50
    with pytest.raises(ValueError, match="limit"):
        index.search("a", limit=0)


def test_unknown_and_empty_queries_find_nothing(index: AirportIndex) -> None:
    assert index.search("qqxqzz") == []
    assert index.search("   ") == []
    assert index.search("\x1f\x1e") == [], "separator characters never match across fields"


def test_the_default_index_is_built_once_per_process() -> None:
    assert default_index() is default_index()


_QUERY_SOURCES = [a.city for a in default_index() if a.city][::40] + [
    a.name for a in default_index()
][::40]


@st.composite
def typed_queries(draw: st.DrawFn) -> str:
    """What people type: a prefix of a real city or name, a code, or any short text."""
    kind = draw(st.sampled_from(["prefix", "code", "text"]))
    if kind == "prefix":
        source = draw(st.sampled_from(_QUERY_SOURCES))
        return source[: draw(st.integers(1, max(1, len(source))))]
    if kind == "code":
        return draw(st.sampled_from([a.iata for a in default_index()][::25])).lower()
    return draw(st.text(min_size=1, max_size=6))


@settings(max_examples=200, deadline=None)
@given(query=typed_queries(), limit=st.integers(1, 50))
def test_every_result_matches_the_query(query: str, limit: int) -> None:
    """Property: each item contains the folded query in its code, ICAO, city or name."""
    q = fold(query)
    results = default_index().search(query, limit=limit)
    assert len(results) <= limit
    assert len({a.iata for a in results}) == len(results), "no airport twice"
    for airport in results:
        haystacks = (airport.iata.casefold(), airport.icao.casefold(), fold(airport.city))
        assert any(q in h for h in (*haystacks, fold(airport.name))), (query, airport)


@settings(max_examples=100, deadline=None)
@given(query=typed_queries())
def test_search_agrees_with_the_oracle_for_any_query(query: str) -> None:
    """Property: the ranking shortcuts never change the contract's order."""
    index = default_index()
    assert [a.iata for a in index.search(query, limit=20)] == oracle(index, query, 20)


def test_a_keystroke_lookup_stays_well_under_a_millisecond(index: AirportIndex) -> None:
    """p95 over realistic keystrokes; a generous 5 ms bound keeps CI noise out."""
    words = ["zurich", "london", "new york", "sao paulo", "egilsstadir", "kennedy", "qqq"]
    queries = [w[:n] for w in words for n in range(1, len(w) + 1)]
    timings = []
    for q in queries * 5:
        started = time.perf_counter()
        index.search(q, limit=20)
        timings.append(time.perf_counter() - started)
    timings.sort()
    assert timings[int(len(timings) * 0.95)] < 0.005
