"""What a wrapped call raises to tell the policy how it failed, and what the policy raises.

The wrapped call (an HTTP client, an SMTP session) knows its protocol; the policy
does not. So the call translates its failures into this small hierarchy and the
policy decides from the class alone: retry or not, count against the circuit or
not. Anything else a call raises is treated as a fault of the upstream (a
malformed answer, a bug in the mapping): not retried, counted, logged.
"""

from __future__ import annotations


class UpstreamError(Exception):
    """Root of the failures a wrapped call reports on purpose.

    ``retry_after`` is the upstream's own hint, in seconds, of when to come back
    (HTTP ``Retry-After``, an SMTP 4xx with a delay), or ``None``. Messages must be
    safe to log: never a credential, never a full request.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(UpstreamError):
    """A failure that may pass on its own: retried with backoff, counted by the breaker.

    Connection errors, HTTP 429 and 5xx, SMTP 4xx.
    """


class UpstreamTimeout(TransientError):
    """The upstream did not answer within the policy's timeout (reported as ``timeout``)."""


class PermanentError(UpstreamError):
    """The upstream answered and refused this request (HTTP 4xx other than 408/429).

    Not retried: the same request gets the same answer. Not counted by the breaker
    either: the upstream is healthy, and counting refusals would let one client
    sending bad requests open the circuit for everyone.
    """


class BadResponse(UpstreamError):
    """The upstream answered something unusable (not JSON, missing fields).

    Not retried, but counted by the breaker: an upstream answering garbage is broken.
    """


class CircuitOpen(Exception):
    """The circuit refused the call without trying; ``retry_after`` seconds until a trial."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("The circuit is open.")
        self.retry_after = retry_after


class Unavailable(Exception):
    """The only failure a guarded call lets out: no live answer and nothing stored.

    ``retry_after`` is whole seconds, at least 1, meant for an HTTP ``Retry-After``.
    """

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"The upstream is unavailable; retry after {self.retry_after} s.")
