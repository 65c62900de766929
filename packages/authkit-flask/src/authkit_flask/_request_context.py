"""Request ids and trace ids, bound to a context variable for every log line.

An incoming ``X-Request-ID`` of 1-128 safe characters is echoed back; the trace id
of a W3C ``traceparent`` header wins when present, so logs join an upstream trace.
"""

from __future__ import annotations

import contextvars
import os
import re
import threading

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")

_trace_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "authkit_trace_id", default=None
)


class _RandomIds:
    """128-bit random ids in hex, from ``os.urandom`` read 256 ids at a time.

    ``secrets.token_hex`` is a ``getrandom`` system call per request, and a system
    call hands the GIL over: under gunicorn's threads the calling request then
    waits for another thread to give it back, which cost a quarter of a threaded
    worker's request time (py-spy of four threads serving ``GET /auth/me``). The
    bytes are the same kernel CSPRNG's; a forked child drops what its parent read,
    so no two workers hand out the same ids.
    """

    BATCH = 256

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._next = 0

    def new(self) -> str:
        with self._lock:
            start = self._next
            if start >= len(self._pool):
                self._pool, start = os.urandom(16 * self.BATCH), 0
            self._next = start + 16
            return self._pool[start : start + 16].hex()

    def forget(self) -> None:
        """In a forked child: never hand out the ids the parent will."""
        self._lock = threading.Lock()
        self._pool = b""
        self._next = 0


_random_ids = _RandomIds()
os.register_at_fork(after_in_child=_random_ids.forget)


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
    trace_id = trace_id or valid_request_id or _random_ids.new()
    return valid_request_id or trace_id, trace_id


__all__ = ["bind_trace_id", "current_trace_id", "reset_trace_id", "resolve_ids"]
