"""Checking a search request field by field, the way the HTTP contract words it.

All problems are collected and raised together as ``ValidationFailed`` (422
``validation_error``), each naming its query parameter in ``loc``, so a form can
mark every bad field at once. "Today" is the date at the origin airport: a
traveller in Auckland may book today's flight while it is still yesterday in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from authkit.errors import ValidationFailed
from flight_app.flights.airports import Airport, AirportIndex
from flight_app.flights.models import SearchQuery
from flight_app.flights.timezones import zone

MAX_DAYS_AHEAD = 365
ANYWHERE_ON_EARTH = "Etc/GMT+12"  # UTC-12: "today" when the origin is unknown
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ADULTS = re.compile(r"\d{1,2}")


@dataclass
class _Errors:
    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, msg: str) -> None:
        self.items.append({"loc": ["query", name], "msg": msg})

    def has(self, name: str) -> bool:
        return any(item["loc"][-1] == name for item in self.items)


def _airport(index: AirportIndex, value: str | None, name: str, errors: _Errors) -> Airport | None:
    if value is None or not value.strip():
        errors.add(name, "An airport code is required.")
        return None
    airport = index.get(value) if len(value.strip()) == 3 else None
    if airport is None:
        errors.add(name, "Unknown airport code.")
    return airport


def _date(value: str | date | None, name: str, errors: _Errors, *, required: bool) -> date | None:
    if value is None or value == "":
        if required:
            errors.add(name, "A date is required.")
        return None
    if isinstance(value, date):
        return value
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        errors.add(name, "Not a valid date; use YYYY-MM-DD.")
        return None


def _adults(value: int | str | None, errors: _Errors) -> int:
    if value is None or value == "":
        return 1
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _ADULTS.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None or not 1 <= number <= 9:
        errors.add("adults", "Adults must be a whole number from 1 to 9.")
        return 1
    return number


def validate_query(
    index: AirportIndex,
    now: datetime,
    *,
    origin: str | None,
    destination: str | None,
    depart: str | date | None,
    return_date: str | date | None = None,
    adults: int | str | None = 1,
    max_days_ahead: int = MAX_DAYS_AHEAD,
) -> SearchQuery:
    """A :class:`SearchQuery`, or ``ValidationFailed`` listing every bad field.

    Parameter names in ``loc``: ``origin``, ``destination``, ``depart``, ``return``,
    ``adults``. ``now`` is an aware instant.
    """
    errors = _Errors()
    source = _airport(index, origin, "origin", errors)
    target = _airport(index, destination, "destination", errors)
    if source is not None and target is not None and source.iata == target.iata:
        errors.add("destination", "The destination must differ from the origin.")
    leaving = _date(depart, "depart", errors, required=True)
    back = _date(return_date, "return", errors, required=False)
    count = _adults(adults, errors)

    today = now.astimezone(zone(source.tz if source else ANYWHERE_ON_EARTH)).date()
    horizon = today + timedelta(days=max_days_ahead)
    if leaving is not None:
        if leaving < today:
            errors.add("depart", "The departure date is in the past at the origin.")
        elif leaving > horizon:
            errors.add("depart", f"The departure date is more than {max_days_ahead} days ahead.")
    if back is not None:
        if leaving is not None and back < leaving:
            errors.add("return", "The return date is before the departure date.")
        elif back > horizon:
            errors.add("return", f"The return date is more than {max_days_ahead} days ahead.")
    if errors.items or source is None or target is None or leaving is None:
        raise ValidationFailed(errors.items)
    return SearchQuery(
        origin=source.iata,
        destination=target.iata,
        depart=leaving,
        return_date=back,
        adults=count,
    )
