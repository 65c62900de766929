"""What the extension keeps per Flask app, in ``app.extensions["authkit"]``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app

from authkit import AdminService, AuthService, KeyRingSource

if TYPE_CHECKING:
    from authkit_flask.live import LiveUpdates

EXTENSION_KEY = "authkit"

ReadinessCheck = Callable[[], None]


@dataclass(kw_only=True)
class AuthKitState:
    service: AuthService
    keys: KeyRingSource
    readiness_checks: Mapping[str, ReadinessCheck] = field(default_factory=dict)
    readiness_timeout: float = 2.0
    jwks_max_age: int = 300
    admin: AdminService | None = None
    """Serves ``/auth/users``; without one those routes are not registered."""
    log_sources: Mapping[str, Path] = field(default_factory=dict)
    """The logs ``/admin/logs`` reads, by ``source`` name; empty: the route is not registered."""
    live: LiveUpdates | None = None
    """Feeds ``/admin/ws``; without one that route is not registered."""


def get_state(app: Flask | None = None) -> AuthKitState:
    target = app or current_app
    try:
        state = target.extensions[EXTENSION_KEY]
    except KeyError as exc:
        raise RuntimeError("AuthKit is not initialised on this Flask app.") from exc
    assert isinstance(state, AuthKitState)
    return state


__all__ = ["EXTENSION_KEY", "AuthKitState", "ReadinessCheck", "get_state"]
