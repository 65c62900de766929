"""The SQLAlchemy refresh-token store: rotation is one conditional UPDATE (RFC 9700 §4.14.2)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, literal, or_, select, update

from authkit.clock import utc
from authkit.storage.sql._engine import read_only
from authkit.storage.sql._tables import refresh_tokens
from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._store import RotationOutcome, RotationResult, SuccessorFactory


class SqlRefreshTokenStore:
    """Refresh tokens in the SQL database; a rotation is one conditional ``UPDATE``."""

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
            # The family's lock first (see _lock_family): concurrent presenters of
            # one token queue here, before any row lock.
            _lock_family(conn, t.token_hash == token_hash)
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
                _revoke_family(conn, record.family_id, now)
                return RotationResult(outcome=RotationOutcome.REUSED, consumed=record)
            return RotationResult(outcome=RotationOutcome.INVALID, consumed=record)

    def revoke_family(self, family_id: str, *, now: datetime) -> int:
        with self._engine.begin() as conn:
            return _revoke_family(conn, family_id, now)

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

    def delete_user(self, user_id: str) -> int:
        with self._engine.begin() as conn:
            result = conn.execute(delete(refresh_tokens).where(refresh_tokens.c.user_id == user_id))
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


_FAMILY_LOCK_CLASS = 0x61_6B_72_66  # "akrf": authkit refresh family, one advisory key space


def _lock_family(conn: Connection, condition: Any) -> None:
    """Take the family lock of the row(s) matching ``condition`` for this transaction.

    Several processes that present an already-rotated token at once all revoke
    its family, while the rotation they raced inserts a successor. On PostgreSQL
    row locks alone deadlock there (found by the race phase of
    ``benchmarks/bench_refresh_pg.py``, a 500 instead of ``token_reused``): a
    presenter whose consuming UPDATE waited for the winner keeps the presented
    row locked after its re-check fails, and another presenter that started
    later locks the successor first; each then waits for the other. Every
    transaction that changes a family therefore first takes one transaction-level
    advisory lock per family (``pg_advisory_xact_lock``; a hash collision only
    serialises two families), so they queue instead of interleaving. SQLite has
    no row locks: its writers are serialised by ``BEGIN IMMEDIATE`` already.
    """
    if conn.dialect.name != "postgresql":
        return
    t = refresh_tokens.c
    lock = func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), func.hashtext(t.family_id))
    conn.execute(select(lock).where(condition).limit(1))


def _revoke_family(conn: Connection, family_id: str, now: datetime) -> int:
    """Revoke a family's live tokens, under the family lock (see ``_lock_family``)."""
    t = refresh_tokens.c
    _lock_family(conn, t.family_id == family_id)
    result = conn.execute(
        update(refresh_tokens)
        .where(and_(t.family_id == family_id, t.revoked_at.is_(None)))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


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


__all__ = ["SqlRefreshTokenStore"]
