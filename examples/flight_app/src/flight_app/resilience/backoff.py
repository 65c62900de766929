"""Retries through tenacity: exponential backoff with full jitter, Retry-After honoured.

Full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter") draws each
wait uniformly from ``[0, min(cap, base * 2**(n-1))]``. An upstream outage hits
every worker at the same moment; without jitter they would all come back in lock
step and hit the recovering upstream together.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import tenacity

from flight_app.resilience.errors import TransientError, UpstreamError
from flight_app.resilience.policy import ResiliencePolicy


class FullJitterBackoff(tenacity.wait_exponential):
    """tenacity's exponential window, a draw from an injected random source inside it.

    tenacity's own ``wait_random_exponential`` draws from the ``random`` module, so
    tests could not pin it. When the failure carries ``retry_after`` (a 429's
    ``Retry-After``) that wait is used instead of the draw, capped at ``cap`` so one
    answer cannot park a request thread for minutes.
    """

    def __init__(self, *, base: float, cap: float, rng: random.Random) -> None:
        super().__init__(multiplier=base, max=cap)
        self._cap = cap
        self._rng = rng

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        """Seconds to wait before the next attempt.

        An upstream's ``Retry-After`` (up to the cap), else full jitter.
        """
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, UpstreamError) and error.retry_after is not None:
            return min(max(error.retry_after, 0.0), self._cap)
        return self._rng.uniform(0.0, super().__call__(retry_state))


def build_retrying(
    policy: ResiliencePolicy,
    *,
    sleep: Callable[[float], None],
    rng: random.Random,
    before_sleep: Callable[[tenacity.RetryCallState], None],
) -> tenacity.Retrying:
    """A fresh ``Retrying`` for one logical call (cheap; avoids sharing tenacity state).

    Only :class:`TransientError` is retried; the last failure is re-raised as is
    (``reraise=True``) so the caller sees the upstream's error, not tenacity's.
    """
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(policy.attempts),
        wait=FullJitterBackoff(base=policy.backoff_base, cap=policy.backoff_cap, rng=rng),
        retry=tenacity.retry_if_exception_type(TransientError),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
