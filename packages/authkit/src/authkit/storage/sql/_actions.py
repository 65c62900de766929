"""The SQLAlchemy action-token store: redeeming is one conditional DELETE."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, delete, insert, select

from authkit.account._records import ActionPurpose, ActionTokenRecord
from authkit.clock import utc
from authkit.storage.sql._engine import read_only
from authkit.storage.sql._tables import action_tokens, users


class SqlActionTokenStore:
    """Action tokens in ``authkit_action_tokens``; redeeming is one conditional DELETE."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, record: ActionTokenRecord) -> None:
        """Replace the user's link of this purpose, serialised per user.

        Without the row lock two concurrent adds on PostgreSQL (READ COMMITTED)
        would each delete nothing and each insert, leaving two live links; SQLite
        serialises writers already (BEGIN IMMEDIATE), where ``FOR UPDATE`` is a no-op.
        """
        t = action_tokens.c
        with self._engine.begin() as conn:
            conn.execute(select(users.c.id).where(users.c.id == record.user_id).with_for_update())
            conn.execute(
                delete(action_tokens).where(
                    and_(t.user_id == record.user_id, t.purpose == record.purpose.value)
                )
            )
            conn.execute(insert(action_tokens).values(**_row(record)))

    def peek(self, token_hash: str, *, now: datetime) -> ActionTokenRecord | None:
        t = action_tokens.c
        with read_only(self._engine) as conn:
            row = (
                conn.execute(
                    select(action_tokens).where(
                        and_(t.token_hash == token_hash, t.expires_at > now)
                    )
                )
                .mappings()
                .first()
            )
        return None if row is None else _record(row)

    def consume(
        self, token_hash: str, *, purpose: ActionPurpose, now: datetime
    ) -> ActionTokenRecord | None:
        t = action_tokens.c
        live = and_(t.token_hash == token_hash, t.purpose == purpose.value, t.expires_at > now)
        with self._engine.begin() as conn:
            row = conn.execute(select(action_tokens).where(live)).mappings().first()
            if row is None:
                return None
            # Whoever deletes the row owns the token: a concurrent redeemer that read
            # it too deletes nothing (PostgreSQL re-checks the row after the lock).
            if conn.execute(delete(action_tokens).where(live)).rowcount != 1:
                return None
            return _record(row)

    def delete_for_user(self, user_id: str, purposes: tuple[ActionPurpose, ...] = ()) -> int:
        t = action_tokens.c
        condition = t.user_id == user_id
        if purposes:
            condition = and_(condition, t.purpose.in_([p.value for p in purposes]))
        with self._engine.begin() as conn:
            return int(conn.execute(delete(action_tokens).where(condition)).rowcount)

    def purge(self, *, now: datetime) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(delete(action_tokens).where(action_tokens.c.expires_at <= now))
            return int(result.rowcount)


def _row(record: ActionTokenRecord) -> dict[str, Any]:
    return {
        "token_hash": record.token_hash,
        "user_id": record.user_id,
        "purpose": record.purpose.value,
        "binding": record.binding,
        "new_email": record.new_email,
        "created_at": record.created_at,
        "expires_at": record.expires_at,
    }


def _record(row: Any) -> ActionTokenRecord:
    return ActionTokenRecord(
        token_hash=row["token_hash"],
        user_id=row["user_id"],
        purpose=ActionPurpose(row["purpose"]),
        binding=row["binding"],
        new_email=row["new_email"],
        created_at=utc(row["created_at"]),
        expires_at=utc(row["expires_at"]),
    )


__all__ = ["SqlActionTokenStore"]
