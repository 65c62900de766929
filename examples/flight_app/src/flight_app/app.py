"""The Flask application factory of the reference app."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from authkit_flask import AuthKit, OpenApiInfo, current_trace_id
from flight_app.components import Components, build_components
from flight_app.flights_setup import build_flight_search, install_flights, shutdown_flights
from flight_app.live_setup import (
    build_live,
    follow_session_events,
    install_live,
    log_sources,
    shutdown_live,
)
from flight_app.logging_setup import access_log_sink, configure_logging
from flight_app.pages import install_pages
from flight_app.readiness import close_checks, readiness_checks
from flight_app.settings import Settings, load_settings

EXTENSION_KEY = "flight_app"
READINESS_KEY = "flight_app.readiness"
OPENAPI_INFO = OpenApiInfo(
    title="flight-app HTTP API",
    version=version("flight-app"),
    description=(
        "The reference app of authkit: sign-in, MFA, administration and operations "
        "from `authkit_flask`, and the app's own airport and flight search endpoints. "
        "Errors are RFC 9457 problem details (`application/problem+json`)."
    ),
)
"""What ``/openapi.json`` says about the app (``docs/openapi.json`` is its copy)."""

logger = logging.getLogger(__name__)


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without their per-request set-up cost.

    Flask builds a new signing serializer for every request, even one that
    carries no session cookie (every API call): about a tenth of an
    authenticated request's time. A request without the cookie gets an empty
    session at once; one with it is read exactly as Flask reads it.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        # The raw header first: parsing cookies (``request.cookies``) costs as much
        # again, and a name that is not in the header is not a cookie of it.
        raw = request.environ.get("HTTP_COOKIE", "")
        name = self.get_cookie_name(app)
        if app.secret_key and (name not in raw or not request.cookies.get(name)):
            return self.session_class()
        return super().open_session(app, request)


def create_app(settings: Settings | None = None, **overrides: Any) -> Flask:
    """The WSGI app: settings, core, adapter, flight search and live updates, wired once.

    ``settings`` wins; otherwise they are read from every layer, ``overrides`` (by field name)
    winning over all. gunicorn and the tests call this; ``flight_app.wsgi`` holds the app it makes.
    """
    settings = settings or load_settings(**overrides)
    configure_logging(settings)
    components = build_components(settings, trace_id_provider=current_trace_id)
    app = Flask("flight_app", instance_path=str(settings.instance_path))
    app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
    app.session_interface = _CookieSessions()
    app.extensions[EXTENSION_KEY] = components
    live = build_live(settings, components.audit)
    install_live(app, live)
    follow_session_events(settings, components.kit)
    install_flights(app, build_flight_search(settings))
    checks = app.extensions[READINESS_KEY] = readiness_checks(settings)
    AuthKit(
        app,
        components.kit,
        readiness_checks=checks,
        trusted_proxies=settings.trusted_proxies,
        max_content_length=settings.max_content_length,
        access_log=access_log_sink(settings),
        metrics_mode=settings.metrics,
        metrics_token=(
            settings.metrics_token.get_secret_value() if settings.metrics_token else None
        ),
        log_sources=log_sources(settings),
        live_updates=live.updates,
        openapi=OPENAPI_INFO,
    )
    install_pages(app)  # the search page at /; authkit's pages come with AuthKit
    return app


def get_components(app: Flask) -> Components:
    """The ``Components`` that ``create_app`` built for ``app``."""
    components = app.extensions[EXTENSION_KEY]
    assert isinstance(components, Components)
    return components


def close_app(app: Flask) -> list[str]:
    """Release what ``create_app`` opened, for shutdown hooks (gunicorn's ``worker_exit``).

    The live-update threads, the flight search's connection pool, then the core: its
    audit file, rate-limit storage and database engine. Each step runs even if an
    earlier one failed; the names of those that failed are returned (and logged).
    """
    failed: list[str] = []
    steps: tuple[tuple[str, Callable[[Flask], None]], ...] = (
        ("live updates", shutdown_live),
        ("flight search", shutdown_flights),
        ("readiness checks", lambda a: close_checks(a.extensions.get(READINESS_KEY, {}))),
        ("core", lambda a: get_components(a).close()),
    )
    for name, close in steps:
        try:
            close(app)
        except Exception:
            logger.exception("closing the %s failed", name)
            failed.append(name)
    return failed


__all__ = ["OPENAPI_INFO", "close_app", "create_app", "get_components"]
