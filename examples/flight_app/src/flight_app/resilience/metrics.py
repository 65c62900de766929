"""Prometheus metrics of a guarded upstream, named ``<prefix>_...`` per upstream.

The registry of prometheus_client is process-global and refuses a name twice, so
each prefix's metric objects are made once and handed out again. The flight
provider uses the prefix ``flight_provider``, giving the contract's names.

What they count:

- ``<prefix>_requests_total{outcome}``: logical calls (retries included) by how
  they ended: ``success``, ``error``, ``timeout`` (the last attempt timed out),
  ``rejected`` (the open circuit answered without calling).
- ``<prefix>_retries_total``: extra attempts made after transient failures.
- ``<prefix>_circuit_state``: 0 closed, 1 half-open, 2 open. Under gunicorn every
  worker writes its own value; ``livemostrecent`` reports the value written last by
  a live worker. With a Redis-shared circuit that is the newest observation of the
  one shared state (``max`` would stay at "open" in a worker that saw the circuit
  open and has not served a call since); with per-process circuits it is the
  latest worker's view. Dead workers' files are dropped (``mark_process_dead``).
- ``<prefix>_fallbacks_total{result}``: failed or rejected calls answered from the
  cache (``cache``) or not at all (``unavailable``).
- ``<prefix>_latency_seconds``: duration of each attempt at the upstream.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from prometheus_client import Counter, Gauge, Histogram

OUTCOMES = ("success", "error", "timeout", "rejected")
FALLBACK_RESULTS = ("cache", "unavailable")
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class PolicyMetrics:
    """The Prometheus metrics of one resilience policy (``flight_provider_*`` for the flights)."""

    requests: Counter
    retries: Counter
    circuit_state: Gauge
    fallbacks: Counter
    latency: Histogram


_lock = threading.Lock()
_made: dict[str, PolicyMetrics] = {}


def policy_metrics(prefix: str) -> PolicyMetrics:
    """The metrics named ``<prefix>_...``, created on first use, then the same objects."""
    with _lock:
        metrics = _made.get(prefix)
        if metrics is None:
            metrics = _create(prefix)
            _made[prefix] = metrics
        return metrics


def _create(prefix: str) -> PolicyMetrics:
    requests = Counter(f"{prefix}_requests_total", "Calls to the upstream by outcome.", ["outcome"])
    fallbacks = Counter(
        f"{prefix}_fallbacks_total", "Failed calls answered from the cache or not.", ["result"]
    )
    for outcome in OUTCOMES:
        requests.labels(outcome=outcome)
    for result in FALLBACK_RESULTS:
        fallbacks.labels(result=result)
    return PolicyMetrics(
        requests=requests,
        retries=Counter(f"{prefix}_retries_total", "Retries after transient failures."),
        circuit_state=Gauge(
            f"{prefix}_circuit_state",
            "Circuit breaker state: 0 closed, 1 half-open, 2 open.",
            multiprocess_mode="livemostrecent",
        ),
        fallbacks=fallbacks,
        latency=Histogram(
            f"{prefix}_latency_seconds",
            "Duration of each upstream attempt.",
            buckets=LATENCY_BUCKETS,
        ),
    )
