"""Turning ``authkit_users`` rows into ``User`` records (shared by the SQL stores)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from authkit.clock import utc
from authkit.storage.sql._tables import user_roles
from authkit.users._model import User


def load_roles(conn: Connection, user_ids: Iterable[str]) -> dict[str, tuple[str, ...]]:
    ids = list(user_ids)
    found: dict[str, list[str]] = {uid: [] for uid in ids}
    rows = conn.execute(
        select(user_roles.c.user_id, user_roles.c.role)
        .where(user_roles.c.user_id.in_(ids))
        .order_by(user_roles.c.role)
    )
    for uid, role in rows:
        found[uid].append(role)
    return {uid: tuple(r) for uid, r in found.items()}


def user_from_row(row: Any, roles: tuple[str, ...]) -> User:
    return User(
        id=row["id"],
        username=row["username"],
        email=row["email"],
        roles=roles,
        is_active=bool(row["is_active"]),
        mfa_enabled=bool(row["mfa_enabled"]),
        created_at=utc(row["created_at"]),
        last_login_at=utc(row["last_login_at"]) if row["last_login_at"] else None,
        password_hash=row["password_hash"],
        password_changed_at=(
            utc(row["password_changed_at"]) if row["password_changed_at"] else None
        ),
        email_verified=bool(row["email_verified"]),
        email_verified_at=utc(row["email_verified_at"]) if row["email_verified_at"] else None,
    )


def hydrate_users(conn: Connection, rows: Sequence[Any]) -> list[User]:
    """Users from ``authkit_users`` rows, their roles loaded in one query (no N+1)."""
    roles = load_roles(conn, [row["id"] for row in rows])
    return [user_from_row(row, roles[row["id"]]) for row in rows]


__all__ = ["hydrate_users", "load_roles", "user_from_row"]
