"""The flight endpoints over HTTP: ``GET /api/airports`` and ``GET /api/flights/search``.

The Flask edge of :mod:`flight_app.flights`, which stays framework-free: query
strings are parsed here with pydantic, every rule of a search is checked by
``FlightSearch.validate`` (one 422 listing every bad field, ``loc`` naming the
parameter), and :class:`ProviderUnavailable` becomes 503 ``provider_unavailable``
with ``Retry-After``. A provider failure never reaches the adapter's catch-all: the
resilience guard turns each into a stored result or ``ProviderUnavailable``.

Query parameters, as the adapter's other endpoints read them: an empty value
(``?return=``, as an HTML form sends) counts as absent, and an unknown parameter
is ignored, so clients may add cache-busters or tracking tags. Unlike there, a
parameter given twice is a 422 naming it: ``?origin=ZRH&origin=GVA`` has no
answer that could be right, and picking one would silently search something else.

Caching (RFC 9111): airport data is the same for everyone and changes only with a
release, so ``/api/airports`` is ``public`` for an hour. Search results are
``no-store``: they are asked for with a bearer token, prices move, and ``meta``
says whether they are ``live`` — a copy replayed from a browser cache would
claim a freshness it no longer has. Problems carry ``no-store`` too.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from authkit.errors import ValidationFailed
from authkit_flask import api_operation, login_required, problem
from flight_app.flights.errors import ProviderUnavailable
from flight_app.flights.service import FlightSearch

EXTENSION_KEY = "flight_app.flights"

MAX_QUERY_CHARS = 64
MAX_AIRPORTS = 50
DEFAULT_AIRPORTS = 20
MAX_PARAM_CHARS = 64
"""Bounds every search parameter before the search's own rules read it."""

AIRPORTS_CACHE_CONTROL = "public, max-age=3600"
NO_STORE = "no-store"

Params = TypeVar("Params", bound=BaseModel)

flights_blueprint = Blueprint("flight_app_flights", __name__, url_prefix="/api")


class AirportParams(BaseModel):
    """The query of ``GET /api/airports``, validated at the edge."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    q: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    limit: int = Field(default=DEFAULT_AIRPORTS, ge=1, le=MAX_AIRPORTS)


class SearchParams(BaseModel):
    """The search's raw parameters; ``FlightSearch.validate`` applies the contract's rules."""

    model_config = ConfigDict(extra="ignore", frozen=True, validate_by_name=True)

    origin: str | None = Field(default=None, max_length=MAX_PARAM_CHARS)
    destination: str | None = Field(default=None, max_length=MAX_PARAM_CHARS)
    depart: str | None = Field(default=None, max_length=MAX_PARAM_CHARS)
    return_date: str | None = Field(default=None, alias="return", max_length=MAX_PARAM_CHARS)
    # Read as text so ``validate`` can name it among the other bad fields; the
    # document states the rule it applies (a whole number from 1 to 9).
    adults: str | None = Field(
        default=None, max_length=MAX_PARAM_CHARS, json_schema_extra={"pattern": "^[1-9]$"}
    )


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AirportOut(_Closed):
    """An airport: IATA and ICAO codes, names, IANA time zone and position."""

    iata: str = Field(pattern=r"^[A-Z0-9]{3}$")
    icao: str
    name: str
    city: str
    country: str
    tz: str
    lat: float
    lon: float


class AirportMeta(_Closed):
    """The query as read and how many airports came back."""

    q: str
    returned: int = Field(ge=0)


class AirportsOut(_Closed):
    """Airports matching the query, best first."""

    items: list[AirportOut]
    meta: AirportMeta


class PriceOut(_Closed):
    """The total for all travellers: a decimal string and an ISO 4217 currency."""

    amount: str = Field(pattern=r"^[0-9]+(\.[0-9]+)?$", description="A decimal string.")
    currency: str = Field(pattern=r"^[A-Z]{3}$")


class FlightOut(_Closed):
    """A journey in one direction; times in each airport's local UTC offset."""

    id: str
    carrier: str
    carrier_name: str
    flight_number: str
    origin: str
    destination: str
    departs_at: AwareDatetime
    arrives_at: AwareDatetime
    duration_minutes: int = Field(ge=1)
    stops: int = Field(ge=0)
    price: PriceOut


