"""The SQLAlchemy refresh-token store: rotation is one conditional UPDATE (RFC 9700 §4.14.2).

On PostgreSQL (psycopg) a rotation is two statements, each its own transaction,
compiled once and run on a pooled DBAPI connection (``_autocommit``): a read,
then one statement that takes the family's lock, consumes the token and inserts
its successor. Elsewhere it runs through SQLAlchemy Core in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    tuple_,
    update,
)

from authkit.clock import utc
from authkit.storage.sql._autocommit import AutocommitStatement, autocommit_capable
from authkit.storage.sql._engine import read_only
from authkit.storage.sql._tables import refresh_tokens
from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._store import (
    RotationOutcome,
    RotationResult,
    SuccessorFactory,
    SuccessorOfPresented,
)


class SqlRefreshTokenStore:
    """Refresh tokens in the SQL database; a rotation is one conditional ``UPDATE``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._postgres = _PostgresStatements(engine) if autocommit_capable(engine) else None

    def add(self, record: RefreshTokenRecord) -> None:
        with self._engine.begin() as conn:
            conn.execute(insert(refresh_tokens).values(**token_row(record)))

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        if self._postgres is not None:
            # One SELECT is one snapshot under READ COMMITTED whatever the
            # transaction: autocommit saves the BEGIN and COMMIT round trips of
            # the read every refresh makes before its rotation.
            rows = self._postgres.read.rows(token_hash=token_hash)
            return _record(rows[0]) if rows else None
        with read_only(self._engine) as conn:
            return _fetch_token(conn, token_hash)

    def rotate(
        self, token_hash: str, *, now: datetime, successor: SuccessorFactory
    ) -> RotationResult:
        """Consume ``token_hash`` and insert its successor.

        The successor is made from the columns a token never changes (user,
        family, family expiry, ``amr``), so it can be built from a read before
        the consuming statement. On PostgreSQL that statement is one CTE, its
        own transaction: it takes the family's lock (see ``_lock_family``), the
        conditional ``UPDATE`` consumes the token (unused, unrevoked, unexpired,
        re-checked against the newest row version if another transaction
        changed it) and names its successor, and the ``INSERT`` adds the
        successor only if the ``UPDATE`` matched. Elsewhere (SQLite has no DML
        in a ``WITH``) it is the same ``UPDATE`` then the ``INSERT``, in one
        transaction (``BEGIN IMMEDIATE`` on SQLite). A token the read finds
        used, revoked or expired is answered from that read (a reuse revokes the
        family); only one consumed by a concurrent rotation after the read costs
        a second read.
        """
        if self._postgres is not None:
            return self._rotate_postgres(token_hash, now=now, successor=successor)
        with self._engine.begin() as conn:
            # PostgreSQL through another driver: the family's lock first (``_lock_family``).
            postgres = conn.dialect.name == "postgresql"
            current = _fetch_token(conn, token_hash, lock_family=postgres)
            if current is None:
                return RotationResult(outcome=RotationOutcome.INVALID)
            record: RefreshTokenRecord | None = current
            if _consumable(current, now):
                # The successor of the token as consuming it leaves it (``used_at``
                # set). Made only for a token the read found consumable.
                new = successor(replace(current, used_at=now))
                consume = {"presented": token_hash, "now": now, "successor_jti": new.jti}
                if conn.execute(_CONSUME, consume).rowcount == 1:
                    conn.execute(_INSERT, token_row(new))
                    return _rotated(current, new, now)
                record = _fetch_token(conn, token_hash)
            return _refused(record, now, lambda family: _revoke_family(conn, family, now))

    def _rotate_postgres(
        self, token_hash: str, *, now: datetime, successor: SuccessorFactory
    ) -> RotationResult:
        """``rotate`` on PostgreSQL: a read, then one statement; each its own transaction.

        The read takes no lock: it only decides whether to try, and supplies the
        columns a token never changes; the consuming statement decides. When
        the caller read the token just before (``SuccessorOfPresented``, as
        ``RefreshTokens.rotate`` does), that read serves: one round trip (and a
        ping when the pooled connection sat idle), no ``BEGIN`` or ``COMMIT``. A
        reuse's revocation is a transaction of its own under the family's lock,
        as ``revoke_family``.
        """
        assert self._postgres is not None
        known = successor.presented if isinstance(successor, SuccessorOfPresented) else None
        current = (
            known
            if known is not None and known.token_hash == token_hash
            else self.get_by_hash(token_hash)
        )
        if current is None:
            return RotationResult(outcome=RotationOutcome.INVALID)
        record: RefreshTokenRecord | None = current
        if _consumable(current, now):
            new = successor(replace(current, used_at=now))
            params = {f"new_{name}": value for name, value in token_row(new).items()}
            params |= {
                "presented": token_hash,
                "now": now,
                "successor_jti": new.jti,
                "family_id": current.family_id,
            }
            if self._postgres.rotate.rows(**params):
                return _rotated(current, new, now)
            # Consumed or revoked since the read: the newest row tells a reuse
            # from an invalid token.
            record = self.get_by_hash(token_hash)
        return _refused(record, now, lambda family: self.revoke_family(family, now=now))

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
        return _revoke_families_where(self._engine, condition, now)

    def revoke_users(self, user_ids: Collection[str], *, now: datetime) -> int:
        t = refresh_tokens.c
        if not user_ids:
            return 0
        condition = and_(t.user_id.in_(list(user_ids)), t.revoked_at.is_(None))
        return _revoke_families_where(self._engine, condition, now)

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


