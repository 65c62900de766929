"""The knobs of the resilience policy, in one frozen object with the contract's defaults."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True, slots=True)
class ResiliencePolicy:
    """Timeout, retries, backoff, circuit breaker and fallback cache of one upstream.

    Defaults are the HTTP contract's (``FLIGHT_APP_PROVIDER_TIMEOUT`` 10 s,
    ``..._RETRIES`` 2, ``FLIGHT_APP_BREAKER_FAIL_MAX`` 5, ``..._RESET`` 30 s,
    ``FLIGHT_APP_FLIGHT_CACHE_TTL`` 3600 s).

    - ``timeout``: seconds one attempt may take; the wrapped client enforces it
      (a thread cannot be interrupted from outside), the policy publishes it.
    - ``retries``: extra attempts after the first, for transient failures only.
    - ``backoff_base`` / ``backoff_cap``: the full-jitter window of retry ``n`` is
      ``[0, min(cap, base * 2**(n-1))]``; a ``Retry-After`` is honoured up to ``cap``.
    - ``breaker_fail_max``: consecutive failed *calls* (each after its retries) that
      open the circuit. ``breaker_reset``: seconds it stays open before one trial.
    - ``cache_ttl``: seconds a successful result is kept to answer when the
      upstream fails. ``fresh_for``: seconds a stored result is served *instead of*
      calling the upstream (0, the default, always calls it).
    """

    timeout: float = 10.0
    retries: int = 2
    backoff_base: float = 0.5
    backoff_cap: float = 4.0
    breaker_fail_max: int = 5
    breaker_reset: float = 30.0
    cache_ttl: float = 3600.0
    fresh_for: float = 0.0

    def __post_init__(self) -> None:
        for field in ("timeout", "backoff_base", "backoff_cap", "breaker_reset", "cache_ttl"):
            value = getattr(self, field)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{field} must be a positive number of seconds, not {value!r}")
        if not (math.isfinite(self.fresh_for) and 0 <= self.fresh_for <= self.cache_ttl):
            raise ValueError("fresh_for must be between 0 and cache_ttl")
        if self.backoff_base > self.backoff_cap:
            raise ValueError("backoff_base must not exceed backoff_cap")
        if not 0 <= self.retries <= 10:
            raise ValueError("retries must be between 0 and 10")
        if self.breaker_fail_max < 1:
            raise ValueError("breaker_fail_max must be at least 1")

    @property
    def attempts(self) -> int:
        """The first attempt plus the retries."""
        return self.retries + 1

    @property
    def worst_case_seconds(self) -> float:
        """An upper bound of one logical call: every attempt times out, every wait is capped."""
        return self.timeout * self.attempts + self.backoff_cap * self.retries
