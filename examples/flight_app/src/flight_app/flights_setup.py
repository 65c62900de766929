"""The flight search, built from the settings and installed on the app.

Like :mod:`flight_app.live_setup`: ``create_app`` runs in each gunicorn worker
(no ``preload_app``), after the fork, so each worker builds its own
:class:`FlightSearch` — its own HTTP connection pool to the provider and, with
``redis_url``, its own Redis pool onto the circuit and cache every worker shares.
``shutdown_flights`` releases them when the worker stops.
"""

from __future__ import annotations

from flight_app.flights import FlightSearch, create_flight_search
from flight_app.flights.factory import REDIS_NAMESPACE
from flight_app.flights.http import EXTENSION_KEY, install_flights
from flight_app.settings import Settings, resilience_policy


def build_flight_search(settings: Settings) -> FlightSearch:
    """The flight search of ``FLIGHT_APP_FLIGHT_PROVIDER``, behind the resilience policy.

    The policy comes from the ``FLIGHT_APP_PROVIDER_*``, ``BREAKER_*`` and
    ``FLIGHT_CACHE_TTL`` settings; it is shared through ``redis_url`` if set.
    """
    token = settings.duffel_token.get_secret_value() if settings.duffel_token else None
    return create_flight_search(
        provider=settings.flight_provider,
        policy=resilience_policy(settings),
        redis=settings.redis_url,
        namespace=settings.flight_redis_namespace or REDIS_NAMESPACE,
        duffel_url=settings.duffel_url,
        duffel_token=token,
    )


def shutdown_flights(app: object) -> None:
    """Close the flight search of ``app`` (if it has one); for shutdown hooks. Idempotent."""
    extensions = getattr(app, "extensions", None)
    search = extensions.get(EXTENSION_KEY) if isinstance(extensions, dict) else None
    if isinstance(search, FlightSearch):
        search.close()


__all__ = ["build_flight_search", "install_flights", "shutdown_flights"]
