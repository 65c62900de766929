"""The authenticated request's one query: user, roles and session liveness together.

Every bearer request needs the user's current record (active? roles?) and whether
its session (refresh family, claim ``sid``) is still live. Three SQLAlchemy Core
statements built per call cost about 60 % of a request (statement construction,
cache-key generation, three executions). Here one statement, compiled once
(``compiled_read``: autocommit on PostgreSQL, ``CompiledSelect`` elsewhere),
answers all three. The answer is always the database's
current one — a deactivation or revocation committed by any worker or host is
seen by the next request — at the cost of one primary-key lookup.

The statement selects every column of ``authkit_users`` (``select(users, ...)``):
a column added to the table is selected with no change here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, exists, or_, select

from authkit.storage.sql._autocommit import compiled_read
from authkit.storage.sql._rows import user_from_row
from authkit.storage.sql._tables import refresh_tokens, user_roles, users
from authkit.users._model import User

_t = refresh_tokens.c
_FAMILY_LIVE = exists(
    select(_t.jti).where(
        and_(
            _t.family_id == bindparam("family_id"),
            _t.revoked_at.is_(None),
            _t.family_expires_at > bindparam("now", type_=_t.family_expires_at.type),
        )
    )
).label("authkit_family_live")
_ROLE = user_roles.c.role.label("authkit_role")
_WITH_ROLES = users.outerjoin(user_roles, user_roles.c.user_id == users.c.id)

SESSION_USER = (
    select(users, _ROLE, _FAMILY_LIVE)
    .select_from(_WITH_ROLES)
    .where(users.c.id == bindparam("user_id"))
    .order_by(user_roles.c.role)
)
"""The user, one row per role (roles ordered), and whether the family is live."""

USER_BY_ID = (
    select(users, _ROLE)
    .select_from(_WITH_ROLES)
    .where(users.c.id == bindparam("user_id"))
    .order_by(user_roles.c.role)
)
"""The user of id ``user_id``, one row per role (roles ordered)."""

USER_BY_LOGIN = (
    select(users, _ROLE)
    .select_from(_WITH_ROLES)
    .where(
        or_(
            users.c.username_canonical == bindparam("login"),
            users.c.email_canonical == bindparam("login"),
        )
    )
    .order_by(users.c.id, user_roles.c.role)
)
"""The user whose canonical username or email is ``login``, one row per role."""


def user_from_rows(rows: list[dict[str, Any]]) -> User | None:
    """The first user of ``rows`` (one per role, ``authkit_role`` null when none)."""
    if not rows:
        return None
    first = rows[0]
    roles = tuple(
        row["authkit_role"]
        for row in rows
        if row["id"] == first["id"] and row["authkit_role"] is not None
    )
    return user_from_row(first, roles)


class SqlSessionUsers:
    """``load(user_id, family_id, now)`` in one statement compiled once per engine."""

    def __init__(self, engine: Engine) -> None:
        # In autocommit on PostgreSQL (psycopg): the bearer check is one round
        # trip after the pool's ping, no BEGIN and COMMIT around its SELECT.
        self._select = compiled_read(engine, SESSION_USER)

    def load(
        self, user_id: str, family_id: str | None, *, now: datetime
    ) -> tuple[User | None, bool]:
        """The user (None if absent) and whether ``family_id`` is a live session."""
        rows = self._select.rows(user_id=user_id, family_id=family_id or "", now=now)
        user = user_from_rows(rows)
        live = bool(rows) and bool(rows[0]["authkit_family_live"]) and bool(family_id)
        return user, live


__all__ = ["SESSION_USER", "USER_BY_ID", "USER_BY_LOGIN", "SqlSessionUsers", "user_from_rows"]
