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
from authkit_flask._blueprints.auth import client_address
from authkit_flask._decorators import current_principal, login_required
from authkit_flask._metrics import record_auth_failure
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


def _accepted() -> tuple[Response, int]:
    response = jsonify(ACCEPTED)
    response.headers["Cache-Control"] = "no-store"
    return response, 202


@account_blueprint.post("/email/verify/request")
@login_required
def request_verification() -> tuple[Response, int]:
    account_service().request_verification(user=current_principal().user, address=client_address())
    return _accepted()


@account_blueprint.post("/email/verify")
def verify_email() -> Response:
    body = parse_body(request, ActionTokenBody)
    result = _redeem(
        lambda: account_service().verify_email(token=body.token, address=client_address())
    )
    return result if isinstance(result, Response) else _user_response(result)


@account_blueprint.post("/password/forgot")
def forgot_password() -> tuple[Response, int]:
    body = parse_body(request, EmailBody)
    account_service().forgot_password(email=body.email, address=client_address())
    return _accepted()


@account_blueprint.post("/password/reset")
def reset_password() -> Response | tuple[str, int]:
    body = parse_body(request, PasswordResetBody)
    result = _redeem(
        lambda: account_service().reset_password(
            token=body.token, new_password=body.new_password, address=client_address()
        )
    )
    return result if isinstance(result, Response) else ("", 204)


@account_blueprint.post("/email/change")
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
def confirm_email_change() -> Response:
    body = parse_body(request, ActionTokenBody)
    result = _redeem(
        lambda: account_service().confirm_email_change(token=body.token, address=client_address())
    )
    return result if isinstance(result, Response) else _user_response(result)


@account_blueprint.delete("/me")
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
