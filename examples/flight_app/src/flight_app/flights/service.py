"""Flight search: validate, ask the provider through the resilience guard, combine.

A round trip is two one-way calls, made concurrently (the inbound in a helper
thread) so a search costs one provider round trip, not two. Each direction has its
own cache entry (``flights:v1:<provider>:<from>:<to>:<date>:<adults>``), so a
one-way search and a round trip share results. The helper thread is made per
search: nothing to shut down, and safe across gunicorn's fork.
"""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from authkit.clock import Clock, SystemClock
from flight_app.flights.airports import AirportIndex
from flight_app.flights.errors import ProviderUnavailable
from flight_app.flights.models import (
    Flight,
    SearchQuery,
    SearchResult,
    flights_from_json,
    flights_to_json,
)
from flight_app.flights.provider import FlightProvider
from flight_app.flights.validation import MAX_DAYS_AHEAD, validate_query
from flight_app.resilience import Outcome, ResilienceGuard, Unavailable

CACHE_KEY_VERSION = "v1"  # bump when the stored flight JSON changes shape


class FlightSearch:
    """The flight search of the app, free of any web framework."""

    def __init__(
        self,
        *,
        index: AirportIndex,
        provider: FlightProvider,
        guard: ResilienceGuard,
        clock: Clock | None = None,
        max_days_ahead: int = MAX_DAYS_AHEAD,
    ) -> None:
        self.index = index
        self.provider = provider
        self.guard = guard
        self._clock = clock or SystemClock()
        self._max_days_ahead = max_days_ahead

    def validate(
        self,
        *,
        origin: str | None,
        destination: str | None,
        depart: str | date | None,
        return_date: str | date | None = None,
        adults: int | str | None = 1,
    ) -> SearchQuery:
        """The query, or ``authkit.ValidationFailed`` naming each bad field (422)."""
        return validate_query(
            self.index,
            self._clock.now(),
            origin=origin,
            destination=destination,
            depart=depart,
            return_date=return_date,
            adults=adults,
            max_days_ahead=self._max_days_ahead,
        )

    def search(self, query: SearchQuery) -> SearchResult:
        """Both directions, live or from the cache; ``ProviderUnavailable`` (503) if neither."""
        try:
            if query.return_date is None:
                outbound = self._one_way(
                    query.origin, query.destination, query.depart, query.adults
                )
                outcomes = [outbound]
                inbound_flights: list[Flight] = []
            else:
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="flight-search") as pool:
                    context = contextvars.copy_context()  # keeps the request's trace id in logs
                    pending = pool.submit(
                        context.run,
                        self._one_way,
                        query.destination,
                        query.origin,
                        query.return_date,
                        query.adults,
                    )
                    outbound = self._one_way(
                        query.origin, query.destination, query.depart, query.adults
                    )
                    inbound = pending.result()
                outcomes = [outbound, inbound]
                inbound_flights = inbound.value
        except Unavailable as exc:
            raise ProviderUnavailable(exc.retry_after) from None
        return SearchResult(
            query=query,
            outbound=_sorted(outbound.value),
            inbound=_sorted(inbound_flights),
            provider=self.provider.name,
            source="cache" if any(o.source == "cache" for o in outcomes) else "live",
            stale=any(o.stale for o in outcomes),
            fetched_at=min(o.fetched_at for o in outcomes),
        )

    def close(self) -> None:
        """Release the provider's connections, if it holds any."""
        close = getattr(self.provider, "close", None)
        if callable(close):
            close()

    def cache_key(self, origin: str, destination: str, day: date, adults: int) -> str:
        """The cache key of one direction; includes the provider, whose answers differ."""
        return ":".join(
            (
                "flights",
                CACHE_KEY_VERSION,
                self.provider.name,
                origin,
                destination,
                day.isoformat(),
                str(adults),
            )
        )

    def _one_way(
        self, origin: str, destination: str, day: date, adults: int
    ) -> Outcome[list[Flight]]:
        return self.guard.call(
            self.cache_key(origin, destination, day, adults),
            lambda: self.provider.search_one_way(origin, destination, day, adults),
            encode=flights_to_json,
            decode=flights_from_json,
        )


def _sorted(flights: list[Flight]) -> tuple[Flight, ...]:
    return tuple(sorted(flights, key=lambda f: f.departs_at))
