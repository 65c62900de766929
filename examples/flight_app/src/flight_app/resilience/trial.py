"""A lease that lets exactly one trial call through a half-open circuit.

pybreaker's half-open state lets *every* call through until one of them decides
the state, and with a shared Redis state every worker would send its own trial.
The contract says one trial, so the first caller takes a lease and the others are
refused as if the circuit were still open. The lease expires on its own, so a
worker that dies mid-trial cannot wedge the circuit half-open.
"""

from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta
from typing import Protocol

from redis import Redis

from authkit.clock import Clock

# Delete the lease only if it is still ours (it may have expired and been retaken).
_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then
    return redis.call('del', KEYS[1])
end
return 0
"""


class TrialGate(Protocol):
    """Who may send the one trial call of a half-open circuit, across workers when shared."""

    def try_acquire(self, *, lease_seconds: float) -> str | None:
        """A token when this caller may send the trial, ``None`` when another holds it."""
        ...

    def release(self, token: str) -> None:
        """End the lease taken with ``token`` (a no-op if it already expired)."""
        ...


class LocalTrialGate:
    """The lease for a circuit that lives in this process."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires: datetime | None = None

    def try_acquire(self, *, lease_seconds: float) -> str | None:
        """A token when no unexpired lease is held, else ``None``."""
        now = self._clock.now()
        with self._lock:
            if self._token is not None and self._expires is not None and now < self._expires:
                return None
            self._token = secrets.token_hex(8)
            self._expires = now + timedelta(seconds=lease_seconds)
            return self._token

    def release(self, token: str) -> None:
        """End the lease taken with ``token`` (a no-op if another holds it now)."""
        with self._lock:
            if self._token == token:
                self._token = None
                self._expires = None


class RedisTrialGate:
    """The lease for a circuit shared through Redis: ``SET NX PX``, compare-and-delete."""

    def __init__(self, client: Redis, *, key: str) -> None:
        self._client = client
        self._key = key

    def try_acquire(self, *, lease_seconds: float) -> str | None:
        """A token when this caller set the Redis key (``SET NX PX``), else ``None``."""
        token = secrets.token_hex(8)
        won = self._client.set(self._key, token, nx=True, px=max(1, int(lease_seconds * 1000)))
        return token if won else None

    def release(self, token: str) -> None:
        """Delete the key only if it still holds ``token`` (atomically, in a Lua script)."""
        self._client.eval(_RELEASE_SCRIPT, 1, self._key, token)
