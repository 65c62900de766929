"""An offline, deterministic flight schedule for any pair of airports and any day.

The embedded default provider, so the app works without network or account. The
same query always gives the same answer: each day's schedule is drawn from a
generator seeded with SHA-256 of (origin, destination, date), never ``hash()``,
which is salted per process and would differ between gunicorn workers.

It looks plausible rather than real:

- block times from the great-circle distance at a cruise speed that grows with
  stage length (climb and descent dominate short hops), 30 min taxi/climb
  overhead, a 3 % routing detour and a little jet-stream help eastbound;
- routes over 7000 km make one stop: 10 % longer routing, a second overhead and a
  60-180 min layover;
- departures between 06:00 and 22:30 local time at the origin (its IANA zone from
  ``airportsdata``), arrivals computed as instants and shown in the destination's
  zone, so date-line crossings never give negative durations;
- fares grow with distance (less per km on long haul), drop for a stop, rise at
  business peaks and on Fridays and Sundays, vary by carrier; totals for all adults.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flight_app.flights.airports import Airport, AirportIndex
from flight_app.flights.geo import haversine_km, initial_bearing
from flight_app.flights.models import Flight, Price
from flight_app.flights.timezones import local_datetime, zone
from flight_app.resilience import PermanentError

FIRST_DEPARTURE = 6 * 60  # 06:00 local
LAST_DEPARTURE = 22 * 60 + 30  # 22:30 local
SLOT_MINUTES = 5
ONE_STOP_OVER_KM = 7000.0
OVERHEAD_MINUTES = 30
CURRENCY = "EUR"


@dataclass(frozen=True, kw_only=True, slots=True)
class Carrier:
    """A made-up airline of the built-in schedule; ``fare_factor`` scales its prices."""

    code: str
    name: str
    fare_factor: float


CARRIERS = (
    Carrier(code="A7", name="Aurora Air", fare_factor=1.12),
    Carrier(code="M3", name="Meridian Airways", fare_factor=1.0),
    Carrier(code="C9", name="Cirrus Connect", fare_factor=0.88),
    Carrier(code="P5", name="Polaris Airlines", fare_factor=1.05),
    Carrier(code="S2", name="Sirocco Jet", fare_factor=0.93),
)


def cruise_speed_kmh(km: float) -> float:
    """Average airborne speed: ~550 km/h on a short hop up to ~850 km/h on long haul."""
    return 550.0 + 300.0 * min(1.0, km / 3000.0)


def block_minutes(km: float, bearing: float, *, stops: int, layover: int) -> int:
    """Gate-to-gate minutes of a route of ``km`` flown on initial course ``bearing``."""
    routed = km * (1.10 if stops else 1.03)
    tailwind = 1.0 - 0.05 * math.sin(math.radians(bearing))  # eastbound up to 5 % faster
    airborne = routed / cruise_speed_kmh(km) * 60.0 * tailwind
    return round(airborne + OVERHEAD_MINUTES * (1 + stops) + layover)


def base_fare(km: float) -> float:
    """Euros per adult before demand factors: cheaper per kilometre beyond 3000 km."""
    if km <= 3000:
        return 35.0 + 0.10 * km
    return 335.0 + 0.06 * (km - 3000)


def demand_factor(departs: datetime) -> float:
    """Business peaks and weekend days cost more; late and early departures less."""
    factor = 1.0
    if departs.hour in (7, 8, 17, 18):
        factor *= 1.15
    elif departs.hour >= 21 or departs.hour < 7:
        factor *= 0.9
    if departs.weekday() in (4, 6):  # Friday, Sunday
        factor *= 1.1
    elif departs.weekday() in (1, 2):  # Tuesday, Wednesday
        factor *= 0.95
    return factor


def _seed(*parts: str) -> int:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


class BuiltinProvider:
    """The deterministic schedule over an :class:`AirportIndex`."""

    name = "builtin"

    def __init__(self, index: AirportIndex) -> None:
        self._index = index

    def search_one_way(
        self, origin: str, destination: str, date: date, adults: int
    ) -> list[Flight]:
        """The day's flights from ``origin`` to ``destination``: the same query, the same answer."""
        source, target = self._index.get(origin), self._index.get(destination)
        if source is None or target is None or source == target:
            raise PermanentError("unknown or identical airports")
        if not 1 <= adults <= 9:
            raise PermanentError("adults must be 1 to 9")
        rng = random.Random(_seed(source.iata, target.iata, date.isoformat()))  # noqa: S311
        km = haversine_km(source.lat, source.lon, target.lat, target.lon)
        bearing = initial_bearing(source.lat, source.lon, target.lat, target.lon)
        stops = 1 if km > ONE_STOP_OVER_KM else 0
        count = (
            rng.randint(4, 8)
            if km < 1500
            else rng.randint(3, 6)
            if km < 4000
            else rng.randint(2, 4)
        )
        slots = sorted(rng.sample(range(FIRST_DEPARTURE, LAST_DEPARTURE + 1, SLOT_MINUTES), count))
        flights = [
            self._flight(source, target, date, slot, km, bearing, stops, adults, rng)
            for slot in slots
        ]
        return sorted(flights, key=lambda f: (f.departs_at, f.id))

    def _flight(
        self,
        source: Airport,
        target: Airport,
        day: date,
        slot: int,
        km: float,
        bearing: float,
        stops: int,
        adults: int,
        rng: random.Random,
    ) -> Flight:
        carrier = rng.choice(CARRIERS)
        number = rng.randint(100, 9899)
        layover = rng.randrange(60, 181, 5) if stops else 0
        noise = rng.uniform(0.92, 1.08)
        minutes = block_minutes(km, bearing, stops=stops, layover=layover)
        departs = local_datetime(day, slot, zone(source.tz))
        arrives = (departs.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(zone(target.tz))
        fare = base_fare(km) * (0.82 if stops else 1.0) * demand_factor(departs)
        per_adult = Decimal(f"{fare * carrier.fare_factor * noise:.2f}")
        designator = f"{carrier.code}{number}"
        flight_id = hashlib.sha256(
            f"{source.iata}|{target.iata}|{day.isoformat()}|{slot}|{designator}".encode()
        ).hexdigest()[:20]
        return Flight(
            id=f"bi_{flight_id}",
            carrier=carrier.code,
            carrier_name=carrier.name,
            flight_number=designator,
            origin=source.iata,
            destination=target.iata,
            departs_at=departs,
            arrives_at=arrives,
            duration_minutes=minutes,
            stops=stops,
            price=Price(amount=per_adult * adults, currency=CURRENCY),
        )
