"""Duffel's offers mapped to flights, and the request sent for them.

An ``httpx.MockTransport`` answers in Duffel's documented JSON (offer requests
with ``data.offers[].slices[].segments[]``), so these tests see exactly the
request httpx would put on the wire, without a socket. The behaviour over real
HTTP (retries, timeouts, the circuit) is in test_duffel_resilience.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from authkit.clock import FrozenClock
from flight_app.flights.airports import AirportIndex
from flight_app.flights.duffel import DuffelProvider
from flight_app.flights.duffel_errors import parse_retry_after
from flight_app.resilience import BadResponse, PermanentError, TransientError, UpstreamTimeout

TOKEN = "duffel_test_SECRET-token-123"
DAY = date(2026, 5, 12)


def errors_body(code: str, title: str) -> dict[str, Any]:
    """Duffel's error envelope."""
    return {
        "errors": [
            {"code": code, "title": title, "message": f"{title}.", "type": "invalid_request_error"}
        ],
        "meta": {"status": 422, "request_id": "FZW0H3HdJwKk5HMAAKxB"},
    }


def place(code: str, tz: str) -> dict[str, Any]:
    return {"type": "airport", "iata_code": code, "time_zone": tz, "name": f"{code} airport"}


def segment(
    origin: tuple[str, str],
    destination: tuple[str, str],
    departing_at: str,
    arriving_at: str,
    carrier: tuple[str, str] = ("BA", "British Airways"),
    number: str = "117",
) -> dict[str, Any]:
    return {
        "origin": place(*origin),
        "destination": place(*destination),
        "departing_at": departing_at,
        "arriving_at": arriving_at,
        "marketing_carrier": {"iata_code": carrier[0], "name": carrier[1]},
        "operating_carrier": {"iata_code": carrier[0], "name": carrier[1]},
        "marketing_carrier_flight_number": number,
        "stops": [],
    }


LHR, JFK, DUB = ("LHR", "Europe/London"), ("JFK", "America/New_York"), ("DUB", "Europe/Dublin")


def offers_body(*offers: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"id": "orq_0000AhTL4c5PAyF5rc5Qsx", "offers": list(offers)}}


def offer(offer_id: str, amount: str, *segments: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": offer_id,
        "total_amount": amount,
        "total_currency": "GBP",
        "slices": [{"segments": list(segments), "duration": "PT8H"}],
    }


NONSTOP = offer("off_2", "512.40", segment(LHR, JFK, "2026-05-12T11:20:00", "2026-05-12T14:05:00"))
VIA_DUBLIN = offer(
    "off_1",
    "388.10",
    segment(LHR, DUB, "2026-05-12T07:00:00", "2026-05-12T08:20:00", ("EI", "Aer Lingus"), "151"),
    segment(DUB, JFK, "2026-05-12T10:30:00", "2026-05-12T12:55:00", ("EI", "Aer Lingus"), "105"),
)


@pytest.fixture
def answers() -> list[httpx.Response]:
    """The responses to give, in order; the requests seen are kept in ``sent``."""
    return []


@pytest.fixture
def sent() -> list[httpx.Request]:
    return []


@pytest.fixture
def provider(
    index: AirportIndex,
    clock: FrozenClock,
    answers: list[httpx.Response],
    sent: list[httpx.Request],
) -> Iterator[DuffelProvider]:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0)

    client = httpx.Client(transport=httpx.MockTransport(answer))
    yield DuffelProvider(
        token=TOKEN, index=index, base_url="https://api.duffel.test/", clock=clock, client=client
    )
    client.close()


def reply(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body)


def test_offers_become_flights_in_each_airports_local_time(
    provider: DuffelProvider, answers: list[httpx.Response]
) -> None:
    """Local times without offset get the airport's zone; segments make stops; sorted."""
    answers.append(reply(201, offers_body(NONSTOP, VIA_DUBLIN)))
    flights = provider.search_one_way("LHR", "JFK", DAY, 1)
    assert [f.id for f in flights] == ["off_1", "off_2"], "sorted by departure"
    via, nonstop = flights
    assert via.departs_at.isoformat() == "2026-05-12T07:00:00+01:00"
    assert via.arrives_at.isoformat() == "2026-05-12T12:55:00-04:00"
    assert (via.stops, via.carrier, via.carrier_name, via.flight_number) == (
        1,
        "EI",
        "Aer Lingus",
        "EI151",
    )
    assert (via.origin, via.destination) == ("LHR", "JFK")
    assert via.duration_minutes == 10 * 60 + 55  # 06:00Z -> 16:55Z
    assert nonstop.price.to_json() == {"amount": "512.40", "currency": "GBP"}
    assert nonstop.price.amount == Decimal("512.40")
    assert nonstop.stops == 0


