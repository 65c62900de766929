"""The flight endpoints through ``create_app``: shapes, validation, problems, wiring.

``GET /api/airports`` and ``GET /api/flights/search`` as the HTTP contract words
them, in process with Flask's test client on the embedded ``builtin`` provider.
Provider failures come from a provider swapped into the app's search (a guard that
records its waits instead of sleeping), and the ``duffel`` wiring from the
settings is checked against the loopback stand-in. The real server, retries over
the network and the shared circuit are in ``tests/e2e/test_flights.py``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from werkzeug.test import TestResponse

from flight_app.app import close_app, get_components
from flight_app.flights import Flight, FlightSearch, default_index
from flight_app.flights.http import EXTENSION_KEY, get_flight_search
from flight_app.flights.testing import OK, StandIn
from flight_app.resilience import (
    ResiliencePolicy,
    TransientError,
    create_guard,
    policy_metrics,
)
from flight_app.settings import resilience_policy

SignedIn = Callable[..., dict[str, Any]]
ReadLog = Callable[[str], list[dict[str, Any]]]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]

AIRPORT_KEYS = {"iata", "icao", "name", "city", "country", "tz", "lat", "lon"}
FLIGHT_KEYS = {
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
META_KEYS = {
    "origin",
    "destination",
    "depart",
    "return",
    "adults",
    "provider",
    "source",
    "stale",
    "fetched_at",
}


def days(n: int) -> str:
    """The UTC date ``n`` days from now (a safe margin keeps "today" out of the way)."""
    return (datetime.now(UTC).date() + timedelta(days=n)).isoformat()


@pytest.fixture
def bearer(signed_in: SignedIn) -> dict[str, str]:
    return {"Authorization": f"Bearer {signed_in()['access_token']}"}


@pytest.fixture
def search_url() -> Callable[..., str]:
    def make(**params: str) -> str:
        query = {"origin": "ZRH", "destination": "LHR", "depart": days(30), **params}
        return "/api/flights/search?" + "&".join(
            f"{k}={v}" for k, v in query.items() if v is not None
        )

    return make


def error_locs(body: dict[str, Any]) -> list[list[str]]:
    return [error["loc"] for error in body["errors"]]


# --- GET /api/airports --------------------------------------------------------------


def test_airports_answer_items_and_meta_publicly_cacheable(client: FlaskClient) -> None:
    """No token needed; exact IATA code first; the shape and headers of the contract."""
    response = client.get("/api/airports?q=zrh")
    assert response.status_code == 200
    body = response.get_json()
    assert body["meta"] == {"q": "zrh", "returned": len(body["items"])}
    assert body["items"][0]["iata"] == "ZRH"
    assert all(set(item) == AIRPORT_KEYS for item in body["items"])
    assert response.headers["Cache-Control"] == "public, max-age=3600"


def test_airports_limit_defaults_to_20_and_goes_to_50(client: FlaskClient) -> None:
    assert client.get("/api/airports?q=a").get_json()["meta"]["returned"] == 20
    assert client.get("/api/airports?q=a&limit=50").get_json()["meta"]["returned"] == 50
    assert client.get("/api/airports?q=a&limit=1").get_json()["meta"]["returned"] == 1


def test_airports_accept_a_query_of_64_characters(client: FlaskClient) -> None:
    response = client.get("/api/airports?q=" + "z" * 64)
    assert response.status_code == 200
    assert response.get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("", "q", id="q missing"),
        pytest.param("q=", "q", id="q empty"),
        pytest.param("q=" + "z" * 65, "q", id="q too long"),
        pytest.param("q=zur&limit=0", "limit", id="limit 0"),
        pytest.param("q=zur&limit=51", "limit", id="limit 51"),
        pytest.param("q=zur&limit=ten", "limit", id="limit not a number"),
        pytest.param("q=zur&q=gen", "q", id="q twice"),
    ],
)
def test_airports_refuse_bad_parameters_naming_them(
    client: FlaskClient, expect_problem: ExpectProblem, query: str, field: str
) -> None:
    response = client.get(f"/api/airports?{query}")
    body = expect_problem(response, 422, "validation_error")
    assert error_locs(body) == [["query", field]]
    assert response.headers["Cache-Control"] == "no-store", "a problem is never cached"


def test_airports_name_every_bad_parameter_at_once(
    client: FlaskClient, expect_problem: ExpectProblem
) -> None:
    body = expect_problem(client.get("/api/airports?q=a&q=b&limit=0"), 422, "validation_error")
    assert sorted(error_locs(body)) == [["query", "limit"], ["query", "q"]]


def test_airports_ignore_unknown_parameters(client: FlaskClient) -> None:
    """Forward compatible: a cache-buster or a tracking tag changes nothing."""
    plain = client.get("/api/airports?q=gen").get_json()
    tagged = client.get("/api/airports?q=gen&_=123&utm_source=x").get_json()
    assert tagged == plain


# --- GET /api/flights/search: success -------------------------------------------------


def test_search_needs_a_bearer_token(
    client: FlaskClient, expect_problem: ExpectProblem, search_url: Callable[..., str]
) -> None:
    response = client.get(search_url())
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_one_way_search_answers_sorted_flights_and_meta(
    client: FlaskClient, bearer: dict[str, str], search_url: Callable[..., str]
) -> None:
    depart = days(30)
    response = client.get(search_url(depart=depart), headers=bearer)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["inbound"] == []
    assert body["outbound"]
    assert all(set(flight) == FLIGHT_KEYS for flight in body["outbound"])
    times = [datetime.fromisoformat(f["departs_at"]) for f in body["outbound"]]
    assert times == sorted(times)
    assert all(t.utcoffset() == timedelta(hours=1) for t in times), "Zurich's winter time"
    assert isinstance(body["outbound"][0]["price"]["amount"], str)
    meta = body["meta"]
    assert set(meta) == META_KEYS
    assert (meta["origin"], meta["destination"], meta["depart"], meta["return"]) == (
        "ZRH",
        "LHR",
        depart,
        None,
    )
    assert (meta["adults"], meta["provider"], meta["source"], meta["stale"]) == (
        1,
        "builtin",
        "live",
        False,
    )
    assert meta["fetched_at"].endswith("Z")


def test_a_round_trip_answers_both_directions(
    client: FlaskClient, bearer: dict[str, str], search_url: Callable[..., str]
) -> None:
    """Lower-case codes, an empty unknown parameter and two adults, as a form sends them."""
    url = search_url(origin="zrh", destination="jfk", depart=days(30), adults="2")
    response = client.get(url + f"&return={days(37)}&ref=", headers=bearer)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert {f["origin"] for f in body["outbound"]} == {"ZRH"}
    assert {f["origin"] for f in body["inbound"]} == {"JFK"}
    assert (body["meta"]["return"], body["meta"]["adults"]) == (days(37), 2)


def test_an_empty_return_is_a_one_way_search(
    client: FlaskClient, bearer: dict[str, str], search_url: Callable[..., str]
) -> None:
    response = client.get(search_url(**{"return": "", "adults": ""}), headers=bearer)
    assert response.status_code == 200
    assert (response.get_json()["inbound"], response.get_json()["meta"]["adults"]) == ([], 1)


# --- GET /api/flights/search: validation ----------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"origin": "XXQ"}, "origin", id="unknown origin"),
        pytest.param({"destination": "ZZZZ"}, "destination", id="unknown destination"),
        pytest.param({"origin": None}, "origin", id="origin missing"),
        pytest.param({"destination": "ZRH"}, "destination", id="origin equals destination"),
        pytest.param({"depart": None}, "depart", id="depart missing"),
        pytest.param({"depart": days(-2)}, "depart", id="depart in the past"),
        pytest.param({"depart": days(400)}, "depart", id="depart beyond 365 days"),
        pytest.param({"depart": "2026-02-30"}, "depart", id="depart not a date"),
        pytest.param({"depart": "30.12.2026"}, "depart", id="depart malformed"),
        pytest.param({"return": days(20)}, "return", id="return before depart"),
        pytest.param({"return": days(400)}, "return", id="return beyond 365 days"),
        pytest.param({"return": "soon"}, "return", id="return malformed"),
        pytest.param({"adults": "0"}, "adults", id="adults 0"),
        pytest.param({"adults": "10"}, "adults", id="adults 10"),
        pytest.param({"adults": "two"}, "adults", id="adults not a number"),
        pytest.param({"origin": "Z" * 65}, "origin", id="origin over 64 characters"),
    ],
)
def test_search_refuses_each_bad_field_naming_it(
    client: FlaskClient,
    bearer: dict[str, str],
    expect_problem: ExpectProblem,
    search_url: Callable[..., str],
    params: dict[str, str | None],
    field: str,
) -> None:
    response = client.get(search_url(**params), headers=bearer)
    body = expect_problem(response, 422, "validation_error")
    assert error_locs(body) == [["query", field]]
    assert all(isinstance(error["msg"], str) and error["msg"] for error in body["errors"])


def test_search_names_every_bad_field_at_once(
    client: FlaskClient, bearer: dict[str, str], expect_problem: ExpectProblem
) -> None:
    url = f"/api/flights/search?origin=ZRH&destination=ZRH&depart={days(-3)}&return=x&adults=12"
    body = expect_problem(client.get(url, headers=bearer), 422, "validation_error")
    assert sorted(error_locs(body)) == [
        ["query", "adults"],
        ["query", "depart"],
        ["query", "destination"],
        ["query", "return"],
    ]


def test_a_repeated_search_parameter_is_refused_not_guessed(
    client: FlaskClient,
    bearer: dict[str, str],
    expect_problem: ExpectProblem,
    search_url: Callable[..., str],
) -> None:
    """``origin=ZRH&origin=GVA`` has no right answer: 422 naming it, nothing searched."""
    response = client.get(search_url() + "&origin=GVA", headers=bearer)
    body = expect_problem(response, 422, "validation_error")
    assert error_locs(body) == [["query", "origin"]]


# --- provider failures ----------------------------------------------------------------


class ScriptedProvider:
    """Answers from a list: a list of flights, or an exception to raise."""

    name = "scripted"

    def __init__(self, *answers: list[Flight] | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def search_one_way(
        self, origin: str, destination: str, date: date, adults: int
    ) -> list[Flight]:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def use_provider(app: Flask) -> Callable[[ScriptedProvider], list[float]]:
    """Swap ``provider`` into the app's search; returns the list of waits it asked for."""

    def use(provider: ScriptedProvider) -> list[float]:
        waits: list[float] = []
        guard = create_guard(
            name="flight_provider",
            policy=ResiliencePolicy(retries=1, breaker_fail_max=3, breaker_reset=30),
            metrics=policy_metrics("flight_provider"),
            sleep=waits.append,
            rng=random.Random(3),
        )
        app.extensions[EXTENSION_KEY] = FlightSearch(
            index=get_flight_search(app).index, provider=provider, guard=guard
        )
        return waits

    return use


