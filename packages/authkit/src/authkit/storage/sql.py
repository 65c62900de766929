"""SQLAlchemy implementations of the stores (SQLite embedded, PostgreSQL scaled out)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from authkit.clock import utc
from authkit.errors import Conflict
from authkit.models import NewUser, RefreshTokenRecord, User, canonical
from authkit.storage.engine import read_only
from authkit.storage.protocols import RotationOutcome, RotationResult, SuccessorFactory
from authkit.storage.sql_admin import SqlUserAdmin
from authkit.storage.sql_rows import load_roles, user_from_row
from authkit.storage.tables import refresh_tokens, user_roles, users


class SqlUserStore(SqlUserAdmin):
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, new: NewUser) -> User:
        row = {
            "id": new.id,
            "username": new.username,
            "username_canonical": canonical(new.username),
            "email": new.email,
            "email_canonical": canonical(new.email),
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
        with read_only(self._engine) as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
            return None if row is None else user_from_row(row, load_roles(conn, [user_id])[user_id])

    def find_by_login(self, identifier: str) -> User | None:
        key = canonical(identifier)
        with read_only(self._engine) as conn:
            row = (
                conn.execute(
                    select(users).where(
                        or_(users.c.username_canonical == key, users.c.email_canonical == key)
                    )
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            return user_from_row(row, load_roles(conn, [row["id"]])[row["id"]])

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


class SqlRefreshTokenStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, record: RefreshTokenRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(refresh_tokens).values(**_token_row(record)))

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        with read_only(self._engine) as conn:
            return _fetch_token(conn, token_hash)

    def rotate(
        self, token_hash: str, *, now: datetime, successor: SuccessorFactory
    ) -> RotationResult:
        t = refresh_tokens.c
        with self._engine.begin() as conn:
            consumed = conn.execute(
                update(refresh_tokens)
                .where(
                    and_(
                        t.token_hash == token_hash,
                        t.used_at.is_(None),
                        t.revoked_at.is_(None),
                        t.expires_at > now,
                        t.family_expires_at > now,
                    )
                )
                .values(used_at=now)
            )
            record = _fetch_token(conn, token_hash)
            if record is None:
                return RotationResult(outcome=RotationOutcome.INVALID)
            if consumed.rowcount == 1:
                new = successor(record)
                conn.execute(insert(refresh_tokens).values(**_token_row(new)))
                conn.execute(
                    update(refresh_tokens).where(t.jti == record.jti).values(replaced_by=new.jti)
                )
                return RotationResult(
                    outcome=RotationOutcome.ROTATED, consumed=record, successor=new
                )
            if record.used_at is not None:
                conn.execute(
                    update(refresh_tokens)
                    .where(and_(t.family_id == record.family_id, t.revoked_at.is_(None)))
                    .values(revoked_at=now)
                )
                return RotationResult(outcome=RotationOutcome.REUSED, consumed=record)
            return RotationResult(outcome=RotationOutcome.INVALID, consumed=record)

    def revoke_family(self, family_id: str, *, now: datetime) -> int:
        t = refresh_tokens.c
        with self._engine.begin() as conn:
            result = conn.execute(
                update(refresh_tokens)
                .where(and_(t.family_id == family_id, t.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
            return int(result.rowcount)

    def family_is_live(self, family_id: str, *, now: datetime) -> bool:
        t = refresh_tokens.c
        with read_only(self._engine) as conn:
            row = conn.execute(
                select(t.jti)
                .where(
                    and_(
                        t.family_id == family_id,
                        t.revoked_at.is_(None),
                        t.family_expires_at > now,
                    )
                )
                .limit(1)
            ).first()
            return row is not None

    def revoke_user(self, user_id: str, *, now: datetime, except_family: str | None = None) -> int:
        t = refresh_tokens.c
        condition = and_(t.user_id == user_id, t.revoked_at.is_(None))
        if except_family is not None:
            condition = and_(condition, t.family_id != except_family)
        with self._engine.begin() as conn:
            result = conn.execute(update(refresh_tokens).where(condition).values(revoked_at=now))
            return int(result.rowcount)

    def revoke_users(self, user_ids: Collection[str], *, now: datetime) -> int:
        t = refresh_tokens.c
        if not user_ids:
            return 0
        with self._engine.begin() as conn:
            result = conn.execute(
                update(refresh_tokens)
                .where(and_(t.user_id.in_(list(user_ids)), t.revoked_at.is_(None)))
                .values(revoked_at=now)
            )
            return int(result.rowcount)

    def purge(self, *, now: datetime) -> int:
        t = refresh_tokens.c
        with self._engine.begin() as conn:
            result = conn.execute(
                delete(refresh_tokens).where(
                    or_(t.expires_at <= now, t.family_expires_at <= now, t.revoked_at.is_not(None))
                )
            )
            return int(result.rowcount)


def _token_row(record: RefreshTokenRecord) -> dict[str, Any]:
    return {
        "jti": record.jti,
        "token_hash": record.token_hash,
        "family_id": record.family_id,
        "user_id": record.user_id,
        "issued_at": record.issued_at,
        "expires_at": record.expires_at,
        "family_expires_at": record.family_expires_at,
        "used_at": record.used_at,
        "revoked_at": record.revoked_at,
        "replaced_by": record.replaced_by,
        "amr": " ".join(record.amr) or None,
    }


def _fetch_token(conn: Connection, token_hash: str) -> RefreshTokenRecord | None:
    row = (
        conn.execute(select(refresh_tokens).where(refresh_tokens.c.token_hash == token_hash))
        .mappings()
        .first()
    )
    if row is None:
        return None

    def opt(value: datetime | None) -> datetime | None:
        return utc(value) if value is not None else None

    return RefreshTokenRecord(
        jti=row["jti"],
        token_hash=row["token_hash"],
        family_id=row["family_id"],
        user_id=row["user_id"],
        issued_at=utc(row["issued_at"]),
        expires_at=utc(row["expires_at"]),
        family_expires_at=utc(row["family_expires_at"]),
        used_at=opt(row["used_at"]),
        revoked_at=opt(row["revoked_at"]),
        replaced_by=row["replaced_by"],
        amr=tuple((row["amr"] or "").split()),
    )


__all__ = ["SqlRefreshTokenStore", "SqlUserStore"]
