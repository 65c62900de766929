"""The airports with an IATA code (``airportsdata``), searchable as one types.

Ranking (HTTP contract): an exact IATA code first, then city prefixes, then name
prefixes, then any other match (word prefixes before mid-word substrings); ties by
city, then code. Every keystroke of the search box asks, so a lookup must not walk
all ~8k rows in Python: prefixes come from sorted keys with ``bisect``; the
substring tier, needed only when those have not filled the limit, looks up the
query's rarest trigram (or its bigram) and checks just those rows; a one-letter
query scans one joined string with ``str.find``, at C speed.
"""

from __future__ import annotations

import heapq
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import airportsdata

from flight_app.flights.text import fold

_FIELD_SEP = "\x1f"  # between the fields of one airport in the scan text
_ROW_SEP = "\x1e"  # between airports; a folded query never contains either
_PREFIX_END = "\U0010ffff"
_WORD_BREAKS = frozenset((" ", _FIELD_SEP, "-", "/", "(", "'"))


@dataclass(frozen=True, kw_only=True, slots=True)
class Airport:
    """One airport as the contract shows it; ``tz`` is an IANA zone name."""

    iata: str
    icao: str
    name: str
    city: str
    country: str
    tz: str
    lat: float
    lon: float

    def to_json(self) -> dict[str, Any]:
        """The airport as the HTTP API shows it."""
        return {
            "iata": self.iata,
            "icao": self.icao,
            "name": self.name,
            "city": self.city,
            "country": self.country,
            "tz": self.tz,
            "lat": self.lat,
            "lon": self.lon,
        }


class AirportIndex:
    """Lookup by code and ranked search over a fixed set of airports."""

    def __init__(self, airports: list[Airport]) -> None:
        # Position in tie-break order (city, then code) is each airport's rank key.
        ordered = sorted(airports, key=lambda a: (fold(a.city), a.iata))
        self._airports = tuple(ordered)
        self._by_iata = {a.iata: a for a in ordered}
        self._position = {a.iata: i for i, a in enumerate(ordered)}
        if len(self._by_iata) != len(ordered):
            raise ValueError("duplicate IATA codes")
        self._city_keys = [(fold(a.city), i) for i, a in enumerate(ordered)]  # already sorted
        self._name_keys = sorted((fold(a.name), i) for i, a in enumerate(ordered))
        rows = [
            _FIELD_SEP.join((a.iata.casefold(), a.icao.casefold(), fold(a.city), fold(a.name)))
            for a in ordered
        ]
        self._rows = rows
        self._scan_text = _ROW_SEP.join(rows)
        grams: dict[str, list[int]] = {}
        for i, row in enumerate(rows):
            found = {row[k : k + 3] for k in range(len(row) - 2)}
            found.update(row[k : k + 2] for k in range(len(row) - 1))
            for gram in found:
                grams.setdefault(gram, []).append(i)
        # bigrams and trigrams -> row numbers in tie-break order; arrays: ~4x less memory
        self._grams = {gram: array("I", rows_) for gram, rows_ in grams.items()}
        self._row_starts: list[int] = []
        offset = 0
        for row in rows:
            self._row_starts.append(offset)
            offset += len(row) + 1

    @classmethod
    def from_airportsdata(cls) -> AirportIndex:
        """Every airport of ``airportsdata`` that has an IATA code."""
        rows: Mapping[str, Any] = airportsdata.load("IATA")
        return cls(
            [
                Airport(
                    iata=row["iata"],
                    icao=row["icao"],
                    name=row["name"],
                    city=row["city"],
                    country=row["country"],
                    tz=row["tz"],
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                )
                for row in rows.values()
                if row["iata"]
            ]
        )

    def __len__(self) -> int:
        return len(self._airports)

    def __iter__(self) -> Iterator[Airport]:
        return iter(self._airports)

    def get(self, iata: str) -> Airport | None:
        """The airport with this IATA code (any case, surrounding spaces ignored)."""
        return self._by_iata.get(iata.strip().upper())

    def search(self, query: str, *, limit: int = 20) -> list[Airport]:
        """Up to ``limit`` airports matching ``query``, best first (see module doc)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        q = fold(query).replace(_FIELD_SEP, "").replace(_ROW_SEP, "")
        if not q:
            return []
        picked: list[int] = []
        seen: set[int] = set()

        def take(indexes: list[int]) -> bool:
            for i in indexes:
                if i not in seen:
                    seen.add(i)
                    picked.append(i)
                    if len(picked) == limit:
                        return True
            return False

        exact = self._position.get(q.upper()) if len(q) == 3 else None
        if exact is not None and take([exact]):
            return self._result(picked)
        if take(self._city_prefix(q, limit + len(picked))):
            return self._result(picked)
        if take(self._name_prefix(q, limit + len(picked))):
            return self._result(picked)
        take(self._substring(q, seen, limit - len(picked)))
        return self._result(picked)

    def _result(self, picked: list[int]) -> list[Airport]:
        return [self._airports[i] for i in picked]

    def _city_prefix(self, q: str, want: int) -> list[int]:
        lo = bisect_left(self._city_keys, (q,))
        hi = bisect_right(self._city_keys, (q + _PREFIX_END,))
        # city keys are in tie-break order already: the first ``want`` are the best
        return [i for _, i in self._city_keys[lo : min(hi, lo + want)]]

    def _name_prefix(self, q: str, want: int) -> list[int]:
        lo = bisect_left(self._name_keys, (q,))
        hi = bisect_right(self._name_keys, (q + _PREFIX_END,))
        return heapq.nsmallest(want, (i for _, i in self._name_keys[lo:hi]))

    def _substring(self, q: str, seen: set[int], want: int) -> list[int]:
        """Word-start matches, then mid-word ones, each in tie-break (row) order.

        Candidates come in row order, so once ``want`` word-start matches are in,
        nothing later can outrank them and the walk stops.
        """
        word_starts: list[int] = []
        others: list[int] = []
        for row in self._candidates(q):
            if row in seen:
                continue
            text = self._rows[row]
            if q not in text:
                continue
            if self._at_word_start(text, q):
                word_starts.append(row)
                if len(word_starts) == want:
                    break
            elif len(others) < want:
                others.append(row)
        return (word_starts + others)[:want]

    def _candidates(self, q: str) -> Sequence[int]:
        """Rows that may contain ``q``, ascending: a posting list, or a scan for one letter."""
        if len(q) >= 2:
            size = min(len(q), 3)
            postings = [self._grams.get(q[k : k + size]) for k in range(len(q) - size + 1)]
            if any(p is None for p in postings):
                return []
            return min((p for p in postings if p is not None), key=len)
        found: list[int] = []
        find = self._scan_text.find
        at = find(q)
        while at != -1:
            row = bisect_right(self._row_starts, at) - 1
            found.append(row)
            at = find(
                q,
                self._row_starts[row + 1]
                if row + 1 < len(self._row_starts)
                else len(self._scan_text),
            )
        return found

    @staticmethod
    def _at_word_start(row: str, q: str) -> bool:
        at = row.find(q)
        while at != -1:
            if at == 0 or row[at - 1] in _WORD_BREAKS:
                return True
            at = row.find(q, at + 1)
        return False


_lock = threading.Lock()
_default: AirportIndex | None = None


def default_index() -> AirportIndex:
    """The process-wide index of ``airportsdata``, built on first use (~0.1 s)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = AirportIndex.from_airportsdata()
    return _default
