"""Readiness checks the app adds to the adapter's own (``database``, ``ratelimit``).

``/health/ready`` must name every critical dependency that does not answer
(API.md, Operations). With ``FLIGHT_APP_REDIS_URL`` set, Redis carries the live
updates, the flight circuit breaker and the result cache of every worker, so it is
one: the ``redis`` check PINGs it. The rate-limit storage may be the same Redis;
it keeps its own ``ratelimit`` check, since it may also be another server.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from flight_app.settings import Settings

REDIS_CHECK_TIMEOUT: Final = 1.0
"""Seconds to connect and to answer PING: under the adapter's 2 s probe budget, so a
hung Redis shows as ``unavailable`` rather than ``timeout``."""


class RedisCheck:
    """PING one Redis with a short timeout and no retries; raises when it does not answer.

    One client per app (its pool keeps a connection between probes); redis-py's
    default retries with backoff (3 in redis-py 6+) would stretch a failing probe
    past the timeout, so they are off: a probe asks once.
    """

    def __init__(self, url: str, *, timeout: float = REDIS_CHECK_TIMEOUT) -> None:
        self._client = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
        )

    def __repr__(self) -> str:
        return "RedisCheck(<url hidden>)"  # the URL may hold a password

    def __call__(self) -> None:
        """Send one PING; raise when Redis does not answer ``True`` in time."""
        if self._client.ping() is not True:
            raise ConnectionError("Redis did not answer PING")

    def close(self) -> None:
        """Close the client's connection pool."""
        self._client.close()


def readiness_checks(settings: Settings) -> dict[str, Callable[[], None]]:
    """The checks ``/health/ready`` runs beside the adapter's, from the settings."""
    checks: dict[str, Callable[[], None]] = {}
    if settings.redis_url:
        checks["redis"] = RedisCheck(settings.redis_url)
    return checks


def close_checks(checks: dict[str, Callable[[], None]]) -> None:
    """Release the checks' connections (gunicorn's ``worker_exit``, via ``close_app``)."""
    for check in checks.values():
        if isinstance(check, RedisCheck):
            check.close()


__all__ = ["REDIS_CHECK_TIMEOUT", "RedisCheck", "close_checks", "readiness_checks"]
