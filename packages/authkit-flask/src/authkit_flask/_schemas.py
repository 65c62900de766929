"""Request bodies, validated with pydantic at the edge.

Field errors become 422 ``validation_error`` with ``loc``/``msg`` only: pydantic's
``input`` member is dropped so a password never echoes back.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from flask import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authkit.errors import InvalidRequest, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

_MAX_SECRET = 1024
_MAX_TOKEN = 8192  # AccessTokenConfig.max_token_bytes


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


_EXAMPLE_PASSWORD = "violet-harbour-7-lanterns"  # noqa: S105 - the documented example
"""The OpenAPI examples' password: one every preset policy accepts, so the example
requests of the document (and schemathesis' examples phase) really succeed."""


class RegisterBody(_Body):
    username: str = Field(min_length=1, max_length=256, examples=["traveller"])
    email: str = Field(min_length=1, max_length=320, examples=["traveller@example.com"])
    password: str = Field(min_length=1, max_length=_MAX_SECRET, examples=[_EXAMPLE_PASSWORD])


class LoginBody(_Body):
    username: str = Field(min_length=1, max_length=320, examples=["traveller"])
    password: str = Field(min_length=1, max_length=_MAX_SECRET, examples=[_EXAMPLE_PASSWORD])
    otp: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=64)


class RefreshBody(_Body):
    # As long as an access token may be: presenting one here must answer 401
    # invalid_token (the core refuses it), not 422 for its length.
    refresh_token: str = Field(min_length=1, max_length=_MAX_TOKEN)


class PasswordBody(_Body):
    """Re-authentication before a change of authentication factor (TOTP setup)."""

    password: str = Field(min_length=1, max_length=_MAX_SECRET)


class OtpBody(_Body):
    otp: str = Field(min_length=1, max_length=16)


class SecondFactorBody(_Body):
    otp: str | None = Field(default=None, min_length=1, max_length=16)
    recovery_code: str | None = Field(default=None, min_length=1, max_length=64)


class PasswordChangeBody(_Body):
    current_password: str = Field(min_length=1, max_length=_MAX_SECRET)
    new_password: str = Field(min_length=1, max_length=_MAX_SECRET)


class EmailBody(_Body):
    """Forgot password: the address as typed (counted by the throttle, known or not)."""

    email: str = Field(min_length=1, max_length=320)


class ActionTokenBody(_Body):
    """An emailed link's token, read by the page from the URL fragment."""

    # The core answers 400 invalid_token for anything that is not a live token;
    # this bound only keeps a huge body from being hashed.
    token: str = Field(min_length=1, max_length=_MAX_SECRET)


class PasswordResetBody(ActionTokenBody):
    new_password: str = Field(min_length=1, max_length=_MAX_SECRET)


class EmailChangeBody(_Body):
    password: str = Field(min_length=1, max_length=_MAX_SECRET)
    new_email: str = Field(min_length=1, max_length=320)


def decode_json(raw: bytes | str) -> Any:
    """Decode JSON text, or raise ``InvalidRequest`` for anything the parser cannot take.

    Malformed text and invalid UTF-8 raise ``ValueError``; nesting deeper than the
    interpreter's recursion limit (about 1,000 ``[`` in a row) raises
    ``RecursionError``, which must be a 400 like any other unparseable body, not a
    500 with a traceback in the log.
    """
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # ValueError includes UnicodeDecodeError
        # from None: a RecursionError's thousand-frame traceback helps nobody.
        raise InvalidRequest("The request body is not valid JSON.") from None


def parse_body(request: Request, model: type[Model]) -> Model:
    """Parse a JSON object body into ``model`` or raise a typed error."""
    if not request.is_json:
        raise InvalidRequest("The request body must be JSON (Content-Type: application/json).")
    data = decode_json(request.get_data(cache=True))
    if not isinstance(data, dict):
        raise ValidationFailed([{"loc": ["body"], "msg": "The body must be a JSON object."}])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(
            [{"loc": ["body", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        ) from exc


__all__ = [
    "ActionTokenBody",
    "EmailBody",
    "EmailChangeBody",
    "LoginBody",
    "OtpBody",
    "PasswordBody",
    "PasswordChangeBody",
    "PasswordResetBody",
    "RefreshBody",
    "RegisterBody",
    "SecondFactorBody",
    "decode_json",
    "parse_body",
]
