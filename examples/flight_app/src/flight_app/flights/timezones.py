"""Local wall-clock times that exist: DST gaps roll forward, folds take the first.

A schedule says "06:30 local". On a spring-forward day a time inside the gap
(02:30 in Zurich on the last Sunday of March) does not exist; like a clock on the
wall it becomes 03:30. In the autumn fold the earlier of the two instants is
meant. zoneinfo maps a gap time with ``fold=0`` using the offset before the
change, so a round trip through UTC gives exactly that forward roll.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@functools.lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (cached: built once per name per process)."""
    return ZoneInfo(name)


def local_datetime(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """``minutes`` after local midnight of ``day`` in ``tz``, as a real instant in ``tz``."""
    wall = datetime.combine(day, time(), tzinfo=tz) + timedelta(minutes=minutes)
    wall = wall.replace(fold=0)
    return wall.astimezone(UTC).astimezone(tz)


def attach_zone(value: datetime, tz: ZoneInfo) -> datetime:
    """A local time as given by an upstream, made aware in ``tz``.

    A naive value is read as wall-clock time in ``tz`` (gap rolled forward, fold
    the first); a value that carries an offset is the instant it names, shown in ``tz``.
    """
    if value.utcoffset() is None:
        value = value.replace(tzinfo=tz, fold=0)
    return value.astimezone(UTC).astimezone(tz)
