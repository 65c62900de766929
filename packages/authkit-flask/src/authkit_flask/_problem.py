"""RFC 9457 problem details: the one table from error codes to HTTP statuses."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Response, json, request

from authkit import AuthkitError
from authkit.errors import ValidationFailed
from authkit_flask._request_context import current_trace_id

logger = logging.getLogger("authkit_flask.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
"""The media type of RFC 9457 problem details."""

STATUS_BY_CODE: Mapping[str, int] = {
    "invalid_request": 400,
    "validation_error": 422,
    "weak_password": 422,
    "conflict": 409,
    "registration_closed": 403,
    "invalid_credentials": 401,
    "account_disabled": 403,
    "email_unverified": 403,
    "mfa_required": 401,
    "mfa_enrolment_required": 403,
    "invalid_otp": 401,
    "invalid_token": 401,
    "token_reused": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "too_many_attempts": 429,
    "service_unavailable": 503,
    "mail_delivery_failed": 503,
    "internal_error": 500,
    # Server-side misconfiguration: the client did nothing wrong.
    "authkit_error": 500,
    "configuration_error": 500,
    "keyring_error": 500,
}
"""The HTTP status of each ``AuthkitError`` code: the one table an adapter translates with."""

TITLE_BY_STATUS: Mapping[int, str] = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def problem(
    code: str,
    detail: str,
    *,
    status: int | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem details response for ``code``.

    The status comes from ``STATUS_BY_CODE`` unless given; ``extra`` members join the body, which
    always carries ``type``, ``title``, ``status``, ``detail``, ``code`` and the request's
    ``trace_id``.
    """
    status = status or STATUS_BY_CODE.get(code, 500)
    body: dict[str, Any] = {
        "type": f"urn:authkit:error:{code}",
        "title": TITLE_BY_STATUS.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
        "trace_id": current_trace_id(),
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401 and code in {"invalid_token", "token_reused"}:
        response.headers.setdefault("WWW-Authenticate", 'Bearer error="invalid_token"')
    if code == "too_many_attempts" and "retry_after" in body:
        response.headers["Retry-After"] = str(body["retry_after"])
    return response


_LOCATIONS = frozenset({"body", "query", "path", "header"})


def located_errors(errors: list[dict[str, Any]], location: str) -> list[dict[str, Any]]:
    """Field errors with ``location`` (``body``, ``query``) put in front of each ``loc``.

    The core names fields only (``["username"]``): where a field came from is the
    adapter's knowledge. A ``loc`` that already starts with a location is kept.
    """
    located = []
    for error in errors:
        loc = list(error.get("loc", []))
        if not loc or loc[0] not in _LOCATIONS:
            loc = [location, *loc]
        located.append({**error, "loc": loc})
    return located


def problem_from_error(error: AuthkitError) -> Response:
    """The problem details response for an error of the core.

    A server-side fault (an unmapped code) is logged with its message, and the client gets a generic
    one, without paths or settings.
    """
    status = STATUS_BY_CODE.get(error.code, 500)
    if status >= 500 and error.code != "service_unavailable":
        # A server-side fault (a bad key ring file, say): the operator gets the
        # message in the log, the client a generic one without paths or settings.
        logger.error("server-side error", extra={"code": error.code, "detail": error.message})
        return problem(error.code, "An internal error occurred.", status=status)
    extra = dict(error.extra)
    if isinstance(error, ValidationFailed):
        location = "query" if request.method in ("GET", "HEAD") else "body"
        extra["errors"] = located_errors(error.errors, location)
    return problem(error.code, error.message, extra=extra)


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "STATUS_BY_CODE",
    "located_errors",
    "problem",
    "problem_from_error",
]
