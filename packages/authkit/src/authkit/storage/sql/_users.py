"""SQLAlchemy implementations of the stores (SQLite embedded, PostgreSQL scaled out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from authkit.errors import Conflict
from authkit.storage.sql._autocommit import compiled_read
from authkit.storage.sql._engine import read_only
from authkit.storage.sql._session_users import USER_BY_ID, USER_BY_LOGIN, user_from_rows
from authkit.storage.sql._tables import (
    action_tokens,
    recovery_codes,
    refresh_tokens,
    user_roles,
    users,
)
from authkit.storage.sql._user_admin import SqlUserAdmin, keep_an_admin, serialise_changes
from authkit.users._model import NewUser, User, canonical
from authkit.users._unicode import (
    confusable_email_conflict,
    needs_confusable_check,
    skeleton_digest,
)


class SqlUserStore(SqlUserAdmin):
    """Users in the SQL database (SQLite, PostgreSQL), with the admin listing."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        # Sign-in's lookup, compiled once: user and roles in one statement, in
        # autocommit on PostgreSQL (one round trip, no BEGIN and COMMIT).
        self._by_login = compiled_read(engine, USER_BY_LOGIN)
        # Refresh reads its user twice: the same, by id.
        self._by_id = compiled_read(engine, USER_BY_ID)

    def create(self, new: NewUser) -> User:
        row = {
            "id": new.id,
            "username": new.username,
            "username_canonical": canonical(new.username),
            "email": new.email,
            "email_canonical": canonical(new.email),
            "email_skeleton": skeleton_digest(new.email),
            "password_hash": new.password_hash,
            "is_active": new.is_active,
            "mfa_enabled": False,
            "created_at": new.created_at,
        }
        try:
            with self._engine.begin() as conn:
                taken = conn.execute(
                    select(users.c.id).where(
                        or_(
                            users.c.username_canonical.in_(
                                [row["username_canonical"], row["email_canonical"]]
                            ),
                            users.c.email_canonical.in_(
                                [row["username_canonical"], row["email_canonical"]]
                            ),
                        )
                    )
                ).first()
                if taken is not None:
                    raise Conflict("The username or email is already registered.")
                if (
                    needs_confusable_check(new.email)
                    and conn.execute(
                        select(users.c.id).where(users.c.email_skeleton == row["email_skeleton"])
                    ).first()
                ):
                    raise confusable_email_conflict()
                conn.execute(insert(users).values(**row))
                if new.roles:
                    conn.execute(
                        insert(user_roles), [{"user_id": new.id, "role": r} for r in new.roles]
                    )
        except IntegrityError as exc:
            raise Conflict("The username or email is already registered.") from exc
        user = self.get(new.id)
        assert user is not None
        return user

    def get(self, user_id: str) -> User | None:
        return user_from_rows(self._by_id.rows(user_id=user_id))

    def find_by_login(self, identifier: str) -> User | None:
        return user_from_rows(self._by_login.rows(login=canonical(identifier)))

    def record_login(self, user_id: str, *, at: datetime, new_hash: str | None = None) -> None:
        values: dict[str, Any] = {"last_login_at": at}
        if new_hash is not None:
            values["password_hash"] = new_hash
        with self._engine.begin() as conn:
            conn.execute(update(users).where(users.c.id == user_id).values(**values))

    def set_password(self, user_id: str, password_hash: str, *, at: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=password_hash, password_changed_at=at)
            )

    def mark_email_verified(self, user_id: str, *, email: str, at: datetime) -> User | None:
        with self._engine.begin() as conn:
            done = conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.email_canonical == canonical(email)))
                .values(email_verified=True, email_verified_at=at)
            )
            return self._load(conn, user_id) if done.rowcount == 1 else None

    def change_email(
        self, user_id: str, *, old_email: str, new_email: str, at: datetime
    ) -> User | None:
        key = canonical(new_email)
        try:
            with self._engine.begin() as conn:
                taken = conn.execute(
                    select(users.c.id).where(
                        users.c.id != user_id,
                        or_(users.c.username_canonical == key, users.c.email_canonical == key),
                    )
                ).first()
                if taken is not None:
                    raise Conflict("The username or email is already registered.")
                digest = skeleton_digest(new_email)
                if (
                    needs_confusable_check(new_email)
                    and conn.execute(
                        select(users.c.id).where(
                            users.c.id != user_id, users.c.email_skeleton == digest
                        )
                    ).first()
                ):
                    raise confusable_email_conflict()
                done = conn.execute(
                    update(users)
                    .where(
                        and_(users.c.id == user_id, users.c.email_canonical == canonical(old_email))
                    )
                    .values(
                        email=new_email,
                        email_canonical=key,
                        email_skeleton=digest,
                        email_verified=True,
                        email_verified_at=at,
                    )
                )
                return self._load(conn, user_id) if done.rowcount == 1 else None
        except IntegrityError as exc:  # a concurrent registration took it first
            raise Conflict("The username or email is already registered.") from exc

    def delete(self, user_id: str) -> bool:
        with self._engine.begin() as conn:
            serialise_changes(conn)
            if conn.execute(select(users.c.id).where(users.c.id == user_id)).first() is None:
                return False
            keep_an_admin(conn, leaving={user_id})
            # The foreign keys cascade too; deleting explicitly keeps a database
            # without enforced foreign keys from keeping orphans.
            for table in (action_tokens, recovery_codes, refresh_tokens, user_roles):
                conn.execute(delete(table).where(table.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))
            return True

    def count_active(self) -> int:
        with read_only(self._engine) as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(users).where(users.c.is_active.is_(True))
                ).scalar_one()
            )

    def ping(self) -> None:
        with read_only(self._engine) as conn:
            conn.execute(text("SELECT 1"))


__all__ = ["SqlUserStore"]
