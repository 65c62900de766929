"""Prometheus metrics, correct across gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``flight-app serve`` sets and wipes it before
gunicorn forks), every worker writes its samples to that folder and a scrape of
any worker aggregates all of them; without it, the process registry is used.
The active-user gauge is read from the store at scrape time and reported with
``mostrecent``, so whichever worker answers sets the figure.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Callable
from typing import Any, Literal

from flask import Blueprint, Response, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
    multiprocess,
)

from authkit.mail import KINDS as MAIL_KINDS
from authkit_flask._openapi import ApiResponse, api_operation
from authkit_flask._problem import problem

MetricsMode = Literal["off", "public", "token"]

REQUESTS = Counter(
    "authkit_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
AUTH_FAILURES = Counter(
    "authkit_auth_failures_total", "Refused authentication attempts by reason.", ["reason"]
)
MAIL_SENT = Counter(
    "authkit_mail_sent_total", "Account mail handed to the mail server or outbox.", ["kind"]
)
MAIL_FAILURES = Counter(
    "authkit_mail_failures_total",
    "Account mail that could not be prepared, queued or delivered.",
    ["kind"],
)
for _kind in (*MAIL_KINDS, "other"):
    # Every series exists from the start (at 0), so a rate() alert has a baseline.
    MAIL_SENT.labels(kind=_kind)
    MAIL_FAILURES.labels(kind=_kind)
ACTIVE_USERS = Gauge(
    "authkit_active_users", "Accounts that are active.", multiprocess_mode="mostrecent"
)

AUTH_FAILURE_CODES = frozenset(
    {
        "invalid_credentials",
        "account_disabled",
        "mfa_required",
        "invalid_otp",
        "invalid_token",
        "token_reused",
        "too_many_attempts",
        "forbidden",
    }
)

METRICS_CONFIG_KEY = "authkit_metrics"


HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods counted under their own name; any other is counted as ``OTHER``."""

_request_series: dict[tuple[str, str | None, int], Any] = {}


def record_request(method: str, route: str | None, status: int) -> None:
    """Count one answered request in ``authkit_requests_total{method,route,status}``.

    The labelled child is looked up once per (method, route, status) and kept:
    ``Counter.labels`` validates and joins its arguments on every call. The keys
    are bounded: unmatched paths share one label value, and a method outside
    ``HTTP_METHODS`` counts as ``OTHER``, so probes cannot blow up cardinality.
    """
    if method not in HTTP_METHODS:
        method = "OTHER"
    key = (method, route, status)
    series = _request_series.get(key)
    if series is None:
        series = REQUESTS.labels(method=method, route=route or "<unmatched>", status=str(status))
        if len(_request_series) < _MAX_SERIES:
            _request_series[key] = series
    series.inc()


_MAX_SERIES = 10_000  # a bound on the memo's memory, whatever methods clients send


def record_auth_failure(code: str) -> None:
    if code in AUTH_FAILURE_CODES:
        AUTH_FAILURES.labels(reason=code).inc()


def _mail_kind(kind: str) -> str:
    # A closed label set: an app's own kinds share one value (bounded cardinality).
    return kind if kind in MAIL_KINDS else "other"


def record_mail_sent(kind: str) -> None:
    """Count a sent mail in ``authkit_mail_sent_total{kind}``.

    The ``on_sent`` hook of `authkit.mail.MailDispatcher` (``on_mail_sent`` of
    ``authkit.build``).
    """
    MAIL_SENT.labels(kind=_mail_kind(kind)).inc()


def record_mail_failure(kind: str, error: BaseException) -> None:
    """Count a failed mail in ``authkit_mail_failures_total{kind}``.

    The ``on_failure`` hook of `authkit.mail.MailDispatcher` (``on_mail_failure``
    of ``authkit.build``).

    The dispatcher has already logged the failure (without address or link); this only
    counts it, so an alert can fire on the rate of failed mail.
    """
    del error  # the kind is the label; the error's class would add cardinality
    MAIL_FAILURES.labels(kind=_mail_kind(kind)).inc()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return registry
    return REGISTRY


def metrics_blueprint(
    *,
    mode: MetricsMode,
    token: str | None,
    active_users: Callable[[], int] | None,
) -> Blueprint:
    """``GET /metrics``: 404 when off, public, or behind a static bearer token."""
    if mode == "token" and not token:
        raise ValueError("metrics mode 'token' needs a metrics token")
    blueprint = Blueprint("authkit_metrics", __name__)

    @blueprint.get("/metrics")
    @api_operation(
        "GET",
        summary="Prometheus metrics",
        description=(
            "404 when metrics are off; in `token` mode the metrics token is needed (401)."
        ),
        tags=("operations",),
        auth="metrics",
        responses={
            200: ApiResponse(
                description="Prometheus text exposition.",
                media_type="text/plain",
                schema={"type": "string"},
            )
        },
        errors=(404,),
        operation_id="metrics",
    )
    def metrics() -> Response:
        if mode == "off":
            return problem("not_found", "The requested URL was not found.", status=404)
        if mode == "token":
            scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
            expected = (token or "").encode()
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                presented.strip().encode(), expected
            ):
                return problem(
                    "invalid_token",
                    "A valid metrics token is required.",
                    status=401,
                )
        if active_users is not None:
            try:
                ACTIVE_USERS.set(active_users())
            except Exception:  # the store being down must not break the scrape
                current_app.logger.warning("active user count unavailable")
        # ``content_type``, not ``mimetype``: Flask appends ``; charset=utf-8`` to a
        # text mimetype, and CONTENT_TYPE_LATEST already carries it.
        return Response(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)

    return blueprint


__all__ = [
    "ACTIVE_USERS",
    "AUTH_FAILURES",
    "MAIL_FAILURES",
    "MAIL_SENT",
    "REQUESTS",
    "MetricsMode",
    "metrics_blueprint",
    "record_auth_failure",
    "record_mail_failure",
    "record_mail_sent",
    "record_request",
]
