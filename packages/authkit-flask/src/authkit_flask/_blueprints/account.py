"""Account recovery and email endpoints: verification, password reset, email change, deletion.

Every decision is the core ``AccountService``'s. The three endpoints that take an
emailed link's token answer a bad link with 400 ``invalid_token`` (API.md), not
the 401 a bad *access* token gets: the caller is not unauthenticated, the link
is dead. The pages that read the token from the URL fragment (``#token=``) and
post it here are the adapter's ``/reset-password``, ``/verify-email`` and
``/confirm-email``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Blueprint, Response, jsonify, request

from authkit import AccountService, User
from authkit.errors import InvalidToken
from authkit_flask._api_models import AcceptedOut, UserOut
from authkit_flask._blueprints.auth import client_address
from authkit_flask._decorators import current_principal, login_required
from authkit_flask._metrics import record_auth_failure
from authkit_flask._openapi import ApiResponse, api_operation
from authkit_flask._problem import problem
from authkit_flask._responses import user_json
from authkit_flask._schemas import (
    ActionTokenBody,
    EmailBody,
    EmailChangeBody,
    PasswordBody,
    PasswordResetBody,
    parse_body,
)
from authkit_flask._state import get_state

account_blueprint = Blueprint("authkit_account", __name__, url_prefix="/auth")

ACCEPTED = {"status": "accepted"}
"""The one body of every 202 here: it says nothing about whether an account exists."""

T = TypeVar("T")


def account_service() -> AccountService:
    return get_state().kit.account


def _redeem(action: Callable[[], T]) -> T | Response:
    """Run a link's redemption; a dead link is 400 ``invalid_token``."""
    try:
        return action()
    except InvalidToken as exc:
        record_auth_failure(exc.code)
        return problem(exc.code, "The link is invalid, used or expired.", status=400)


_TAGS = ("account",)
_NO_STORE = {"Cache-Control": "`no-store`."}
_ACCEPTED_RESPONSE = ApiResponse(
    description='Accepted: `{"status": "accepted"}`.',
    model=AcceptedOut,
    headers=_NO_STORE,
)
_DEAD_LINK = (
    "400 `invalid_token` (no `WWW-Authenticate`: the caller is not unauthenticated, "
    "the link is dead) for an unknown, used or expired link"
)


def _accepted() -> tuple[Response, int]:
    response = jsonify(ACCEPTED)
    response.headers["Cache-Control"] = "no-store"
    return response, 202


@account_blueprint.post("/email/verify/request")
@api_operation(
    "POST",
    summary="Mail a fresh verification link to the caller's email",
    description=(
        "None goes when the email is already verified; the older link dies. "
        "429 `too_many_attempts` after the account's mail budget (5 an hour by default)."
    ),
    tags=_TAGS,
    auth="bearer",
    responses={202: _ACCEPTED_RESPONSE},
    errors=(429,),
    operation_id="request_email_verification",
)
@login_required
def request_verification() -> tuple[Response, int]:
    account_service().request_verification(user=current_principal().user, address=client_address())
    return _accepted()


@account_blueprint.post("/email/verify")
@api_operation(
    "POST",
    summary="Verify the email with an emailed link's token",
    description=_DEAD_LINK + ", or one sent to an email the account no longer has.",
    tags=_TAGS,
    body=ActionTokenBody,
    responses={
        200: ApiResponse(
            description="The user object, `email_verified: true`.",
            model=UserOut,
            headers=_NO_STORE,
        )
    },
    errors=(400,),
    operation_id="verify_email",
)
def verify_email() -> Response:
    body = parse_body(request, ActionTokenBody)
    result = _redeem(
        lambda: account_service().verify_email(token=body.token, address=client_address())
    )
    return result if isinstance(result, Response) else _user_response(result)


