"""SQLAlchemy implementation of ``MfaStore``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, update

from authkit.storage.sql._engine import read_only
from authkit.storage.sql._tables import recovery_codes, users


class SqlMfaStore:
    """TOTP state in the SQL database; a code is spent by one conditional update."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get_secret(self, user_id: str) -> str | None:
        with read_only(self._engine) as conn:
            value = conn.execute(
                select(users.c.mfa_secret_encrypted).where(users.c.id == user_id)
            ).scalar_one_or_none()
            return str(value) if value is not None else None

    def set_pending_secret(self, user_id: str, encrypted_secret: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.mfa_enabled.is_(False)))
                .values(mfa_secret_encrypted=encrypted_secret, mfa_last_step=None)
            )
            return result.rowcount == 1

    def enable(self, user_id: str, code_hashes: list[str], *, now: datetime) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(
                    and_(
                        users.c.id == user_id,
                        users.c.mfa_enabled.is_(False),
                        users.c.mfa_secret_encrypted.is_not(None),
                    )
                )
                .values(mfa_enabled=True)
            )
            if result.rowcount != 1:
                return False
            conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
            conn.execute(
                insert(recovery_codes),
                [
                    {"id": str(uuid.uuid4()), "user_id": user_id, "code_hash": h, "created_at": now}
                    for h in code_hashes
                ],
            )
            return True

    def disable(self, user_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(mfa_enabled=False, mfa_secret_encrypted=None, mfa_last_step=None)
            )
            conn.execute(delete(recovery_codes).where(recovery_codes.c.user_id == user_id))

    def claim_step(self, user_id: str, step: int) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(
                    and_(
                        users.c.id == user_id,
                        or_(users.c.mfa_last_step.is_(None), users.c.mfa_last_step < step),
                    )
                )
                .values(mfa_last_step=step)
            )
            return result.rowcount == 1

    def recovery_code_hashes(self, user_id: str) -> list[str]:
        c = recovery_codes.c
        with read_only(self._engine) as conn:
            return [
                str(value)
                for value in conn.execute(
                    select(c.code_hash).where(and_(c.user_id == user_id, c.used_at.is_(None)))
                ).scalars()
            ]

    def use_recovery_code(self, user_id: str, code_hash: str, *, now: datetime) -> bool:
        c = recovery_codes.c
        with self._engine.begin() as conn:
            result = conn.execute(
                update(recovery_codes)
                .where(and_(c.user_id == user_id, c.code_hash == code_hash, c.used_at.is_(None)))
                .values(used_at=now)
            )
            return result.rowcount == 1

    def encrypted_secrets(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        c = users.c
        query = select(c.id, c.mfa_secret_encrypted).where(c.mfa_secret_encrypted.is_not(None))
        if after is not None:
            query = query.where(c.id > after)
        with read_only(self._engine) as conn:
            rows = conn.execute(query.order_by(c.id).limit(limit)).all()
        return [(str(row[0]), str(row[1])) for row in rows]

    def replace_secret(self, user_id: str, expected: str, encrypted_secret: str) -> bool:
        with self._engine.begin() as conn:
            result = conn.execute(
                update(users)
                .where(and_(users.c.id == user_id, users.c.mfa_secret_encrypted == expected))
                .values(mfa_secret_encrypted=encrypted_secret)
            )
            return result.rowcount == 1

    def remaining_recovery_codes(self, user_id: str) -> int:
        c = recovery_codes.c
        with read_only(self._engine) as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(recovery_codes)
                    .where(and_(c.user_id == user_id, c.used_at.is_(None)))
                ).scalar_one()
            )


__all__ = ["SqlMfaStore"]
