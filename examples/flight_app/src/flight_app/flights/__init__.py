"""Flight search without a web framework: airports, providers, resilience, validation.

Wire it with :func:`create_flight_search`; the web layer calls
``search.index.search(q, limit=...)`` for airports and
``search.search(search.validate(...))`` for flights, and maps
``authkit.errors.ValidationFailed`` to 422 and :class:`ProviderUnavailable` to 503.
"""

from flight_app.flights.airports import Airport, AirportIndex, default_index
from flight_app.flights.builtin import BuiltinProvider
from flight_app.flights.duffel import DuffelProvider
from flight_app.flights.errors import ProviderUnavailable
from flight_app.flights.factory import GUARD_NAME, create_flight_search
from flight_app.flights.models import Flight, Price, SearchQuery, SearchResult
from flight_app.flights.provider import FlightProvider
from flight_app.flights.service import FlightSearch

__all__ = [
    "GUARD_NAME",
    "Airport",
    "AirportIndex",
    "BuiltinProvider",
    "DuffelProvider",
    "Flight",
    "FlightProvider",
    "FlightSearch",
    "Price",
    "ProviderUnavailable",
    "SearchQuery",
    "SearchResult",
    "create_flight_search",
    "default_index",
]
