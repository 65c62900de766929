"""The admin user endpoints: ``/auth/users`` listing, detail, edit and bulk changes.

Every route needs the ``admin`` role. Query strings and bodies are parsed with
pydantic at the edge (422 ``validation_error`` with ``loc``/``msg``); every
decision (last admin, revocation, audit) is the core ``AdminService``'s.

Query parameters: an empty value (``?q=&role=``, as an HTML form sends) counts
as absent; an unknown parameter is ignored; of a repeated one the first counts.
Bodies of ``PATCH`` and bulk refuse unknown members, so a field that cannot be
changed here (``email``, say) is a 422 rather than a silent no-op.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Request, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, ValidationError

from authkit import AdminService
from authkit.errors import ValidationFailed
from authkit.roles import ADMIN
from authkit.users import DEFAULT_PAGE_SIZE, MAX_BULK_IDS, MAX_PAGE_SIZE, UserQuery
from authkit.users._query import MAX_QUERY_CHARS, MAX_ROLES, ROLE_PATTERN
from authkit_flask._api_models import BulkResultOut, UserOut, UserPageOut
from authkit_flask._blueprints.auth import client_address
from authkit_flask._decorators import current_principal, roles_required
from authkit_flask._openapi import api_operation
from authkit_flask._responses import user_json
from authkit_flask._schemas import parse_body
from authkit_flask._state import get_state

admin_users_blueprint = Blueprint("authkit_admin_users", __name__, url_prefix="/auth/users")


class UserListParams(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    q: str | None = Field(default=None, max_length=MAX_QUERY_CHARS)
    page: int = Field(default=1, ge=1)
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    is_active: bool | None = None
    role: str | None = Field(default=None, pattern=f"^{ROLE_PATTERN.pattern}$")
    # Checked by the core (400 for anything that is not a cursor it issued).
    cursor: str | None = Field(
        default=None,
        description=(
            "`meta.next_cursor` of the previous page, with the same `q`, `is_active` "
            "and `role`: the next page, at the cost of one page however deep. "
            "Replaces `page`."
        ),
    )


class UserPatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    is_active: StrictBool | None = None
    # The core checks each role and the distinct count; this bounds the input.
    roles: list[StrictStr] | None = Field(default=None, max_length=5 * MAX_ROLES)


class BulkBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: Literal["activate", "deactivate"]
    ids: list[StrictStr] = Field(min_length=1, max_length=MAX_BULK_IDS)


def parse_query(req: Request) -> UserListParams:
    values = {key: value for key, value in req.args.items() if value != ""}
    try:
        return UserListParams.model_validate(values)
    except ValidationError as exc:
        raise ValidationFailed(
            [{"loc": ["query", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        ) from exc


def admin_service() -> AdminService:
    return get_state().kit.admin


_TAGS = ("admin",)
_USER_LINKS = {
    200: {
        "get_user": {
            "operationId": "get_user",
            "parameters": {"user_id": "$response.body#/id"},
        }
    }
}


@admin_users_blueprint.get("")
@api_operation(
    "GET",
    summary="List and search users (admin)",
    tags=_TAGS,
    auth="admin",
    query=UserListParams,
    responses={200: UserPageOut},
    errors=(400,),  # a cursor this listing did not issue, or sent with other filters
    operation_id="list_users",
)
@roles_required(ADMIN)
def list_users() -> Response:
    params = parse_query(request)
    if params.cursor is not None and params.page != 1:
        raise ValidationFailed(
            [{"loc": ["query", "page"], "msg": "page cannot be combined with cursor."}]
        )
    page = admin_service().list_users(UserQuery(**params.model_dump()))
    body: dict[str, Any] = {
        "items": [user_json(user) for user in page.items],
        "meta": {
            "page": page.page,
            "page_size": page.page_size,
            "total": page.total,
            "pages": page.pages,
            "total_exact": page.total_exact,
            "next_cursor": page.next_cursor,
        },
    }
    return jsonify(body)


@admin_users_blueprint.get("/<user_id>")
@api_operation(
    "GET",
    summary="One user (admin)",
    tags=_TAGS,
    auth="admin",
    responses={200: UserOut},
    operation_id="get_user",
)
@roles_required(ADMIN)
def get_user(user_id: str) -> Response:
    return jsonify(user_json(admin_service().get_user(user_id)))


@admin_users_blueprint.patch("/<user_id>")
@api_operation(
    "PATCH",
    summary="Activate, deactivate or change the roles of a user (admin)",
    description=(
        "Deactivating revokes the user's sessions. 409 `conflict` for a change "
        "that would leave no active admin."
    ),
    tags=_TAGS,
    auth="admin",
    body=UserPatchBody,
    responses={200: UserOut},
    errors=(409,),
    operation_id="update_user",
    links=_USER_LINKS,
)
@roles_required(ADMIN)
def update_user(user_id: str) -> Response:
    body = parse_body(request, UserPatchBody)
    user = admin_service().update_user(
        actor=current_principal().user,
        user_id=user_id,
        is_active=body.is_active,
        roles=body.roles,
        address=client_address(),
    )
    return jsonify(user_json(user))


@admin_users_blueprint.delete("/<user_id>/mfa")
@api_operation(
    "DELETE",
    summary="Reset another user's TOTP and end its sessions (admin)",
    description=(
        "409 `conflict` when the account has no TOTP; 403 `forbidden` "
        "(`reason: own_account`) for the caller's own account."
    ),
    tags=_TAGS,
    auth="admin",
    responses={200: UserOut},
    errors=(409,),
    operation_id="reset_user_mfa",
)
@roles_required(ADMIN)
def reset_mfa(user_id: str) -> Response:
    """Switch another account's TOTP off and end its sessions (lost authenticator)."""
    user = admin_service().reset_mfa(
        actor=current_principal().user, user_id=user_id, address=client_address()
    )
    return jsonify(user_json(user))


@admin_users_blueprint.delete("/<user_id>")
@api_operation(
    "DELETE",
    summary="Delete an account and everything under it (admin)",
    description=(
        "As `DELETE /auth/me` does, without a password; a notice goes to its email. "
        '409 `conflict` with `reason: "last_admin"` for the last active admin.'
    ),
    tags=_TAGS,
    auth="admin",
    responses={204: "The account is deleted."},
    errors=(409,),
    operation_id="delete_user",
)
@roles_required(ADMIN)
def delete_user(user_id: str) -> tuple[str, int]:
    """Delete an account and everything under it; the last active admin cannot go."""
    get_state().kit.account.admin_delete(
        actor=current_principal().user, user_id=user_id, address=client_address()
    )
    return "", 204


@admin_users_blueprint.post("/bulk")
@api_operation(
    "POST",
    summary="Activate or deactivate up to 1,000 users at once (admin)",
    tags=_TAGS,
    auth="admin",
    body=BulkBody,
    responses={200: BulkResultOut},
    errors=(409,),
    operation_id="bulk_users",
)
@roles_required(ADMIN)
def bulk() -> Response:
    body = parse_body(request, BulkBody)
    result = admin_service().bulk(
        actor=current_principal().user,
        action=body.action,
        ids=body.ids,
        address=client_address(),
    )
    return jsonify(
        {
            "action": body.action,
            "requested": result.requested,
            "updated": list(result.updated),
            "unchanged": list(result.unchanged),
            "not_found": list(result.not_found),
        }
    )


__all__ = ["BulkBody", "UserListParams", "UserPatchBody", "admin_users_blueprint", "parse_query"]
