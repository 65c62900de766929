"""What a flight provider is: one direction on one day, as a list of flights.

Providers know their upstream; the resilience policy and the round trip (two
calls, concurrently) belong to ``FlightSearch``, so every provider gets the same
timeouts, retries, circuit and fallback. A provider reports failures with the
``flight_app.resilience`` errors (``TransientError``, ``PermanentError``...).
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from flight_app.flights.models import Flight


class FlightProvider(Protocol):
    """A source of flights; the resilience policy around it is the same for every provider.

    Implementations raise ``flight_app.resilience`` errors (``TransientError``, ``UpstreamTimeout``,
    ``PermanentError``) so the policy knows what to retry.
    """

    @property
    def name(self) -> str:
        """Short, stable name (``builtin``, ``duffel``): shown in meta, part of cache keys."""
        ...

    def search_one_way(
        self, origin: str, destination: str, date: date, adults: int
    ) -> list[Flight]:
        """Flights from ``origin`` to ``destination`` departing on local ``date``.

        Sorted by ``departs_at``; prices are totals for ``adults`` travellers.
        """
        ...
