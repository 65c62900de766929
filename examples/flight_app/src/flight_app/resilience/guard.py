"""One guarded call: circuit, retries, timeout metrics, cache fallback, in that order.

``guard.call(key, fn, encode=..., decode=...)`` either returns an
:class:`Outcome` (live, or a stored result) or raises :class:`Unavailable`;
whatever ``fn`` raises stays inside. An open circuit answers from the cache
without calling ``fn``, so the fallback is as fast as a cache read.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

import tenacity

from authkit.clock import Clock, SystemClock
from flight_app.resilience.backoff import build_retrying
from flight_app.resilience.breaker import Admission, Circuit
from flight_app.resilience.cache import CachedResult, ResultCache
from flight_app.resilience.errors import (
    CircuitOpen,
    PermanentError,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
)
from flight_app.resilience.metrics import PolicyMetrics
from flight_app.resilience.policy import ResiliencePolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")

Source = Literal["live", "cache"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome(Generic[T]):
    """A value and where it came from.

    ``source`` is ``live`` when the upstream answered this call and ``cache`` for a
    stored earlier result; ``stale`` is true when that stored result stands in for
    a failed or refused call.
    """

    value: T
    source: Source
    stale: bool
    fetched_at: datetime


class ResilienceGuard:
    """Applies a :class:`ResiliencePolicy` to calls of one upstream.

    Thread-safe; one per upstream per process. ``sleep`` and ``rng`` are the
    retry waits' (tests record instead of sleeping), ``clock`` stamps results and
    ages the cache, ``timer`` measures attempts.
    """

    def __init__(
        self,
        *,
        name: str,
        policy: ResiliencePolicy,
        circuit: Circuit,
        cache: ResultCache,
        metrics: PolicyMetrics,
        clock: Clock | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.name = name
        self.policy = policy
        self.circuit = circuit
        self._cache = cache
        self._metrics = metrics
        self._clock = clock or SystemClock()
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)
        self._timer = timer

    def call(
        self,
        key: str,
        fn: Callable[[], T],
        *,
        encode: Callable[[T], object],
        decode: Callable[[Any], T],
    ) -> Outcome[T]:
        """Call ``fn`` under the policy; ``key`` names its result in the cache.

        ``encode`` turns a result into JSON-compatible data for the cache and
        ``decode`` turns it back. Raises :class:`Unavailable` only.
        """
        stored: CachedResult | None = None
        if self.policy.fresh_for > 0:
            stored = self._cache.get(key)
            if stored is not None and self._age(stored) < self.policy.fresh_for:
                fresh = self._decode(stored, decode)
                if fresh is not None:
                    return Outcome(
                        value=fresh, source="cache", stale=False, fetched_at=stored.fetched_at
                    )
        try:
            admission = self.circuit.admit()
        except CircuitOpen as refused:
            self._metrics.requests.labels(outcome="rejected").inc()
            return self._fall_back(key, decode, stored, retry_after=refused.retry_after)
        try:
            value = self._attempts(fn)
        except Exception as error:  # a provider failure must never escape
            return self._failed(key, decode, stored, admission, error)
        self.circuit.record_success(admission)
        self._metrics.requests.labels(outcome="success").inc()
        fetched_at = self._clock.now()
        self._store(key, value, encode, fetched_at)
        return Outcome(value=value, source="live", stale=False, fetched_at=fetched_at)

    def _attempts(self, fn: Callable[[], T]) -> T:
        def attempt() -> T:
            started = self._timer()
            try:
                return fn()
            finally:
                self._metrics.latency.observe(self._timer() - started)

        retrying = build_retrying(
            self.policy, sleep=self._sleep, rng=self._rng, before_sleep=self._on_retry
        )
        return retrying(attempt)

    def _on_retry(self, state: tenacity.RetryCallState) -> None:
        self._metrics.retries.inc()
        error = state.outcome.exception() if state.outcome is not None else None
        logger.info(
            "%s: attempt %d failed (%s); retrying in %.2f s",
            self.name,
            state.attempt_number,
            _describe(error),
            state.upcoming_sleep,
        )

    def _failed(
        self,
        key: str,
        decode: Callable[[Any], T],
        stored: CachedResult | None,
        admission: Admission,
        error: Exception,
    ) -> Outcome[T]:
        if isinstance(error, PermanentError):
            self.circuit.record_success(admission)  # it answered: healthy, just refused us
            logger.warning("%s: refused the request (%s)", self.name, _describe(error))
        else:
            self.circuit.record_failure(admission)
            if isinstance(error, UpstreamError):
                logger.warning("%s: failed (%s)", self.name, _describe(error))
            else:
                logger.error("%s: unexpected failure", self.name, exc_info=error)
        outcome = "timeout" if isinstance(error, UpstreamTimeout) else "error"
        self._metrics.requests.labels(outcome=outcome).inc()
        hint = self.circuit.retry_after()
        asked = error.retry_after if isinstance(error, UpstreamError) else None
        if hint <= 0 and asked is not None and math.isfinite(asked) and asked > 0:
            # The upstream's own hint, but never later than the circuit's reset: a
            # "Retry-After: 10**400" must become neither an overflow nor a promise.
            hint = min(asked, self.policy.breaker_reset)
        return self._fall_back(key, decode, stored, retry_after=hint or self.policy.backoff_cap)

    def _fall_back(
        self,
        key: str,
        decode: Callable[[Any], T],
        stored: CachedResult | None,
        *,
        retry_after: float,
    ) -> Outcome[T]:
        if stored is None:
            stored = self._cache.get(key)
        value = self._decode(stored, decode) if stored is not None else None
        if stored is not None and value is not None:
            self._metrics.fallbacks.labels(result="cache").inc()
            return Outcome(value=value, source="cache", stale=True, fetched_at=stored.fetched_at)
        self._metrics.fallbacks.labels(result="unavailable").inc()
        raise Unavailable(math.ceil(retry_after))

    def _store(self, key: str, value: T, encode: Callable[[T], object], at: datetime) -> None:
        try:
            self._cache.put(
                key, CachedResult(value=encode(value), fetched_at=at), ttl=self.policy.cache_ttl
            )
        except (TypeError, ValueError):
            logger.exception("%s: result could not be cached", self.name)

    def _decode(self, stored: CachedResult, decode: Callable[[Any], T]) -> T | None:
        try:
            return decode(stored.value)
        except (TypeError, ValueError, KeyError):
            logger.warning("%s: stored result no longer decodes; ignored", self.name)
            return None

    def _age(self, stored: CachedResult) -> float:
        return (self._clock.now() - stored.fetched_at).total_seconds()


def _describe(error: BaseException | None) -> str:
    if error is None:
        return "no error"
    return f"{type(error).__name__}: {error}"