class SearchMeta(_Closed):
    """The query as understood, the provider, and where the answer came from.

    `source` is `live`, or `cache` for a stored answer, `stale` when it stood in
    for a failed provider.
    """

    origin: str
    destination: str
    depart: str = Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    return_: str | None = Field(alias="return", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    adults: int = Field(ge=1, le=9)
    provider: str
    source: Literal["live", "cache"]
    stale: bool
    fetched_at: AwareDatetime


class SearchOut(_Closed):
    """Flights each way, sorted by departure; `inbound` is empty for a one-way trip."""

    outbound: list[FlightOut]
    inbound: list[FlightOut]
    meta: SearchMeta


def _parse(model: type[Params], names: tuple[str, ...]) -> Params:
    """The parameters ``names`` as ``model``, or one 422 naming every bad or repeated one."""
    values: dict[str, str] = {}
    errors: list[dict[str, Any]] = []
    for name in names:
        given = [value for value in request.args.getlist(name) if value != ""]
        if len(given) > 1:
            errors.append({"loc": ["query", name], "msg": "Give this parameter once."})
        elif given:
            values[name] = given[0]
    repeated = {error["loc"][-1] for error in errors}
    try:
        parsed = model.model_validate(values)
    except ValidationError as exc:
        errors += [
            {"loc": ["query", *map(str, e["loc"])], "msg": e["msg"]}
            for e in exc.errors()
            if not e["loc"] or str(e["loc"][0]) not in repeated
        ]
    else:
        if not errors:
            return parsed
    raise ValidationFailed(errors)


def get_flight_search(app: Flask | None = None) -> FlightSearch:
    """The app's :class:`FlightSearch` (``install_flights`` put it there)."""
    search = (app or current_app).extensions[EXTENSION_KEY]
    assert isinstance(search, FlightSearch)
    return search


@flights_blueprint.get("/airports")
@api_operation(
    "GET",
    summary="Airports matching a code, city or name, best first",
    tags=("flights",),
    query=AirportParams,
    responses={200: AirportsOut},
    operation_id="airports",
)
def airports() -> Response:
    """Airports matching ``q`` (code, city or name), best first; public."""
    params = _parse(AirportParams, ("q", "limit"))
    items = get_flight_search().index.search(params.q, limit=params.limit)
    response = jsonify(
        {
            "items": [airport.to_json() for airport in items],
            "meta": {"q": params.q, "returned": len(items)},
        }
    )
    response.headers["Cache-Control"] = AIRPORTS_CACHE_CONTROL
    return response


@flights_blueprint.get("/flights/search")
@api_operation(
    "GET",
    summary="Flights for a one-way or round trip",
    description=(
        "422 `validation_error` names each bad parameter (unknown airport, same "
        "origin and destination, a date in the past at the origin or over 365 days "
        "ahead, a return before the departure, a malformed date). 503 "
        "`provider_unavailable` with `Retry-After` when the provider failed and no "
        "stored result exists."
    ),
    tags=("flights",),
    auth="bearer",
    query=SearchParams,
    responses={200: SearchOut},
    errors=(503,),
    operation_id="search_flights",
)
@login_required
def search_flights() -> Response:
    """Flights for a one-way or round trip; needs a bearer token."""
    params = _parse(SearchParams, ("origin", "destination", "depart", "return", "adults"))
    search = get_flight_search()
    query = search.validate(
        origin=params.origin,
        destination=params.destination,
        depart=params.depart,
        return_date=params.return_date,
        adults=params.adults,
    )
    return jsonify(search.search(query).to_json())


@flights_blueprint.errorhandler(ProviderUnavailable)
def provider_unavailable(error: ProviderUnavailable) -> Response:
    """503 with ``Retry-After``; registered here, so it wins over the adapter's handler."""
    seconds = str(error.retry_after)
    return problem(
        error.code,
        error.message,
        status=503,
        extra={"retry_after": error.retry_after},
        headers={"Retry-After": seconds},
    )


@flights_blueprint.after_request
def no_store_by_default(response: Response) -> Response:
    """Send ``no-store`` on every answer of these endpoints that did not choose otherwise.

    Search results and every problem, the adapter's 401 and 422 included.
    """
    response.headers.setdefault("Cache-Control", NO_STORE)
    return response


def install_flights(app: Flask, search: FlightSearch) -> None:
    """Register the endpoints and keep ``search`` in ``app.extensions`` (once per app)."""
    if EXTENSION_KEY in app.extensions:
        raise RuntimeError("the flight endpoints are already installed on this app")
    app.extensions[EXTENSION_KEY] = search
    app.register_blueprint(flights_blueprint)


__all__ = [
    "EXTENSION_KEY",
    "AirportParams",
    "SearchParams",
    "flights_blueprint",
    "get_flight_search",
    "install_flights",
]