def _rotated(current: RefreshTokenRecord, new: RefreshTokenRecord, now: datetime) -> RotationResult:
    return RotationResult(
        outcome=RotationOutcome.ROTATED,
        consumed=replace(current, used_at=now, replaced_by=new.jti),
        successor=new,
    )


def _refused(
    record: RefreshTokenRecord | None, now: datetime, revoke_family: Callable[[str], int]
) -> RotationResult:
    """The answer for a token that was not consumed: a used one is a reuse, its family revoked."""
    if record is None:
        return RotationResult(outcome=RotationOutcome.INVALID)
    if record.used_at is not None:
        revoke_family(record.family_id)
        return RotationResult(outcome=RotationOutcome.REUSED, consumed=record)
    return RotationResult(outcome=RotationOutcome.INVALID, consumed=record)


def token_row(record: RefreshTokenRecord) -> dict[str, Any]:
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


_t = refresh_tokens.c

_CONSUME = (
    update(refresh_tokens)
    .where(
        and_(
            _t.token_hash == bindparam("presented"),
            _t.used_at.is_(None),
            _t.revoked_at.is_(None),
            _t.expires_at > bindparam("now", type_=_t.used_at.type),
            _t.family_expires_at > bindparam("now", type_=_t.used_at.type),
        )
    )
    .values(used_at=bindparam("now"), replaced_by=bindparam("successor_jti"))
)
"""Consume the presented token (unused, unrevoked, unexpired) and name its successor.

Built once, with bound parameters, so SQLAlchemy's compiled cache serves every
rotation (a statement built per call with literals costs more Python than the
database spends on it)."""

_INSERT = insert(refresh_tokens)

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
    serialises two families), so they queue instead of interleaving. The lock
    also orders a revocation after a rotation that committed a successor: the
    revoking ``UPDATE`` starts (and takes its snapshot) once the lock is its own,
    so it sees that successor. PostgreSQL's one-statement rotation
    (``_ROTATE_POSTGRES``) takes the same lock inside the statement. SQLite has
    no row locks: its writers are serialised by ``BEGIN IMMEDIATE`` already.
    """
    if conn.dialect.name != "postgresql":
        return
    t = refresh_tokens.c
    lock = func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), func.hashtext(t.family_id))
    conn.execute(select(lock).where(condition).limit(1))


_SELECT = select(refresh_tokens).where(_t.token_hash == bindparam("token_hash"))

_FAMILY_LOCK = (
    select(
        func.pg_advisory_xact_lock(
            literal(_FAMILY_LOCK_CLASS),
            func.hashtext(bindparam("family_id", type_=_t.family_id.type)),
        ).label("taken")
    )
).cte("family_lock")

_ROTATE_POSTGRES = (
    insert(refresh_tokens)
    .from_select(
        [column.name for column in refresh_tokens.columns],
        select(
            *(
                bindparam(f"new_{column.name}", type_=column.type)
                for column in refresh_tokens.columns
            )
        ).select_from(
            _CONSUME.where(exists().select_from(_FAMILY_LOCK)).returning(_t.jti).cte("consumed")
        ),
    )
    .returning(_t.jti)
)
"""PostgreSQL's rotation in one statement, one transaction: the family's lock
(``_lock_family``), ``_CONSUME``, and the successor inserted only if it consumed a
row (a data-modifying ``WITH``; SQLite has none).

The lock is the ``family_lock`` CTE, which ``_CONSUME`` needs through an
uncorrelated ``EXISTS``: PostgreSQL evaluates that once, as a one-time filter
above the scan (``EXPLAIN`` shows ``One-Time Filter``), so the lock is held
before the presented row is read for update, and until the statement's commit.
The statement's snapshot predates the lock wait, but the conditional ``UPDATE``
re-checks the newest version of a row another transaction changed, so a token
revoked or consumed meanwhile is not consumed. ``family_id`` is the presented
token's (read before; a token's family never changes)."""


class _PostgresStatements:
    """The read and the rotation, compiled once for one PostgreSQL engine."""

    def __init__(self, engine: Engine) -> None:
        self.read = AutocommitStatement(engine, _SELECT, list(refresh_tokens.columns))
        self.rotate = AutocommitStatement(engine, _ROTATE_POSTGRES, [_t.jti])


_SELECT_LOCKING_FAMILY = _SELECT.add_columns(
    func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), func.hashtext(_t.family_id)).label(
        "family_lock"
    )
)


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


_REVOKE_BATCH = 64
"""Families whose locks one bulk-revocation transaction holds at most.

