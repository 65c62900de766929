"""The ``/auth`` endpoints of the HTTP contract."""

from __future__ import annotations

from typing import Final

from flask import Blueprint, Response, jsonify, request

from authkit import TokenPair
from authkit.tokens import MAX_DEVICE_TOKEN_CHARS
from authkit_flask._api_models import TokenPairOut, UserOut
from authkit_flask._decorators import current_principal, enrolment_allowed, login_required
from authkit_flask._openapi import api_operation
from authkit_flask._responses import token_response, user_json
from authkit_flask._schemas import (
    LoginBody,
    PasswordChangeBody,
    RefreshBody,
    RegisterBody,
    parse_body,
)
from authkit_flask._state import get_state

auth_blueprint = Blueprint("authkit_auth", __name__, url_prefix="/auth")

DEVICE_TOKEN_HEADER: Final = "X-Device-Token"  # noqa: S105 - a header name
DEVICE_COOKIE: Final = "authkit_device"
LOGIN_PATH: Final = "/auth/login"


def client_address() -> str:
    """The caller's address; ProxyFix has already applied trusted proxy hops."""
    return request.remote_addr or "unknown"


_TAGS = ("auth",)
_SIGN_IN_LINKS = {
    200: {
        "me": {
            "operationId": "me",
            "parameters": {"header.Authorization": "Bearer {$response.body#/access_token}"},
            "description": "Who signed in, with this answer's access token.",
        },
        "refresh": {
            "operationId": "refresh",
            "requestBody": {"refresh_token": "$response.body#/refresh_token"},
            "description": "Rotate the refresh token of this sign-in.",
        },
        "logout": {
            "operationId": "logout",
            "requestBody": {"refresh_token": "$response.body#/refresh_token"},
            "description": "End this sign-in.",
        },
    }
}


@auth_blueprint.post("/register")
@api_operation(
    "POST",
    summary="Register an account",
    description=(
        "422 `weak_password` lists every broken password rule at once; 429 after "
        "too many registrations from one client address."
    ),
    tags=_TAGS,
    body=RegisterBody,
    responses={201: UserOut},
    errors=(403, 409, 429),
    operation_id="register",
    links={
        201: {
            "login": {
                "operationId": "login",
                "requestBody": {
                    "username": "$request.body#/username",
                    "password": "$request.body#/password",
                },
                "description": "Sign in to the account just made.",
            }
        }
    },
)
def register() -> tuple[Response, int]:
    body = parse_body(request, RegisterBody)
    user = get_state().kit.auth.register(
        username=body.username,
        email=body.email,
        password=body.password,
        address=client_address(),
    )
    return jsonify(user_json(user)), 201


def device_token() -> str | None:
    """The device token the client presents, if any.

    ``X-Device-Token`` (JSON clients), else the ``authkit_device`` cookie
    (browsers); anything too long to be one is none.
    """
    token = request.headers.get(DEVICE_TOKEN_HEADER) or request.cookies.get(DEVICE_COOKIE)
    return token if token and len(token) <= MAX_DEVICE_TOKEN_CHARS else None


def set_device_cookie(response: Response, pair: TokenPair, *, path: str = LOGIN_PATH) -> None:
    """Hand a browser its fresh device token in a cookie.

    HttpOnly (no script reads it), SameSite=Strict, Secure on HTTPS, sent back
    to the sign-in endpoint ``path`` only.
    """
    if pair.device_token is None:
        return
    response.set_cookie(
        DEVICE_COOKIE,
        pair.device_token,
        max_age=pair.device_token_expires_in,
        path=path,
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )


def sign_in() -> TokenPair:
    """Sign in with the request's ``LoginBody`` and device token.

    One flow for the JSON endpoint and the browser one, which differ only in how
    they answer.
    """
    body = parse_body(request, LoginBody)
    return get_state().kit.auth.login(
        identifier=body.username,
        password=body.password,
        address=client_address(),
        otp=body.otp,
        recovery_code=body.recovery_code,
        device_token=device_token(),
    )


