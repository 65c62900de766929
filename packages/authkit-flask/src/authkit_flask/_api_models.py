"""Response models of the HTTP contract, for the OpenAPI document.

Their docstrings become the schemas' descriptions in ``/openapi.json`` and the
docs page rendered from it, so they are written in Markdown (single backticks).

The JSON answers are written by small renderers (``user_json``, ``token_response``
and the views); these pydantic models describe them for ``/openapi.json``. Models
of fixed objects forbid extra members (``additionalProperties: false``), so a
member added to a renderer without its model fails the schemathesis run and the
response tests, instead of drifting out of the document. Problem details stay
open: RFC 9457 lets a problem carry extension members.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldError(BaseModel):
    """One field's problem.

    `loc`/`msg` for validation, `code`/`message` (and the rule's parameters) for
    each broken password rule of `weak_password`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    # Each present or absent, never null.
    loc: list[str | int] | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    msg: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    code: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
    message: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)


class Problem(BaseModel):
    """RFC 9457 problem details, `application/problem+json`.

    `type` is `urn:authkit:error:<code>`; `errors` lists field errors of 422
    answers; `retry_after` (whole seconds, also the `Retry-After` header) comes
    with 429 `too_many_attempts` and 503 answers. Other extension members may
    appear (a `reason` on 409 `conflict`, say).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(pattern=r"^urn:authkit:error:[a-z_]+$")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str
    trace_id: str | None
    # Present or absent, never null.
    errors: list[FieldError] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )
    retry_after: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra=_no_default
    )


class UserOut(_Closed):
    """A user object: never a hash, secret or token."""

    id: str
    username: str
    email: str
    email_verified: bool
    roles: list[str]
    is_active: bool
    mfa_enabled: bool
    created_at: AwareDatetime
    last_login_at: AwareDatetime | None


class TokenPairOut(_Closed):
    """The token pair; a sign-in's answer adds `device_token` for the next sign-in."""

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    # Absent, never null, on a refresh: no ``default: null`` in the schema either.
    device_token: str | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)


class BrowserSessionOut(_Closed):
    """A browser sign-in or refresh: the access token for page memory.

    The refresh token went into the `HttpOnly` cookie, never into this body.
    """

    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int
    refresh_expires_in: int
    user: UserOut
    mfa_enrolment_required: bool


class AcceptedOut(_Closed):
    """Accepted: the work (a mail, say) happens after the answer.

    The one body of every 202 of the account endpoints; it says nothing about
    whether an account exists.
    """

    status: Literal["accepted"]


class PageMeta(_Closed):
    """Where a page sits: its number, size, and the totals of the whole listing."""

    page: int | None = Field(
        ge=1, description="The page number; null for a page asked for by `cursor`."
    )
    page_size: int = Field(ge=1)
    total: int = Field(ge=0)
    pages: int = Field(ge=0)
    total_exact: bool = Field(
        description="False when `total` (and so `pages`) is an estimate of a large result."
    )
    next_cursor: str | None = Field(
        description=(
            "Pass as `cursor` (with the same filters) for the next page; "
            "null when no match follows this page."
        )
    )


class UserPageOut(_Closed):
    """A page of users matching the query, and where it sits."""

    items: list[UserOut]
    meta: PageMeta


class BulkResultOut(_Closed):
    """Which of the requested ids changed, were already so, or are no user."""

    action: Literal["activate", "deactivate"]
    requested: int = Field(ge=0)
    updated: list[str]
    unchanged: list[str]
    not_found: list[str]


class LogMeta(_Closed):
    """The log read, the limit asked for and how many events came back."""

    source: str
    limit: int = Field(ge=1)
    returned: int = Field(ge=0)


class LogsOut(_Closed):
    """Log events, oldest first; a line that is not JSON is `{raw, parse_error: true}`."""

    items: list[dict[str, Any]]
    meta: LogMeta


class LiveOut(_Closed):
    """The process answers."""

    status: Literal["ok"]


class ReadyOut(_Closed):
    """`status` `ok` (200) or `unavailable` (503), with each check's result."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "timeout", "unavailable"]]


class Jwk(BaseModel):
    """A public JWK (RFC 7517).

    The key type's own members (`n`, `e`, `crv`, `x`, `y`) come with it.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    kty: str
    kid: str
    alg: str
    use: Literal["sig"]


class JwksOut(_Closed):
    """The public keys of every active and verify-only asymmetric key (RFC 7517)."""

    keys: list[Jwk]


class TotpSetupOut(_Closed):
    """The new TOTP secret, also as an `otpauth://` URI for an authenticator app."""

    secret: str
    otpauth_uri: str = Field(pattern=r"^otpauth://")


class RecoveryCodesOut(_Closed):
    """TOTP is on; ten single-use recovery codes, shown this once."""

    recovery_codes: list[str]


class QrSvgOut(_Closed):
    """The QR code as a standalone SVG document."""

    svg: str


__all__ = [
    "AcceptedOut",
    "BrowserSessionOut",
    "BulkResultOut",
    "FieldError",
    "JwksOut",
    "LiveOut",
    "LogsOut",
    "Problem",
    "QrSvgOut",
    "ReadyOut",
    "RecoveryCodesOut",
    "TokenPairOut",
    "TotpSetupOut",
    "UserOut",
    "UserPageOut",
]