Advisory locks live in PostgreSQL's shared lock table, sized by
``max_locks_per_transaction`` (64 by default) times the connections: a user
with thousands of sign-ins must not exhaust it ("out of shared memory"), which
would make logging out everywhere fail."""


def _revoke_families_where(engine: Engine, condition: Any, now: datetime) -> int:
    """Revoke the unrevoked tokens matching ``condition``, each family under its lock.

    A bulk revocation (``revoke_user``, ``revoke_users``) must also revoke the
    successor of a rotation in flight: that rotation holds its family's lock
    and has inserted the successor, uncommitted, which an ``UPDATE`` whose
    snapshot predates the commit never sees (it waits for the consumed row,
    revokes it, and leaves the successor live). So on PostgreSQL the
    transaction first takes the lock of every family with a matching token
    (``_LOCK_FAMILIES``), then revokes in a statement whose snapshot follows
    every rotation of those families. A rotation that starts later finds its
    token revoked (its conditional ``UPDATE`` re-checks the newest row version).

    Deadlock-free: the locks are taken in one order, (lock key, family), by one
    statement, before any row lock; every other transaction that locks a family
    holds at most that one family lock (a rotation, ``revoke_family``) and locks
    rows only of that family, so no cycle forms, also between two bulk
    revocations (their ``UPDATE`` rows lie in families each alone holds). At
    most ``_REVOKE_BATCH`` families per transaction; the next batch continues
    after the last key, so the loop ends even while the user signs in again
    (every family that existed when the revocation started has its turn).

    SQLite: writers are serialised (``BEGIN IMMEDIATE``), so the one ``UPDATE``
    runs wholly before or after any rotation, and sees its successor if after.
    """
    t = refresh_tokens.c
    revoke = update(refresh_tokens).values(revoked_at=now)
    if engine.dialect.name != "postgresql":
        with engine.begin() as conn:
            return int(conn.execute(revoke.where(condition)).rowcount)
    total = 0
    after: tuple[int, str] | None = None
    while True:
        with engine.begin() as conn:
            locked = [
                (row.key, row.family_id) for row in conn.execute(_lock_families(condition, after))
            ]
            if locked:
                families = [family for _, family in locked]
                result = conn.execute(revoke.where(and_(condition, t.family_id.in_(families))))
                total += int(result.rowcount)
        if len(locked) < _REVOKE_BATCH:
            return total
        after = locked[-1]


def _lock_families(condition: Any, after: tuple[int, str] | None) -> Any:
    """Take the family locks of up to ``_REVOKE_BATCH`` families matching ``condition``.

    In (lock key, family) order, from after ``after``. The lock call is in the
    outer query's select list, evaluated above the inner ``ORDER BY ... LIMIT``
    (``EXPLAIN VERBOSE`` shows it in the projection over ``Limit``, ``Sort``),
    so in that order, and only for the rows the limit keeps.
    """
    t = refresh_tokens.c
    key = func.hashtext(t.family_id)
    families = select(key.label("key"), t.family_id).where(condition)
    if after is not None:
        families = families.where(
            tuple_(key, t.family_id) > tuple_(literal(after[0]), literal(after[1]))
        )
    ordered = (
        families.group_by(t.family_id).order_by(key, t.family_id).limit(_REVOKE_BATCH).subquery()
    )
    lock = func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), ordered.c.key)
    return select(ordered.c.key, ordered.c.family_id, lock.label("locked")).order_by(
        ordered.c.key, ordered.c.family_id
    )


def _consumable(record: RefreshTokenRecord, now: datetime) -> bool:
    """Whether ``record`` meets what ``_CONSUME`` requires.

    On a read that may be stale this only errs towards "consumable": a token's
    used, revoked or expired state never reverts.
    """
    return (
        record.used_at is None
        and record.revoked_at is None
        and record.expires_at > now
        and record.family_expires_at > now
    )


def _fetch_token(
    conn: Connection, token_hash: str, *, lock_family: bool = False
) -> RefreshTokenRecord | None:
    """The row of ``token_hash``; with ``lock_family``, its family's lock taken first.

    The lock is taken by the same statement (one round trip). Under READ
    COMMITTED that statement's snapshot predates the lock wait, so columns a
    rotation changes (``used_at``, ``replaced_by``, ``revoked_at``) may be stale:
    callers decide on them only through a conditional write or a fresh read.
    """
    query = _SELECT_LOCKING_FAMILY if lock_family else _SELECT
    row = conn.execute(query, {"token_hash": token_hash}).mappings().first()
    return None if row is None else _record(row)


def _record(row: Mapping[Any, Any]) -> RefreshTokenRecord:
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