@account_blueprint.post("/password/forgot")
@api_operation(
    "POST",
    summary="Ask for a password reset link",
    description=(
        "The same answer, headers and timing whether or not the account exists; the "
        "link goes, later, to a known active account whose email is this one. 429 "
        "`too_many_attempts` per client address and per email as typed, known or not."
    ),
    tags=_TAGS,
    body=EmailBody,
    responses={202: _ACCEPTED_RESPONSE},
    errors=(429,),
    operation_id="forgot_password",
)
def forgot_password() -> tuple[Response, int]:
    body = parse_body(request, EmailBody)
    account_service().forgot_password(email=body.email, address=client_address())
    return _accepted()


@account_blueprint.post("/password/reset")
@api_operation(
    "POST",
    summary="Set a new password with an emailed reset link",
    description=(
        _DEAD_LINK + ", or one made before the password or the email last changed. "
        "422 `weak_password` leaves the link usable. Every session of the account ends."
    ),
    tags=_TAGS,
    body=PasswordResetBody,
    responses={204: "The password is set; every session of the account is revoked."},
    errors=(400,),
    operation_id="reset_password",
)
def reset_password() -> Response | tuple[str, int]:
    body = parse_body(request, PasswordResetBody)
    result = _redeem(
        lambda: account_service().reset_password(
            token=body.token, new_password=body.new_password, address=client_address()
        )
    )
    return result if isinstance(result, Response) else ("", 204)


@account_blueprint.post("/email/change")
@api_operation(
    "POST",
    summary="Start changing the caller's email (re-authenticates with the password)",
    description=(
        "A confirmation link goes to the new address, a notice to the old one; the "
        "email is unchanged until confirmed. 401 `invalid_credentials` for a wrong "
        "password (throttled like a sign-in: 429); 409 `conflict` when the address is "
        "taken or already the account's; 429 also when the account's mail budget is "
        "spent (every request with the right password spends it, a 409 too)."
    ),
    tags=_TAGS,
    auth="bearer",
    body=EmailChangeBody,
    responses={202: _ACCEPTED_RESPONSE},
    errors=(409, 429),
    operation_id="request_email_change",
)
@login_required
def request_email_change() -> tuple[Response, int]:
    body = parse_body(request, EmailChangeBody)
    account_service().request_email_change(
        user=current_principal().user,
        password=body.password,
        new_email=body.new_email,
        address=client_address(),
    )
    return _accepted()


@account_blueprint.post("/email/change/confirm")
@api_operation(
    "POST",
    summary="Confirm an email change with the link mailed to the new address",
    description=(
        _DEAD_LINK + ", or when the email or the password changed since; 409 "
        "`conflict` when the address was taken meanwhile (the link is spent)."
    ),
    tags=_TAGS,
    body=ActionTokenBody,
    responses={
        200: ApiResponse(
            description="The user object with the new email, `email_verified: true`.",
            model=UserOut,
            headers=_NO_STORE,
        )
    },
    errors=(400, 409),
    operation_id="confirm_email_change",
)
def confirm_email_change() -> Response:
    body = parse_body(request, ActionTokenBody)
    result = _redeem(
        lambda: account_service().confirm_email_change(token=body.token, address=client_address())
    )
    return result if isinstance(result, Response) else _user_response(result)


@account_blueprint.delete("/me")
@api_operation(
    "DELETE",
    summary="Delete the caller's account (re-authenticates with the password)",
    description=(
        "The account, its roles, sessions, TOTP secret, recovery codes and pending "
        "links go; a notice goes to its email. 401 `invalid_credentials` for a wrong "
        "password (throttled like a sign-in: 429); 409 `conflict` with `reason: "
        '"last_admin"` for the last active admin; 404 `not_found` if the account was '
        "deleted meanwhile by another request."
    ),
    tags=_TAGS,
    auth="bearer",
    body=PasswordBody,
    responses={204: "The account is deleted."},
    errors=(404, 409, 429),
    operation_id="delete_me",
)
@login_required
def delete_me() -> tuple[str, int]:
    body = parse_body(request, PasswordBody)
    account_service().delete_account(
        user=current_principal().user, password=body.password, address=client_address()
    )
    return "", 204


def _user_response(user: User) -> Response:
    response = jsonify(user_json(user))
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["ACCEPTED", "account_blueprint"]
