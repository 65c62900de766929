"""The Duffel flights API as a :class:`FlightProvider`.

One ``POST /air/offer_requests?return_offers=true`` per direction (one slice),
offers mapped to flights. Duffel gives segment times as local wall-clock times
without offset; the airport's IANA zone from the :class:`AirportIndex` (or the
zone Duffel names, for an airport the index lacks) makes them aware.

One ``httpx.Client`` per provider: a pooled, keep-alive connection saves the TLS
handshake on every search. Its timeout is the resilience policy's. Build the
provider in each worker (after gunicorn forks), not before: a pool must not be
shared across processes.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from importlib import metadata
from typing import Any

import httpx

from authkit.clock import Clock, SystemClock
from flight_app.flights.airports import AirportIndex
from flight_app.flights.duffel_errors import error_for_status, error_for_transport
from flight_app.flights.models import Flight, Price
from flight_app.flights.timezones import attach_zone, zone
from flight_app.resilience import BadResponse

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.duffel.com"
DUFFEL_VERSION = "v2"


def _user_agent() -> str:
    try:
        version = metadata.version("flight-app")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"flight-app/{version}"


class DuffelProvider:
    """Flights from Duffel. ``token`` is a secret: it appears in no message or repr."""

    name = "duffel"

    def __init__(
        self,
        *,
        token: str,
        index: AirportIndex,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        clock: Clock | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Duffel access token is required")
        self._index = index
        self._clock = clock or SystemClock()
        self._base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
        )
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Duffel-Version": DUFFEL_VERSION,
            "Accept": "application/json",
            "User-Agent": _user_agent(),
        }

    def __repr__(self) -> str:
        return f"DuffelProvider(base_url={self._base_url!r})"

    def close(self) -> None:
        """Close the connection pool (only if this provider created it)."""
        if self._owns_client:
            self._client.close()

    def search_one_way(
        self, origin: str, destination: str, date: date, adults: int
    ) -> list[Flight]:
        """One Duffel offer request for one direction, its offers mapped to flights."""
        body = {
            "data": {
                "slices": [
                    {
                        "origin": origin,
                        "destination": destination,
                        "departure_date": date.isoformat(),
                    }
                ],
                "passengers": [{"type": "adult"} for _ in range(adults)],
                "cabin_class": "economy",
            }
        }
        try:
            response = self._client.post(
                f"{self._base_url}/air/offer_requests",
                params={"return_offers": "true"},
                json=body,
                headers=self._headers,
            )
        except httpx.TransportError as exc:
            raise error_for_transport(exc) from exc
        except httpx.DecodingError as exc:  # a Content-Encoding the body does not match
            raise BadResponse(f"Duffel's answer could not be decoded ({exc})") from exc
        if not response.is_success:
            raise error_for_status(response, now=self._clock.now())
        try:
            payload: Any = response.json()
            offers = payload["data"]["offers"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BadResponse("Duffel answered without data.offers") from exc
        if not isinstance(offers, list):
            raise BadResponse("Duffel's data.offers is not a list")
        return self._flights(offers)

    def _flights(self, offers: list[Any]) -> list[Flight]:
        flights: list[Flight] = []
        for offer in offers:
            try:
                flights.append(self._flight(offer))
            except (KeyError, IndexError, TypeError, ValueError, InvalidOperation) as exc:
                logger.warning("duffel: offer skipped (%s: %s)", type(exc).__name__, exc)
        if offers and not flights:
            raise BadResponse("no Duffel offer could be read")
        return sorted(flights, key=lambda f: (f.departs_at, f.price.amount, f.id))

    def _flight(self, offer: dict[str, Any]) -> Flight:
        segments: list[dict[str, Any]] = offer["slices"][0]["segments"]
        first, last = segments[0], segments[-1]
        departs = self._local(first["departing_at"], first["origin"])
        arrives = self._local(last["arriving_at"], last["destination"])
        carrier = first["marketing_carrier"]
        stops = len(segments) - 1 + sum(len(s.get("stops") or []) for s in segments)
        return Flight(
            id=str(offer["id"]),
            carrier=carrier["iata_code"],
            carrier_name=carrier["name"],
            flight_number=f"{carrier['iata_code']}{first['marketing_carrier_flight_number']}",
            origin=first["origin"]["iata_code"],
            destination=last["destination"]["iata_code"],
            departs_at=departs,
            arrives_at=arrives,
            duration_minutes=round((arrives - departs).total_seconds() / 60),
            stops=stops,
            price=Price(
                amount=Decimal(str(offer["total_amount"])), currency=offer["total_currency"]
            ),
        )

    def _local(self, value: str, place: dict[str, Any]) -> datetime:
        airport = self._index.get(place["iata_code"])
        tz_name = airport.tz if airport is not None else place["time_zone"]
        return attach_zone(datetime.fromisoformat(value), zone(tz_name))
