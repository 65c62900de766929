"""The one call that wires a flight search from settings values."""

from __future__ import annotations

from typing import Literal

from redis import Redis

from authkit.clock import Clock
from flight_app.flights.airports import AirportIndex, default_index
from flight_app.flights.builtin import BuiltinProvider
from flight_app.flights.duffel import DEFAULT_BASE_URL, DuffelProvider
from flight_app.flights.provider import FlightProvider
from flight_app.flights.service import FlightSearch
from flight_app.resilience import ResiliencePolicy, create_guard, policy_metrics

GUARD_NAME = "flight_provider"
"""Names the metrics (``flight_provider_requests_total``...) of the HTTP contract."""

REDIS_NAMESPACE = "flight_app:flight_provider"

METRICS = policy_metrics(GUARD_NAME)
"""Made at import, so ``/metrics`` lists the provider's series (at 0) from the start."""


def create_flight_search(
    *,
    provider: Literal["builtin", "duffel"] = "builtin",
    policy: ResiliencePolicy | None = None,
    redis: Redis | str | None = None,
    namespace: str = REDIS_NAMESPACE,
    duffel_url: str = DEFAULT_BASE_URL,
    duffel_token: str | None = None,
    index: AirportIndex | None = None,
    clock: Clock | None = None,
) -> FlightSearch:
    """A :class:`FlightSearch` for ``FLIGHT_APP_FLIGHT_PROVIDER`` and friends.

    ``redis`` (``FLIGHT_APP_REDIS_URL``) shares the circuit and the cache across
    workers, under the key prefix ``namespace`` (deployments or test runs sharing
    one Redis each need their own); ``duffel_token`` is required for ``duffel``.
    Call it in each worker (it may open a connection pool); ``FlightSearch.close()``
    releases it.
    """
    policy = policy or ResiliencePolicy()
    index = index or default_index()
    chosen: FlightProvider
    if provider == "builtin":
        chosen = BuiltinProvider(index)
    elif provider == "duffel":
        if not duffel_token:
            raise ValueError("the duffel provider needs FLIGHT_APP_DUFFEL_TOKEN")
        chosen = DuffelProvider(
            token=duffel_token,
            index=index,
            base_url=duffel_url,
            timeout=policy.timeout,
            clock=clock,
        )
    else:
        raise ValueError(f"unknown flight provider {provider!r}")
    guard = create_guard(
        name=GUARD_NAME,
        policy=policy,
        metrics=METRICS,
        redis=redis,
        namespace=namespace,
        clock=clock,
    )
    return FlightSearch(index=index, provider=chosen, guard=guard, clock=clock)