def test_the_request_is_duffels_offer_request(
    provider: DuffelProvider, answers: list[httpx.Response], sent: list[httpx.Request]
) -> None:
    """POST /air/offer_requests?return_offers=true, v2, bearer token, one slice, N adults."""
    answers.append(reply(201, offers_body(NONSTOP)))
    provider.search_one_way("LHR", "JFK", DAY, 3)
    (request,) = sent
    assert request.method == "POST"
    assert str(request.url) == "https://api.duffel.test/air/offer_requests?return_offers=true"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["duffel-version"] == "v2"
    assert request.headers["accept"] == "application/json"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("flight-app/")
    assert json.loads(request.content) == {
        "data": {
            "slices": [{"origin": "LHR", "destination": "JFK", "departure_date": "2026-05-12"}],
            "passengers": [{"type": "adult"}] * 3,
            "cabin_class": "economy",
        }
    }


def test_an_unreadable_offer_is_skipped(
    provider: DuffelProvider, answers: list[httpx.Response]
) -> None:
    """One broken offer costs that offer, not the search."""
    answers.append(reply(201, offers_body(NONSTOP, {"id": "off_broken", "slices": []})))
    assert [f.id for f in provider.search_one_way("LHR", "JFK", DAY, 1)] == ["off_2"]


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(201, content=b"<html>gateway</html>"),
        httpx.Response(201, json={"data": {}}),
        httpx.Response(201, json={"data": {"offers": "none"}}),
        httpx.Response(201, json={"data": {"offers": [{"id": "off_broken"}]}}),
    ],
    ids=["not-json", "no-offers", "offers-not-a-list", "no-offer-readable"],
)
def test_an_unusable_answer_is_a_bad_response(
    provider: DuffelProvider, answers: list[httpx.Response], answer: httpx.Response
) -> None:
    answers.append(answer)
    with pytest.raises(BadResponse):
        provider.search_one_way("LHR", "JFK", DAY, 1)


def test_no_offers_is_an_empty_list(
    provider: DuffelProvider, answers: list[httpx.Response]
) -> None:
    answers.append(reply(201, offers_body()))
    assert provider.search_one_way("LHR", "JFK", DAY, 1) == []


def test_an_airport_missing_from_the_index_uses_duffels_time_zone(
    provider: DuffelProvider, answers: list[httpx.Response]
) -> None:
    odd = offer(
        "off_x",
        "99.00",
        segment(("QQX", "Asia/Tokyo"), JFK, "2026-05-12T09:00:00", "2026-05-12T08:00:00"),
    )
    answers.append(reply(201, offers_body(odd)))
    (flight,) = provider.search_one_way("LHR", "JFK", DAY, 1)
    assert flight.departs_at.utcoffset() == timedelta(hours=9)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_permanent_and_name_duffels_code(
    provider: DuffelProvider, answers: list[httpx.Response], status: int
) -> None:
    """The message has the status and Duffel's code/title, never the token."""
    answers.append(reply(status, errors_body("invalid_authorization", "Bad token")))
    with pytest.raises(PermanentError) as refused:
        provider.search_one_way("LHR", "JFK", DAY, 1)
    assert str(status) in str(refused.value)
    assert "invalid_authorization: Bad token" in str(refused.value)
    assert TOKEN not in str(refused.value)
    assert TOKEN not in repr(provider)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [
        (429, {"Retry-After": "7"}, 7.0),
        (429, {"ratelimit-reset": "Sun, 01 Mar 2026 09:00:05 GMT"}, 5.0),
        (503, {"Retry-After": "2"}, 2.0),
        (500, {}, None),
        (502, {}, None),
    ],
)
def test_throttling_and_server_errors_are_transient_with_the_wait_asked(
    provider: DuffelProvider,
    answers: list[httpx.Response],
    status: int,
    headers: dict[str, str],
    retry_after: float | None,
) -> None:
    answers.append(httpx.Response(status, headers=headers, json=errors_body("x", "y")))
    with pytest.raises(TransientError) as failed:
        provider.search_one_way("LHR", "JFK", DAY, 1)
    assert failed.value.retry_after == retry_after


def test_a_408_is_a_timeout(provider: DuffelProvider, answers: list[httpx.Response]) -> None:
    answers.append(reply(408, errors_body("request_timeout", "Too slow")))
    with pytest.raises(UpstreamTimeout):
        provider.search_one_way("LHR", "JFK", DAY, 1)


def test_a_token_is_required(index: AirportIndex) -> None:
    with pytest.raises(ValueError, match="token"):
        DuffelProvider(token="", index=index)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5", 5.0),
        ("1.5", 1.5),
        ("Sun, 01 Mar 2026 09:00:07 GMT", 7.0),
        (str(int(datetime(2026, 3, 1, 9, 0, 9, tzinfo=UTC).timestamp())), 9.0),
        ("Sun, 01 Mar 2026 08:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_values_are_read_in_every_form(
    value: str | None, seconds: float | None
) -> None:
    """Delay-seconds, an HTTP-date (RFC 9110) or epoch seconds; the past is now; junk is None."""
    now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == seconds
