"""What the extension keeps: per Flask app (``AuthKitState``) and per request (``RequestState``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, request

from authkit import Authkit, Principal
from authkit_flask._request_context import resolve_ids

if TYPE_CHECKING:
    from authkit_flask._browser_config import BrowserSessionConfig
    from authkit_flask._live import LiveUpdates

EXTENSION_KEY = "authkit"
_STATE_KEY = "authkit.request_state"

ReadinessCheck = Callable[[], None]


@dataclass(kw_only=True)
class AuthKitState:
    """What ``AuthKit`` keeps per app in ``app.extensions["authkit"]``.

    The core, and the adapter's options.
    """

    kit: Authkit
    """The core built by ``authkit.build``: every decision is its."""
    readiness_checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    readiness_timeout: float = 2.0
    jwks_max_age: int = 300
    log_sources: Mapping[str, Path] = field(default_factory=dict)
    """The logs ``/admin/logs`` reads, by ``source`` name; empty: the route is not registered."""
    live: LiveUpdates | None = None
    """Feeds ``/admin/ws``; without one that route is not registered."""
    browser: BrowserSessionConfig | None = None
    """Browser sessions (``/auth/browser/*``, the refresh-token cookie); None: off."""
    pages_home: str = "/"
    """Where the pages send a user after signing in when no ``next`` is given."""


@dataclass(kw_only=True)
class RequestState:
    """Everything the extension tracks about the request being served (``request_state()``).

    One typed object instead of loose ``g`` attributes, so a typo is a type error
    and the whole per-request state is visible in one place.
    """

    request_id: str
    started: float = 0.0
    principal: Principal | None = None
    credentials_missing: bool = False
    """No bearer token at all: RFC 6750 §3.1 wants a challenge without an error code."""
    live_token: str | None = None
    """The admin WebSocket's access token, when given as ``?access_token=``."""
    live_pending: bool = False
    """The socket holds an unauthenticated place until its first message."""


def get_state(app: Flask | None = None) -> AuthKitState:
    """The ``AuthKitState`` of ``app`` (default: the current app).

    A clear error if ``AuthKit`` was not set up on it.
    """
    target = app or current_app
    try:
        state = target.extensions[EXTENSION_KEY]
    except KeyError as exc:
        raise RuntimeError("AuthKit is not initialised on this Flask app.") from exc
    assert isinstance(state, AuthKitState)
    return state


REQUEST_IDS_KEY = "authkit.request_ids"
"""The environ key where the extension's middleware leaves ``(request id, start time)``."""


def request_state() -> RequestState:
    """The current request's state, made on first use from the ids the middleware resolved.

    Kept in the request's WSGI environ, which belongs to this one request (``g``
    belongs to the app context, which requests dispatched inside one shared
    context would share).
    """
    return state_of(request.environ)


def state_of(environ: dict[str, Any]) -> RequestState:
    """``request_state()`` for a request's environ (the hooks hold it already)."""
    state = environ.get(_STATE_KEY)
    if not isinstance(state, RequestState):
        ids = environ.get(REQUEST_IDS_KEY)
        if ids is None:  # a request context made without the app's WSGI stack (tests)
            ids = (resolve_ids(None, None)[0], 0.0)
        state = RequestState(request_id=ids[0], started=ids[1])
        environ[_STATE_KEY] = state
    return state


__all__ = [
    "EXTENSION_KEY",
    "REQUEST_IDS_KEY",
    "AuthKitState",
    "ReadinessCheck",
    "RequestState",
    "get_state",
    "request_state",
    "state_of",
]
