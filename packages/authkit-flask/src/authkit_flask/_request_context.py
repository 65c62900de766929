"""Request ids and trace ids, bound to a context variable for every log line.

An incoming ``X-Request-ID`` of 1-128 safe characters is echoed back; the trace id
of a W3C ``traceparent`` header wins when present, so logs join an upstream trace.
"""

from __future__ import annotations

import contextvars
import re
import secrets

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "authkit_trace_id", default=None
)


def current_trace_id() -> str | None:
    """The trace id of the request being served, or None outside a request."""
    return _trace_id.get()


def bind_trace_id(trace_id: str | None) -> contextvars.Token[str | None]:
    return _trace_id.set(trace_id)


def reset_trace_id(token: contextvars.Token[str | None]) -> None:
    _trace_id.reset(token)


def resolve_ids(request_id: str | None, traceparent: str | None) -> tuple[str, str]:
    """Return ``(request_id, trace_id)`` for a request's headers."""
    valid_request_id = request_id if request_id and _REQUEST_ID.fullmatch(request_id) else None
    trace_id: str | None = None
    if traceparent:
        match = _TRACEPARENT.fullmatch(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            trace_id = match.group(1)
    trace_id = trace_id or valid_request_id or secrets.token_hex(16)
    return valid_request_id or trace_id, trace_id


__all__ = ["bind_trace_id", "current_trace_id", "reset_trace_id", "resolve_ids"]