@auth_blueprint.post("/login")
@api_operation(
    "POST",
    summary="Sign in",
    description=(
        "`username` may be the email. 401 `invalid_credentials` is the same for an "
        "unknown user and a wrong password; 401 `mfa_required` / `invalid_otp` for "
        "accounts with MFA; 403 `account_disabled` only after a correct password, and "
        "403 `email_unverified` (also only after one) while a required email "
        "verification is pending; "
        "429 `too_many_attempts` with `Retry-After`. The `X-Device-Token` header "
        "(or the device cookie) spends a known device's own sign-in budget."
    ),
    tags=_TAGS,
    body=LoginBody,
    responses={200: TokenPairOut},
    errors=(401, 403, 429),
    operation_id="login",
    links=_SIGN_IN_LINKS,
)
def login() -> Response:
    """Sign in; a device token (header or cookie) spends its device's own budget."""
    pair = sign_in()
    response = token_response(pair)
    set_device_cookie(response, pair)
    return response


@auth_blueprint.post("/refresh")
@api_operation(
    "POST",
    summary="Rotate a refresh token",
    description=(
        "Single use: 401 `token_reused` for a token already rotated, and that "
        "sign-in's whole family is revoked."
    ),
    tags=_TAGS,
    body=RefreshBody,
    responses={200: TokenPairOut},
    errors=(401,),
    operation_id="refresh",
    links=_SIGN_IN_LINKS,
)
def refresh() -> Response:
    body = parse_body(request, RefreshBody)
    pair = get_state().kit.auth.refresh(refresh_token=body.refresh_token, address=client_address())
    return token_response(pair)


@auth_blueprint.post("/logout")
@api_operation(
    "POST",
    summary="Sign out: revoke a refresh token's family",
    tags=_TAGS,
    body=RefreshBody,
    responses={204: "The sign-in is ended."},
    errors=(401,),
    operation_id="logout",
)
def logout() -> tuple[str, int]:
    body = parse_body(request, RefreshBody)
    get_state().kit.auth.logout(refresh_token=body.refresh_token, address=client_address())
    return "", 204


@auth_blueprint.post("/logout-all")
@api_operation(
    "POST",
    summary="Sign out everywhere: revoke every refresh token of the caller",
    tags=_TAGS,
    auth="enrolment",
    responses={204: "Every sign-in of the account is ended."},
    operation_id="logout_all",
)
@enrolment_allowed
def logout_all() -> tuple[str, int]:
    get_state().kit.auth.logout_all(user=current_principal().user, address=client_address())
    return "", 204


@auth_blueprint.get("/me")
@api_operation(
    "GET",
    summary="The caller's user object",
    tags=_TAGS,
    auth="enrolment",
    responses={200: UserOut},
    operation_id="me",
)
@enrolment_allowed
def me() -> Response:
    return jsonify(user_json(current_principal().user))


@auth_blueprint.post("/password")
@api_operation(
    "POST",
    summary="Change the caller's password",
    description="Re-authenticates with `current_password`; other sign-ins are revoked.",
    tags=_TAGS,
    auth="bearer",
    body=PasswordChangeBody,
    responses={204: "Changed; other sign-ins are revoked."},
    errors=(429,),
    operation_id="change_password",
)
@login_required
def change_password() -> tuple[str, int]:
    body = parse_body(request, PasswordChangeBody)
    get_state().kit.auth.change_password(
        principal=current_principal(),
        current_password=body.current_password,
        new_password=body.new_password,
        address=client_address(),
    )
    return "", 204


__all__ = [
    "DEVICE_COOKIE",
    "DEVICE_TOKEN_HEADER",
    "LOGIN_PATH",
    "auth_blueprint",
    "client_address",
    "device_token",
    "set_device_cookie",
    "sign_in",
]