def builtin_flights(depart: str) -> list[Flight]:
    from flight_app.flights import BuiltinProvider

    return BuiltinProvider(default_index()).search_one_way(
        "ZRH", "LHR", date.fromisoformat(depart), 1
    )


def test_a_failing_provider_with_nothing_stored_is_a_503_with_retry_after(
    client: FlaskClient,
    bearer: dict[str, str],
    expect_problem: ExpectProblem,
    search_url: Callable[..., str],
    use_provider: Callable[[ScriptedProvider], list[float]],
    read_log: ReadLog,
) -> None:
    """The app's handler wins over the adapter's (which would answer 500 for this code)."""
    provider = ScriptedProvider(TransientError("Duffel answered 503"))
    waits = use_provider(provider)
    response = client.get(search_url(), headers=bearer)
    body = expect_problem(response, 503, "provider_unavailable")
    assert isinstance(body["retry_after"], int)
    assert body["retry_after"] >= 1
    assert response.headers["Retry-After"] == str(body["retry_after"])
    assert response.headers["Cache-Control"] == "no-store"
    assert (provider.calls, len(waits)) == (2, 1), "one retry"
    lines = read_log("system.jsonl")
    assert not [line for line in lines if "exc_info" in line]
    assert not [line for line in lines if line.get("status") == 500]


