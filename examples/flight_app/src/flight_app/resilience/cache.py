"""Where successful results wait to answer for an upstream that fails.

Both implementations store the same JSON text, so what works in the in-process
cache of a laptop works in the Redis cache of a deployment (a value that does not
survive ``json.dumps`` fails in both). The cache is best effort: a Redis error is
logged and reads as a miss, never as a failure of the call it was meant to save.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis import Redis
from redis.exceptions import RedisError

from authkit.clock import Clock, SystemClock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class CachedResult:
    """A stored result: the encoded value (JSON-compatible) and when it was fetched."""

    value: Any
    fetched_at: datetime


class ResultCache(Protocol):
    """Where successful results are kept for the stale fallback: in process or in Redis."""

    def get(self, key: str) -> CachedResult | None:
        """The live entry for ``key``, or ``None`` (missing, expired, unreadable)."""
        ...

    def put(self, key: str, entry: CachedResult, *, ttl: float) -> None:
        """Store ``entry`` for ``ttl`` seconds, replacing any earlier one."""
        ...


def _dumps(entry: CachedResult) -> str:
    return json.dumps(
        {"fetched_at": entry.fetched_at.isoformat(), "value": entry.value},
        separators=(",", ":"),
        allow_nan=False,
    )


def _loads(text: str | bytes) -> CachedResult | None:
    try:
        raw = json.loads(text)
        return CachedResult(
            value=raw["value"], fetched_at=datetime.fromisoformat(raw["fetched_at"])
        )
    except (ValueError, TypeError, KeyError):
        logger.warning("result cache: unreadable entry ignored")
        return None


class MemoryResultCache:
    """A bounded, thread-safe, in-process TTL cache (least recently used goes first).

    The bound keeps a stream of distinct queries from growing the process without
    limit; one per worker, so each worker falls back only to what it fetched.
    """

    def __init__(self, *, max_entries: int = 1024, clock: Clock | None = None) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[datetime, str]] = OrderedDict()

    def get(self, key: str) -> CachedResult | None:
        """The live entry for ``key``, or ``None`` (missing or expired)."""
        now = self._clock.now()
        with self._lock:
            item = self._entries.get(key)
            if item is None:
                return None
            expires, text = item
            if now >= expires:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
        return _loads(text)

    def put(self, key: str, entry: CachedResult, *, ttl: float) -> None:
        """Store ``entry`` for ``ttl`` seconds; the oldest entries go past the size bound."""
        text = _dumps(entry)
        expires = self._clock.now() + timedelta(seconds=ttl)
        with self._lock:
            self._entries[key] = (expires, text)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max_entries:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class RedisResultCache:
    """Entries as JSON strings under ``<prefix><key>``, expired by Redis (``SET EX``: SETEX).

    Shared by every worker and host, so a result fetched by one answers for all.
    """

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self._client = client
        self._prefix = prefix

    def get(self, key: str) -> CachedResult | None:
        """The entry for ``key``, or ``None``; an unreachable Redis is a miss, never an error."""
        try:
            text = self._client.get(self._prefix + key)
        except RedisError:
            logger.warning("result cache: Redis unreachable; treated as a miss")
            return None
        if text is None:
            return None
        return _loads(text)

    def put(self, key: str, entry: CachedResult, *, ttl: float) -> None:
        """Store ``entry`` for ``ttl`` seconds; an unreachable Redis only loses the entry."""
        try:
            self._client.set(self._prefix + key, _dumps(entry), ex=max(1, math.ceil(ttl)))
        except RedisError:
            logger.warning("result cache: Redis unreachable; result not stored")
