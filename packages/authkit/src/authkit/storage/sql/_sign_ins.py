"""A sign-in's writes in one transaction: ``last_login_at`` and the new session's token.

Each commit of a SQLite database in WAL mode is an fsync (``synchronous=FULL``,
SQLite's default, which authkit keeps): stamping the login and starting the
refresh family in two transactions cost a sign-in two. Here they are one
transaction with two statements, built once so SQLAlchemy's compiled cache
serves every sign-in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, bindparam, insert, update

from authkit.storage.sql._tables import refresh_tokens, users
from authkit.storage.sql._tokens import token_row
from authkit.tokens._records import RefreshTokenRecord

_STAMP = (
    update(users)
    .where(users.c.id == bindparam("user_id"))
    .values(last_login_at=bindparam("at", type_=users.c.last_login_at.type))
)
_STAMP_AND_REHASH = _STAMP.values(
    password_hash=bindparam("new_hash", type_=users.c.password_hash.type)
)
_ADD_TOKEN = insert(refresh_tokens)


class SqlSignIns:
    """``SignInRecorder`` on the SQL stores' engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record_sign_in(
        self,
        user_id: str,
        *,
        at: datetime,
        new_hash: str | None,
        family: RefreshTokenRecord,
    ) -> None:
        with self._engine.begin() as conn:
            if new_hash is None:
                conn.execute(_STAMP, {"user_id": user_id, "at": at})
            else:
                conn.execute(
                    _STAMP_AND_REHASH, {"user_id": user_id, "at": at, "new_hash": new_hash}
                )
            conn.execute(_ADD_TOKEN, token_row(family))


__all__ = ["SqlSignIns"]
