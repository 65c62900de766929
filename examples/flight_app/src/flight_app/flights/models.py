"""Flights, queries and results, with the exact JSON of the HTTP contract.

Times are aware datetimes in each airport's own UTC offset (the traveller reads
local times), so ``to_json`` writes them as RFC 3339 with that offset; prices are
``Decimal`` and written as decimal strings, never floats (money does not round).
``from_json`` reads back what ``to_json`` wrote: the fallback cache stores that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flight_app.resilience import Source

_IATA = re.compile(r"[A-Z]{3}")
_CURRENCY = re.compile(r"[A-Z]{3}")  # ISO 4217


def rfc3339(value: datetime) -> str:
    """RFC 3339 with the value's own offset, whole seconds (``2026-05-01T08:05:00+02:00``)."""
    return value.isoformat(timespec="seconds")


def rfc3339_utc(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``, as the contract writes server timestamps."""
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True, slots=True)
class Price:
    """A total price for all travellers of the query, in an ISO 4217 currency."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not (self.amount.is_finite() and self.amount >= 0):
            raise ValueError("a price is a finite, non-negative amount")
        if not _CURRENCY.fullmatch(self.currency):
            raise ValueError("a currency is a three-letter ISO 4217 code")

    def to_json(self) -> dict[str, Any]:
        """The price as the HTTP API shows it: the amount as a decimal string."""
        return {"amount": format(self.amount, "f"), "currency": self.currency}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Price:
        """A price from its JSON form (``ValueError`` for an amount that is not a decimal)."""
        try:
            amount = Decimal(data["amount"])
        except InvalidOperation as exc:
            raise ValueError("amount is not a decimal") from exc
        return cls(amount=amount, currency=data["currency"])


@dataclass(frozen=True, kw_only=True, slots=True)
class Flight:
    """One bookable journey in one direction (``stops`` intermediate landings).

    ``carrier`` is the marketing carrier's IATA code, ``flight_number`` the full
    designator (``LX318``) of the first leg; ``duration_minutes`` is the elapsed
    time between the two instants, whatever the time zones.
    """

    id: str
    carrier: str
    carrier_name: str
    flight_number: str
    origin: str
    destination: str
    departs_at: datetime
    arrives_at: datetime
    duration_minutes: int
    stops: int
    price: Price

    def __post_init__(self) -> None:
        if self.departs_at.utcoffset() is None or self.arrives_at.utcoffset() is None:
            raise ValueError("flight times must be timezone-aware")
        if self.arrives_at <= self.departs_at:
            raise ValueError("a flight arrives after it departs")
        elapsed = round((self.arrives_at - self.departs_at).total_seconds() / 60)
        if self.duration_minutes != elapsed:
            raise ValueError("duration_minutes must match the departure and arrival instants")
        if not (_IATA.fullmatch(self.origin) and _IATA.fullmatch(self.destination)):
            raise ValueError("origin and destination are IATA airport codes")
        if self.stops < 0:
            raise ValueError("stops cannot be negative")

    def to_json(self) -> dict[str, Any]:
        """The flight as the HTTP API shows it, times in RFC 3339 with the local offset."""
        return {
            "id": self.id,
            "carrier": self.carrier,
            "carrier_name": self.carrier_name,
            "flight_number": self.flight_number,
            "origin": self.origin,
            "destination": self.destination,
            "departs_at": rfc3339(self.departs_at),
            "arrives_at": rfc3339(self.arrives_at),
            "duration_minutes": self.duration_minutes,
            "stops": self.stops,
            "price": self.price.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Flight:
        """A flight from its JSON form, as stored in the result cache."""
        return cls(
            id=data["id"],
            carrier=data["carrier"],
            carrier_name=data["carrier_name"],
            flight_number=data["flight_number"],
            origin=data["origin"],
            destination=data["destination"],
            departs_at=datetime.fromisoformat(data["departs_at"]),
            arrives_at=datetime.fromisoformat(data["arrives_at"]),
            duration_minutes=int(data["duration_minutes"]),
            stops=int(data["stops"]),
            price=Price.from_json(data["price"]),
        )


def flights_to_json(flights: list[Flight]) -> list[dict[str, Any]]:
    """Flights in their JSON form, for the result cache."""
    return [flight.to_json() for flight in flights]


def flights_from_json(data: Any) -> list[Flight]:
    """Flights back from the result cache (``TypeError`` for anything but a list)."""
    if not isinstance(data, list):
        raise TypeError("a stored flight list is a JSON array")
    return [Flight.from_json(item) for item in data]


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchQuery:
    """A validated search (see ``FlightSearch.validate``): codes known, dates in range."""

    origin: str
    destination: str
    depart: date
    return_date: date | None = None
    adults: int = 1

    def __post_init__(self) -> None:
        if self.origin == self.destination:
            raise ValueError("origin and destination differ")
        if self.return_date is not None and self.return_date < self.depart:
            raise ValueError("the return is not before the departure")
        if not 1 <= self.adults <= 9:
            raise ValueError("adults is 1 to 9")


@dataclass(frozen=True, kw_only=True, slots=True)
class SearchResult:
    """Both directions and where they came from.

    ``source`` is ``cache`` when either direction is a stored result, ``stale`` when
    either stood in for a failed provider; ``fetched_at`` is the older direction's.
    """

    query: SearchQuery
    outbound: tuple[Flight, ...]
    inbound: tuple[Flight, ...]
    provider: str
    source: Source
    stale: bool
    fetched_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The body of ``GET /api/flights/search``: both lists and their ``meta``."""
        q = self.query
        return {
            "outbound": [flight.to_json() for flight in self.outbound],
            "inbound": [flight.to_json() for flight in self.inbound],
            "meta": {
                "origin": q.origin,
                "destination": q.destination,
                "depart": q.depart.isoformat(),
                "return": q.return_date.isoformat() if q.return_date else None,
                "adults": q.adults,
                "provider": self.provider,
                "source": self.source,
                "stale": self.stale,
                "fetched_at": rfc3339_utc(self.fetched_at),
            },
        }
