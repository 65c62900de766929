"""Browser sessions: the refresh token in an HttpOnly cookie, the access token in page memory.

OAuth 2.0 for Browser-Based Apps (draft-ietf-oauth-browser-based-apps, the
"token-mediating backend" shape without a separate backend): a script that an
attacker injects into a page must not be able to take a long-lived credential
away with it. So the refresh token never reaches page scripts: it is set by the
server as an ``HttpOnly`` cookie, ``SameSite=Strict``, ``Secure`` on HTTPS, with
``Path`` set to ``/auth/browser/session`` so the browser sends it only to the
refresh and logout endpoints below (never to the API, never to the pages). The
short-lived access token is handed to the page in the JSON body and kept in a
JavaScript variable only, never in web storage.

* ``POST /auth/browser/login`` — the ``/auth/login`` body; answers the access
  token (no refresh token in the body) and sets the cookie, and, like
  ``/auth/login``, reads and renews the device cookie (scoped to this path) that
  spends a known device's own sign-in budget.
* ``POST /auth/browser/session/refresh`` — rotates the cookie's refresh token
  exactly as ``/auth/refresh`` does (single use, reuse detection revokes the
  family) and answers a fresh access token; 204 when no cookie was sent (no
  session: an anonymous page load is not an error).
* ``POST /auth/browser/session/logout`` — revokes the cookie's family and clears
  the cookie; 204 whatever the cookie held, so signing out always works.
* ``POST /auth/browser/totp-qr`` — renders an ``otpauth://`` URI as an SVG QR
  code on the server, for the account page (no client-side QR library).

CSRF: a cross-site page cannot make the browser send the cookie at all
(``SameSite=Strict``); on top of that every endpoint here requires the custom
header ``X-Authkit-CSRF: 1``. A cross-origin page can only add a custom header
through CORS, whose preflight this server never approves, and an HTML form
cannot add one (OWASP CSRF Prevention Cheat Sheet, "custom request headers").
A ``Sec-Fetch-Site`` header other than ``same-origin`` or ``none`` is refused
too (Fetch Metadata), which also stops sibling subdomains that count as
"same-site" for the cookie. Login is guarded the same way (login CSRF).
"""

from __future__ import annotations

import contextlib
import io
from typing import Any, Final

import segno
from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from authkit import TokenPair
from authkit.errors import Forbidden, InvalidToken, ValidationFailed
from authkit_flask._api_models import BrowserSessionOut, QrSvgOut
from authkit_flask._blueprints.auth import client_address, set_device_cookie, sign_in
from authkit_flask._browser_config import BrowserSessionConfig
from authkit_flask._decorators import enrolment_allowed
from authkit_flask._openapi import api_operation
from authkit_flask._responses import user_json
from authkit_flask._schemas import LoginBody, parse_body
from authkit_flask._state import get_state

BROWSER_PREFIX: Final = "/auth/browser"
SESSION_COOKIE_PATH: Final = f"{BROWSER_PREFIX}/session"
LOGIN_PATH: Final = f"{BROWSER_PREFIX}/login"
CSRF_HEADER: Final = "X-Authkit-CSRF"
"""The header every cookie-authenticated request must carry; a cross-site form cannot set it."""
CSRF_VALUE: Final = "1"
_SAFE_FETCH_SITES: Final = frozenset({"same-origin", "none"})
_MAX_OTPAUTH_URI: Final = 1024


class _QrBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    # The view refuses other schemes with its own message; the document says so.
    otpauth_uri: str = Field(
        min_length=1, max_length=_MAX_OTPAUTH_URI, json_schema_extra={"pattern": "^otpauth://"}
    )


browser_blueprint = Blueprint("authkit_browser", __name__, url_prefix=BROWSER_PREFIX)


def _config() -> BrowserSessionConfig:
    config = get_state().browser
    assert config is not None, "the browser blueprint is registered only with a config"
    return config


@browser_blueprint.before_request
def require_csrf_header() -> None:
    """Refuse anything a cross-site page could have sent (see the module docstring).

    For sign-in and the cookie's endpoints; ``/totp-qr`` takes a bearer token,
    which a cross-site page does not have.
    """
    if request.endpoint == "authkit_browser.totp_qr":
        return
    if request.headers.get(CSRF_HEADER) != CSRF_VALUE:
        raise Forbidden(f"Browser session requests need the {CSRF_HEADER}: 1 header.")
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in _SAFE_FETCH_SITES:
        raise Forbidden("Cross-site requests are refused.")


