"""``login_required`` and ``roles_required``: bearer-token guards for views.

Typed with ``ParamSpec`` so decorated views keep their signatures for mypy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from flask import request

from authkit import Principal
from authkit.errors import Forbidden, InvalidToken
from authkit_flask._state import get_state, request_state

P = ParamSpec("P")
R = TypeVar("R")


def current_principal() -> Principal:
    """The authenticated caller; only valid inside a guarded view."""
    principal = request_state().principal
    if principal is None:
        raise InvalidToken()
    return principal


def _authenticate(*, allow_mfa_enrolment: bool = False) -> Principal:
    header = request.environ.get("HTTP_AUTHORIZATION", "")  # as request.headers, minus its cost
    scheme, _, token = header.partition(" ")
    state = request_state()
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 §3.1: a request without credentials gets a challenge with no error code.
        state.credentials_missing = True
        raise InvalidToken("A bearer access token is required.")
    principal = get_state().kit.auth.authenticate_access_token(
        token.strip(), allow_mfa_enrolment=allow_mfa_enrolment
    )
    state.principal = principal
    return principal


def login_required(view: Callable[P, R]) -> Callable[P, R]:
    """Require a valid access token (``Authorization: Bearer``) for the view.

    Without one the answer is 401 ``invalid_token`` with a ``WWW-Authenticate`` challenge; an
    account that must still enrol MFA gets 403 ``mfa_enrolment_required``. Inside the view,
    ``current_principal()`` is the caller.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _authenticate()
        return view(*args, **kwargs)

    return wrapper


def enrolment_allowed(view: Callable[P, R]) -> Callable[P, R]:
    """Like ``login_required``, but also open to accounts that must still enrol MFA.

    For the enrolment endpoints themselves (and ``/auth/me``): an account whose
    role requires a second factor gets tokens that work only here until it enrols.
    """

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        _authenticate(allow_mfa_enrolment=True)
        return view(*args, **kwargs)

    return wrapper


def roles_required(*roles: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Require a valid token and every one of ``roles`` (from the user's current record)."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            principal = _authenticate()
            if not set(roles) <= set(principal.user.roles):
                raise Forbidden()
            return view(*args, **kwargs)

        return wrapper

    return decorator


__all__ = ["current_principal", "enrolment_allowed", "login_required", "roles_required"]