def test_a_failing_provider_falls_back_to_the_stored_result(
    client: FlaskClient,
    bearer: dict[str, str],
    search_url: Callable[..., str],
    use_provider: Callable[[ScriptedProvider], list[float]],
) -> None:
    depart = days(30)
    use_provider(ScriptedProvider(builtin_flights(depart), TransientError("down")))
    live = client.get(search_url(depart=depart), headers=bearer).get_json()
    stale = client.get(search_url(depart=depart), headers=bearer)
    assert stale.status_code == 200
    assert stale.get_json()["outbound"] == live["outbound"]
    assert (stale.get_json()["meta"]["source"], stale.get_json()["meta"]["stale"]) == (
        "cache",
        True,
    )
    assert stale.get_json()["meta"]["fetched_at"] == live["meta"]["fetched_at"]


def test_a_provider_crash_is_a_503_never_a_500(
    client: FlaskClient,
    bearer: dict[str, str],
    expect_problem: ExpectProblem,
    search_url: Callable[..., str],
    use_provider: Callable[[ScriptedProvider], list[float]],
) -> None:
    """Even an exception outside the resilience hierarchy stays inside the guard."""
    use_provider(ScriptedProvider(RuntimeError("a bug in some mapping")))
    expect_problem(client.get(search_url(), headers=bearer), 503, "provider_unavailable")


