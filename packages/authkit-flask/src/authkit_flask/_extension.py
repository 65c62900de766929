"""The ``AuthKit`` Flask extension: wires the core's ``AuthService`` into an app.

Usage:

    kit = authkit.build(AuthkitConfig(...), audit="auth.jsonl")
    AuthKit(app, kit)

It registers the contract's blueprints, problem+json error handlers, the request
id / trace id hooks, security headers and an access log line per request. State
lives in ``app.extensions["authkit"]``; registering twice is an error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from authkit import Authkit, AuthkitError
from authkit.audit import LineWriter
from authkit_flask._access_log import ACCESS_LOGGER, AccessLineSink
from authkit_flask._blueprints import (
    auth_blueprint,
    health_blueprint,
    jwks_blueprint,
    mfa_blueprint,
)
from authkit_flask._blueprints.account import account_blueprint
from authkit_flask._blueprints.admin_logs import admin_logs_blueprint
from authkit_flask._blueprints.admin_users import admin_users_blueprint
from authkit_flask._blueprints.admin_ws import register_admin_ws
from authkit_flask._browser import browser_blueprint
from authkit_flask._browser_config import BrowserSessionConfig
from authkit_flask._live import LiveUpdates
from authkit_flask._metrics import (
    MetricsMode,
    metrics_blueprint,
    record_auth_failure,
    record_request,
)
from authkit_flask._openapi import OpenApiInfo, openapi_blueprint
from authkit_flask._pages import pages_blueprint
from authkit_flask._problem import problem, problem_from_error
from authkit_flask._request_context import (
    bind_trace_id,
    current_trace_id,
    reset_trace_id,
    resolve_ids,
)
from authkit_flask._state import (
    EXTENSION_KEY,
    REQUEST_IDS_KEY,
    AuthKitState,
    ReadinessCheck,
    request_state,
    state_of,
)

access_logger = logging.getLogger(ACCESS_LOGGER)
error_logger = logging.getLogger("authkit_flask.errors")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
HSTS = "max-age=31536000; includeSubDomains"
"""One year (RFC 6797); only ever sent on a request that arrived over HTTPS."""
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
"""The ``Content-Security-Policy`` of HTML pages: everything from this origin only, no inline
script, no framing.
"""


class AuthKit:
    """Wires an ``authkit.Authkit`` (from ``authkit.build``) into a Flask app.

    Either ``AuthKit(app, kit, ...)`` or ``AuthKit()`` then ``init_app(app, kit,
    ...)``; both take the same typed arguments. State goes in
    ``app.extensions["authkit"]``, never on this object, so one extension object
    may serve several apps.

    ``readiness_checks`` are added to the built-in ones (``database``, and
    ``ratelimit`` when the limits are not counted in process). ``trusted_proxies``
    is the number of proxy hops whose ``X-Forwarded-For`` / ``-Proto`` are believed.
    ``log_sources`` (name to JSONL path) enables ``/admin/logs``; ``live_updates``
    enables ``/admin/ws``. ``browser_sessions`` (on by default; a
    ``BrowserSessionConfig`` to name the cookie, ``False`` to turn off) adds
    ``/auth/browser/*``, the cookie-held sessions of the pages; ``pages`` (on by
    default, needs browser sessions) adds ``/login``, ``/register``, ``/account``
    and ``/admin``, and ``pages_home`` is where they send a user after sign-in.
    ``openapi`` (on by default; an ``OpenApiInfo`` to give the title, version and
    description, ``False`` to turn off) serves ``GET /openapi.json``, the OpenAPI 3.1
    document of every route documented with ``api_operation`` (the app's too).
    """

    def __init__(
        self,
        app: Flask | None = None,
        kit: Authkit | None = None,
        *,
        readiness_checks: Mapping[str, ReadinessCheck] | None = None,
        trusted_proxies: int = 0,
        max_content_length: int = 1024 * 1024,
        content_security_policy: str = DEFAULT_CSP,
        metrics_mode: MetricsMode = "public",
        metrics_token: str | None = None,
        log_sources: Mapping[str, Path] | None = None,
        live_updates: LiveUpdates | None = None,
        browser_sessions: BrowserSessionConfig | bool = True,
        pages: bool = True,
        pages_home: str = "/",
        openapi: OpenApiInfo | bool = True,
        access_log: AccessLineSink | LineWriter | None = None,
    ) -> None:
        if app is None:
            return
        if kit is None:
            raise TypeError("AuthKit(app, kit): an app needs the built authkit core.")
        self.init_app(
            app,
            kit,
            readiness_checks=readiness_checks,
            trusted_proxies=trusted_proxies,
            max_content_length=max_content_length,
            content_security_policy=content_security_policy,
            metrics_mode=metrics_mode,
            metrics_token=metrics_token,
            log_sources=log_sources,
            live_updates=live_updates,
            browser_sessions=browser_sessions,
            pages=pages,
            pages_home=pages_home,
            openapi=openapi,
            access_log=access_log,
        )

    def init_app(
        self,
        app: Flask,
        kit: Authkit,
        *,
        readiness_checks: Mapping[str, ReadinessCheck] | None = None,
        trusted_proxies: int = 0,
        max_content_length: int = 1024 * 1024,
        content_security_policy: str = DEFAULT_CSP,
        metrics_mode: MetricsMode = "public",
        metrics_token: str | None = None,
        log_sources: Mapping[str, Path] | None = None,
        live_updates: LiveUpdates | None = None,
        browser_sessions: BrowserSessionConfig | bool = True,
        pages: bool = True,
        pages_home: str = "/",
        openapi: OpenApiInfo | bool = True,
        access_log: AccessLineSink | LineWriter | None = None,
    ) -> None:
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError("AuthKit is already registered on this app.")
        browser = _browser_config(browser_sessions)
        if pages and browser is None:
            raise ValueError("pages=True needs browser_sessions: the pages sign in through them.")
        if not pages_home.startswith("/") or pages_home.startswith("//"):
            raise ValueError("pages_home must be a path on this site, like '/'.")
        app.extensions[EXTENSION_KEY] = AuthKitState(
            kit=kit,
            readiness_checks={**default_readiness_checks(kit), **(readiness_checks or {})},
            log_sources=dict(log_sources or {}),
            live=live_updates,
            browser=browser,
            pages_home=pages_home,
        )
        app.config["MAX_CONTENT_LENGTH"] = max_content_length
        if trusted_proxies > 0:
            app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
                app.wsgi_app, x_for=trusted_proxies, x_proto=trusted_proxies
            )
        for blueprint in (
            auth_blueprint,
            account_blueprint,
            health_blueprint,
            jwks_blueprint,
            admin_users_blueprint,
            mfa_blueprint,
        ):
            app.register_blueprint(blueprint)
        if browser is not None:
            app.register_blueprint(browser_blueprint)
        if pages:
            app.register_blueprint(pages_blueprint)
        if log_sources:
            app.register_blueprint(admin_logs_blueprint)
        if live_updates is not None:
            register_admin_ws(app, live_updates)
        app.register_blueprint(
            metrics_blueprint(
                mode=metrics_mode, token=metrics_token, active_users=kit.stores.users.count_active
            )
        )
        info = _openapi_info(openapi, kit)
        if info is not None:
            cookie = (
                browser.cookie_name if browser is not None else BrowserSessionConfig().cookie_name
            )
            app.register_blueprint(openapi_blueprint(info, cookie))
        app.register_error_handler(AuthkitError, _handle_authkit_error)
        app.register_error_handler(HTTPException, _handle_http_exception)
        app.register_error_handler(Exception, _handle_unexpected)
        sink = (
            access_log
            if access_log is None or isinstance(access_log, AccessLineSink)
            else AccessLineSink(access_log)
        )
        app.after_request(_finish_response(content_security_policy, sink))
        app.wsgi_app = _RequestIds(app.wsgi_app)  # type: ignore[method-assign]


def _browser_config(option: BrowserSessionConfig | bool) -> BrowserSessionConfig | None:
    if isinstance(option, BrowserSessionConfig):
        return option
    return BrowserSessionConfig() if option else None


def _openapi_info(option: OpenApiInfo | bool, kit: Authkit) -> OpenApiInfo | None:
    if isinstance(option, OpenApiInfo):
        return option
    if not option:
        return None
    try:
        version = package_version("authkit-flask")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        version = "0.0.0"
    return OpenApiInfo(title=kit.config.service_name, version=version)


def default_readiness_checks(kit: Authkit) -> dict[str, ReadinessCheck]:
    """The database always; the rate-limit storage when it is shared (not ``memory://``)."""
    checks: dict[str, ReadinessCheck] = {"database": kit.stores.ping}
    if not kit.throttle.in_process:

        def ratelimit() -> None:
            if not kit.throttle.ping():
                raise ConnectionError("rate-limit storage did not answer")

        checks["ratelimit"] = ratelimit
    return checks


class _RequestIds:
    """WSGI middleware: the request id and trace id, bound around the whole request.

    Outside Flask's hooks so the ids cost no ``before_request``/``teardown``
    dispatch, and every log line of the request carries the trace id, whichever
    layer writes it. An incoming ``X-Request-ID`` or ``traceparent`` is read
    straight from the environ (``request.headers`` would build and discard a
    werkzeug exception for each one absent, the usual case).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request_id, trace_id = resolve_ids(
            environ.get("HTTP_X_REQUEST_ID"), environ.get("HTTP_TRACEPARENT")
        )
        environ[REQUEST_IDS_KEY] = (request_id, time.perf_counter())
        token = bind_trace_id(trace_id)
        try:
            return self.app(environ, start_response)
        finally:
            reset_trace_id(token)


def _finish_response(csp: str, sink: AccessLineSink | None) -> Any:
    def after(response: Response) -> Response:
        # The request object once: every ``request.x`` goes through a context lookup.
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        state = state_of(environ)
        headers = response.headers
        # One pass over the (few) headers the view set, then plain adds: werkzeug's
        # ``setdefault`` and ``in`` build and discard an exception per missing name.
        present = set()
        content_type = ""
        for name, value in headers:
            lowered = name.lower()
            present.add(lowered)
            if lowered == "content-type":
                content_type = value
        for name, value in (
            ("X-Request-ID", state.request_id),
            ("X-Content-Type-Options", "nosniff"),
        ):
            if name.lower() in present:
                headers[name] = value
            else:
                headers.add(name, value)
        defaults = [("Referrer-Policy", "no-referrer")]
        if content_type.partition(";")[0].strip().lower() == "text/html":
            defaults += [("Content-Security-Policy", csp), ("X-Frame-Options", "DENY")]
        if state.principal is not None or state.credentials_missing:
            # An answer to an authenticated request is that user's: no shared cache
            # (proxy or browser) may keep it (API.md: personal data is no-store).
            defaults.append(("Cache-Control", "no-store"))
        if environ.get("wsgi.url_scheme") in ("https", "wss"):
            # HTTPS directly, or per X-Forwarded-Proto from a trusted proxy (ProxyFix).
            defaults.append(("Strict-Transport-Security", HSTS))
        for name, value in defaults:
            if name.lower() not in present:
                headers.add(name, value)
        rule = req.url_rule
        route = rule.rule if rule is not None else None
        status = response.status_code
        method = environ.get("REQUEST_METHOD", "GET")
        record_request(method, route, status)
        if access_logger.isEnabledFor(logging.INFO):
            started = state.started
            duration = round((time.perf_counter() - started) * 1000, 2) if started else None
            if sink is not None:
                sink.write(
                    trace_id=current_trace_id(),
                    method=method,
                    path=req.path,
                    route=route,
                    status=status,
                    duration_ms=duration,
                )
            else:
                _access_line(method, route, status, duration)
        return response

    return after


def _access_line(method: str, route: str | None, status: int, duration: float | None) -> None:
    """One structured access line through ``logging``, without ``Logger.info``'s overhead.

    ``Logger.info`` walks the stack to find the caller (``findCaller``) on every
    call; the record is built directly instead and handed to the same handlers,
    filters and formatter, so the line (and its ``trace_id``, stamped by
    ``TraceIdFilter``) is unchanged.
    """
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        0,
        "request",
        (),
        None,
        extra={
            "method": method,
            "path": request.path,
            "route": route,
            "status": status,
            "duration_ms": duration,
        },
    )
    access_logger.handle(record)


def _handle_authkit_error(error: AuthkitError) -> Response:
    record_auth_failure(error.code)
    response = problem_from_error(error)
    if request_state().credentials_missing:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _handle_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    code = _HTTP_CODES.get(status, "invalid_request" if 400 <= status < 500 else "internal_error")
    response = problem(code, error.description or "", status=status)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def _handle_unexpected(error: Exception) -> Response:
    error_logger.exception("unhandled error", extra={"error": type(error).__name__})
    return problem("internal_error", "An internal error occurred.", status=500)


__all__ = ["DEFAULT_CSP", "AuthKit", "default_readiness_checks"]
