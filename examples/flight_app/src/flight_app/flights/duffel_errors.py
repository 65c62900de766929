"""Duffel's HTTP answers translated into the resilience hierarchy.

Retryable (the contract): timeouts, connection errors, 408, 429 and 5xx. A 429
tells when to come back in ``Retry-After`` (RFC 9110 §10.2.3: delay-seconds or an
HTTP-date) or Duffel's ``ratelimit-reset``, read here whether it holds a delay,
epoch seconds or an HTTP-date. Other 4xx are permanent. Messages name the status
and Duffel's error code and title only: never a header, never the token.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from typing import Any

import httpx

from flight_app.resilience import PermanentError, TransientError, UpstreamError, UpstreamTimeout

_NUMBER = re.compile(r"\d+(\.\d+)?")
_EPOCH_THRESHOLD = 1_000_000_000.0  # a number this large is a Unix time, not a delay


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` or ``ratelimit-reset`` value, or ``None``."""
    if value is None:
        return None
    value = value.strip()
    if _NUMBER.fullmatch(value):
        number = float(value)
        seconds = number - now.timestamp() if number >= _EPOCH_THRESHOLD else number
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_after_of(response: httpx.Response, *, now: datetime) -> float | None:
    """The wait a response asks for: ``Retry-After`` first, then ``ratelimit-reset``."""
    for header in ("retry-after", "ratelimit-reset"):
        seconds = parse_retry_after(response.headers.get(header), now=now)
        if seconds is not None:
            return seconds
    return None


def _duffel_error(response: httpx.Response) -> str:
    """``code: title`` of the first entry of Duffel's ``{"errors": [...]}``, if any."""
    try:
        body: Any = response.json()
        first = body["errors"][0]
        text = f"{first.get('code', '?')}: {first.get('title', '?')}"
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "no error body"
    return text[:200]


def error_for_status(response: httpx.Response, *, now: datetime) -> UpstreamError:
    """The resilience error for a non-2xx answer."""
    status = response.status_code
    detail = f"Duffel answered {status} ({_duffel_error(response)})"
    if status == 408:
        return UpstreamTimeout(detail)
    if status == 429 or status >= 500:
        return TransientError(detail, retry_after=retry_after_of(response, now=now))
    return PermanentError(detail)


def error_for_transport(error: httpx.TransportError) -> UpstreamError:
    """The resilience error for a request that got no answer."""
    if isinstance(error, httpx.TimeoutException):
        return UpstreamTimeout(f"Duffel did not answer in time ({type(error).__name__})")
    return TransientError(f"Duffel unreachable ({type(error).__name__})")
