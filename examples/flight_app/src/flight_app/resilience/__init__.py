"""A provider-agnostic resilience policy: timeout, retries, circuit breaker, fallback cache.

Wrap any call to an upstream (a flights API, an SMTP server) with
:func:`create_guard` and ``guard.call(key, fn, encode=..., decode=...)``. The call
reports failures with :class:`TransientError` (retried), :class:`PermanentError`
(not retried) or :class:`BadResponse`; the guard answers with an
:class:`Outcome` or raises :class:`Unavailable`, nothing else.
"""

from flight_app.resilience.backoff import FullJitterBackoff, build_retrying
from flight_app.resilience.breaker import Admission, Circuit, CircuitState
from flight_app.resilience.cache import (
    CachedResult,
    MemoryResultCache,
    RedisResultCache,
    ResultCache,
)
from flight_app.resilience.errors import (
    BadResponse,
    CircuitOpen,
    PermanentError,
    TransientError,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
)
from flight_app.resilience.factory import create_guard, redis_client
from flight_app.resilience.guard import Outcome, ResilienceGuard, Source
from flight_app.resilience.metrics import PolicyMetrics, policy_metrics
from flight_app.resilience.policy import ResiliencePolicy

__all__ = [
    "Admission",
    "BadResponse",
    "CachedResult",
    "Circuit",
    "CircuitOpen",
    "CircuitState",
    "FullJitterBackoff",
    "MemoryResultCache",
    "Outcome",
    "PermanentError",
    "PolicyMetrics",
    "RedisResultCache",
    "ResilienceGuard",
    "ResiliencePolicy",
    "ResultCache",
    "Source",
    "TransientError",
    "Unavailable",
    "UpstreamError",
    "UpstreamTimeout",
    "build_retrying",
    "create_guard",
    "policy_metrics",
    "redis_client",
]