@browser_blueprint.after_request
def no_store(response: Response) -> Response:
    """Keep every answer here out of caches, and drop the cookie on a 401.

    Every answer carries a token or ends a session: never cached, and a 401
    from the session endpoints also drops the cookie the browser holds.
    """
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    if response.status_code == 401 and request.path.startswith(SESSION_COOKIE_PATH):
        _clear_cookie(response)
    return response


_TAGS = ("browser",)


@browser_blueprint.post("/login")
@api_operation(
    "POST",
    summary="Browser sign-in: the access token in the body, the refresh token in a cookie",
    description="The `/auth/login` body and errors; sets the `HttpOnly` refresh cookie.",
    tags=_TAGS,
    body=LoginBody,
    csrf=True,
    responses={200: BrowserSessionOut},
    errors=(401, 429),
    operation_id="browser_login",
)
def login() -> Response:
    """Sign in as ``/auth/login`` does, a device cookie included (its own path)."""
    pair = sign_in()
    response = _session_response(pair)
    set_device_cookie(response, pair, path=LOGIN_PATH)
    return response


@browser_blueprint.post("/session/refresh")
@api_operation(
    "POST",
    summary="Browser session refresh: rotates the cookie, answers a fresh access token",
    tags=_TAGS,
    auth="refresh_cookie",
    csrf=True,
    responses={200: BrowserSessionOut, 204: "No session cookie was sent: no session."},
    operation_id="browser_refresh",
)
def refresh() -> Response:
    token = request.cookies.get(_config().cookie_name)
    if not token:
        return Response(status=204)
    pair = get_state().kit.auth.refresh(refresh_token=token, address=client_address())
    return _session_response(pair)


@browser_blueprint.post("/session/logout")
@api_operation(
    "POST",
    summary="Browser sign-out: revokes the cookie's sign-in and clears the cookie",
    tags=_TAGS,
    auth="refresh_cookie",
    csrf=True,
    responses={204: "Signed out (whatever the cookie held)."},
    operation_id="browser_logout",
)
def logout() -> Response:
    token = request.cookies.get(_config().cookie_name)
    if token:
        # Unknown, expired or already revoked: nothing left to end, and the
        # cookie is cleared below either way.
        with contextlib.suppress(InvalidToken):
            get_state().kit.auth.logout(refresh_token=token, address=client_address())
    response = Response(status=204)
    _clear_cookie(response)
    return response


@browser_blueprint.post("/totp-qr")
@api_operation(
    "POST",
    summary="An otpauth:// URI as an SVG QR code, for the account page",
    tags=_TAGS,
    auth="enrolment",
    body=_QrBody,
    responses={200: QrSvgOut},
    operation_id="totp_qr",
)
@enrolment_allowed
def totp_qr() -> Response:
    """The QR code of an ``otpauth://`` URI as SVG markup, drawn on the server.

    Bearer-authenticated (enrolment-only tokens too, as for the enrolment
    endpoints) and limited to ``otpauth://`` URIs, so it is no open QR service.
    """
    body = parse_body(request, _QrBody)
    if not body.otpauth_uri.startswith("otpauth://"):
        raise ValidationFailed(
            [{"loc": ["otpauth_uri"], "msg": "Only otpauth:// URIs are rendered."}]
        )
    code = segno.make(body.otpauth_uri, error="m", micro=False)
    out = io.BytesIO()
    # A standalone document (with its namespace), so an <img> can show it as a data: URI.
    code.save(out, kind="svg", scale=5, border=4, dark="#000", light="#fff", xmldecl=False)
    return jsonify({"svg": out.getvalue().decode("ascii")})


def _session_response(pair: TokenPair) -> Response:
    """The access token for the page, the refresh token for the cookie only."""
    state = get_state()
    body: dict[str, Any] = {
        "access_token": pair.access_token,
        "token_type": "Bearer",
        "expires_in": pair.expires_in,
        "refresh_expires_in": pair.refresh_expires_in,
        "user": user_json(pair.user),
        "mfa_enrolment_required": state.kit.auth.needs_mfa_enrolment(pair.user),
    }
    response = jsonify(body)
    response.set_cookie(
        _config().cookie_name,
        pair.refresh_token,
        max_age=max(pair.refresh_expires_in, 0),
        path=SESSION_COOKIE_PATH,
        secure=_secure(),
        httponly=True,
        samesite="Strict",
    )
    return response


def _clear_cookie(response: Response) -> None:
    response.delete_cookie(
        _config().cookie_name,
        path=SESSION_COOKIE_PATH,
        secure=_secure(),
        httponly=True,
        samesite="Strict",
    )


def _secure() -> bool:
    configured = _config().secure
    return request.is_secure if configured is None else configured


__all__ = [
    "BROWSER_PREFIX",
    "CSRF_HEADER",
    "SESSION_COOKIE_PATH",
    "browser_blueprint",
]