# --- wiring -----------------------------------------------------------------------------


@pytest.fixture
def duffel() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def test_the_settings_choose_the_provider_and_its_policy(
    make_app: Callable[..., Flask],
    duffel: StandIn,
    password: str,
    search_url: Callable[..., str],
) -> None:
    """``FLIGHT_APP_FLIGHT_PROVIDER=duffel`` with its URL and token, and the policy knobs."""
    app = make_app(
        flight_provider="duffel",
        duffel_url=duffel.url,
        duffel_token="duffel_test_wiring-token",
        provider_timeout=3,
        provider_retries=1,
        breaker_fail_max=4,
        breaker_reset=12,
        flight_cache_ttl=600,
    )
    search = get_flight_search(app)
    assert search.guard.policy == resilience_policy(get_components(app).settings)
    assert search.guard.policy == ResiliencePolicy(
        timeout=3, retries=1, breaker_fail_max=4, breaker_reset=12, cache_ttl=600
    )
    duffel.will(OK)
    client = app.test_client()
    account = {"username": "dora", "password": password}
    created = client.post("/auth/register", json={**account, "email": "dora@example.com"})
    assert created.status_code == 201
    token = client.post("/auth/login", json=account).get_json()["access_token"]
    response = client.get(search_url(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["meta"]["provider"] == "duffel"
    assert [f["carrier"] for f in response.get_json()["outbound"]] == ["ZZ", "ZZ"]
    assert duffel.seen[0].headers["authorization"] == "Bearer duffel_test_wiring-token"
    assert duffel.seen[0].path == "/air/offer_requests?return_offers=true"


def test_close_app_releases_the_search_and_disposes_the_engine(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What gunicorn's ``worker_exit`` calls: flights closed, the engine disposed."""
    closed: list[str] = []
    engine = get_components(app).engine
    monkeypatch.setattr(get_flight_search(app), "close", lambda: closed.append("flights"))
    monkeypatch.setattr(engine, "dispose", lambda *a, **k: closed.append("engine"))
    assert close_app(app) == []
    assert closed == ["flights", "engine"]


def test_close_app_goes_on_when_a_step_fails(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> None:
        raise OSError("pool already gone")

    disposed: list[bool] = []
    monkeypatch.setattr(get_flight_search(app), "close", broken)
    monkeypatch.setattr(get_components(app).engine, "dispose", lambda *a: disposed.append(True))
    assert close_app(app) == ["flight search"]
    assert disposed == [True]
    assert "closing the flight search failed" in caplog.text


def test_metrics_list_the_flight_provider_series(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In process (no gunicorn multiprocess folder), from the first scrape on."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    text = client.get("/metrics").get_data(as_text=True)
    for name in (
        "flight_provider_requests_total",
        "flight_provider_retries_total",
        "flight_provider_circuit_state",
        "flight_provider_fallbacks_total",
        "flight_provider_latency_seconds",
    ):
        assert f"# TYPE {name.removesuffix('_total')}" in text, name


@pytest.mark.redis
def test_with_redis_the_cache_and_circuit_live_under_the_configured_namespace(
    make_app: Callable[..., Flask], redis_url: str, password: str, search_url: Callable[..., str]
) -> None:
    """``FLIGHT_APP_FLIGHT_REDIS_NAMESPACE`` keeps deployments (and test runs) apart."""
    namespace = f"test_flight_http:{uuid.uuid4().hex}"
    app = make_app(
        redis_url=redis_url, flight_redis_namespace=namespace, live_channel=f"{namespace}:live"
    )
    client = app.test_client()
    account = {"username": "rhea", "password": password}
    created = client.post("/auth/register", json={**account, "email": "r@example.com"})
    assert created.status_code == 201
    token = client.post("/auth/login", json=account).get_json()["access_token"]
    redis = Redis.from_url(redis_url)
    try:
        response = client.get(search_url(), headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        keys = {key.decode() for key in redis.scan_iter(match=f"{namespace}:*")}
        assert f"{namespace}:cache:flights:v1:builtin:ZRH:LHR:{days(30)}:1" in keys
        assert f"{namespace}:pybreaker:state" in keys
    finally:
        stale = list(redis.scan_iter(match=f"{namespace}:*"))
        if stale:
            redis.delete(*stale)
        redis.close()
        close_app(app)
