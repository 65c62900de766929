"""PostgreSQL's refresh rotation: one statement, its own transaction, under the family lock.

``SqlRefreshTokenStore`` on PostgreSQL (psycopg) reads the presented token and
rotates it with one statement run in autocommit on a pooled DBAPI connection
(``authkit.storage.sql._autocommit``). These tests pin what that must keep: the
family's advisory lock is taken before the token is consumed, the pooled
connection goes back as every other caller expects it (not in autocommit), a
failed statement never returns its connection to the pool, and a rotation costs
two pool checkouts (the read, then the statement).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, func, insert, literal, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from authkit.errors import InvalidToken
from authkit.storage import SqlRefreshTokenStore, SqlUserStore, create_engine, create_schema
from authkit.storage.sql import refresh_tokens
from authkit.storage.sql._autocommit import AutocommitStatement
from authkit.storage.sql._tokens import _FAMILY_LOCK_CLASS
from authkit.tokens import RefreshTokens
from authkit.users import NewUser

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def roles_of(_user_id: str) -> tuple[str, ...]:
    return ("user",)


def make_user(engine: Engine) -> str:
    user_id = str(uuid.uuid4())
    SqlUserStore(engine).create(
        NewUser(
            id=user_id,
            username=f"u{user_id[:8]}",
            email=f"{user_id}@example.test",
            password_hash="x",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )
    return user_id


def wait_for_a_lock_waiter(engine: Engine) -> None:
    """Return once some session waits for an advisory lock (the rotation under test)."""
    deadline = time.monotonic() + 30
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        time.sleep(0.01)
    raise AssertionError("no session waited for the family lock")


def test_rotation_waits_for_the_family_lock(pg: Engine) -> None:
    """While another transaction holds the family's lock, the rotation does not consume."""
    tokens = RefreshTokens(SqlRefreshTokenStore(pg))
    issued = tokens.start_family(make_user(pg), ("user",))
    family = issued.record.family_id
    done = threading.Event()
    results: list[object] = []

    def rotate() -> None:
        try:
            results.append(tokens.rotate(issued.token, roles_of))
        except Exception as exc:  # reported through results: the assertion says which
            results.append(exc)
        done.set()

    with pg.connect() as holder:
        holder.execute(
            select(func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), func.hashtext(family)))
        )
        thread = threading.Thread(target=rotate)
        thread.start()
        wait_for_a_lock_waiter(pg)
        assert not done.is_set(), "the rotation went ahead under another's family lock"
        with pg.connect() as reader:  # the token is not consumed while the lock is held
            used = reader.execute(
                select(refresh_tokens.c.used_at).where(refresh_tokens.c.jti == issued.record.jti)
            ).scalar_one()
        assert used is None
        holder.commit()  # releases the lock
    thread.join(timeout=30)
    assert done.is_set()
    assert len(results) == 1
    assert not isinstance(results[0], Exception), results


def test_a_revocation_holding_the_lock_wins_over_a_waiting_rotation(pg: Engine) -> None:
    """The rotation's re-check sees the revocation committed while it waited for the lock."""
    store = SqlRefreshTokenStore(pg)
    tokens = RefreshTokens(store)
    issued = tokens.start_family(make_user(pg), ("user",))
    family = issued.record.family_id
    errors: list[Exception] = []

    def rotate() -> None:
        try:
            tokens.rotate(issued.token, roles_of)
        except Exception as exc:  # the expected InvalidToken is asserted below
            errors.append(exc)

    with pg.connect() as holder:
        holder.execute(
            select(func.pg_advisory_xact_lock(literal(_FAMILY_LOCK_CLASS), func.hashtext(family)))
        )
        thread = threading.Thread(target=rotate)
        thread.start()
        wait_for_a_lock_waiter(pg)  # it read the token as consumable and waits
        holder.execute(
            refresh_tokens.update()
            .where(refresh_tokens.c.family_id == family)
            .values(revoked_at=datetime.now(UTC))
        )
        holder.commit()
    thread.join(timeout=30)
    assert [type(e) for e in errors] == [InvalidToken]
    with pg.connect() as reader:
        rows = reader.execute(select(func.count()).select_from(refresh_tokens)).scalar_one()
    assert rows == 1, "no successor inserted for a revoked family"


def test_a_rotation_is_two_checkouts_and_leaves_the_connection_transactional(
    pg: Engine,
) -> None:
    """Two pooled checkouts (read, rotation); afterwards ``engine.begin()`` still rolls back."""
    tokens = RefreshTokens(SqlRefreshTokenStore(pg))
    issued = tokens.start_family(make_user(pg), ("user",))
    checkouts: list[object] = []
    event.listen(pg, "checkout", lambda *args: checkouts.append(args))
    tokens.rotate(issued.token, roles_of)
    assert len(checkouts) == 2

    def fail_in_a_transaction() -> None:
        with pg.begin() as conn:
            conn.execute(text("CREATE TABLE rollback_probe (x int)"))
            raise RuntimeError("roll back")

    with pytest.raises(RuntimeError):
        fail_in_a_transaction()
    with pg.connect() as conn:
        assert conn.execute(text("SELECT to_regclass('rollback_probe')")).scalar() is None


def test_a_failed_statement_is_a_dbapi_error_and_its_connection_is_dropped(pg: Engine) -> None:
    """A failed statement raises ``DBAPIError`` (parameters hidden); its connection is dropped."""
    user_id = make_user(pg)
    row = {
        "jti": "j" * 36,
        "token_hash": "h" * 64,
        "family_id": "f" * 36,
        "user_id": user_id,
        "issued_at": NOW,
        "expires_at": NOW,
        "family_expires_at": NOW,
    }
    statement = AutocommitStatement(
        pg, insert(refresh_tokens).returning(refresh_tokens.c.jti), [refresh_tokens.c.jti]
    )
    assert statement.rows(**{c.name: row.get(c.name) for c in refresh_tokens.columns}) == [
        {"jti": "j" * 36}
    ]
    invalidated: list[object] = []
    event.listen(pg, "invalidate", lambda *args: invalidated.append(args))
    with pytest.raises(DBAPIError) as caught:
        statement.rows(**{c.name: row.get(c.name) for c in refresh_tokens.columns})
    assert isinstance(caught.value, IntegrityError)
    assert "h" * 64 not in str(caught.value)
    assert len(invalidated) == 1
    with pytest.raises(TypeError, match="expected parameters"):
        statement.rows(jti="x")


def test_through_core_too_one_of_many_presenters_rotates(pg: Engine) -> None:
    """Another PostgreSQL driver runs the rotation through SQLAlchemy Core: still exactly once."""
    store = SqlRefreshTokenStore(pg)
    store._postgres = None  # what a driver other than psycopg 3 gets
    tokens = RefreshTokens(store)
    issued = tokens.start_family(make_user(pg), ("user",))
    issued = tokens.rotate(issued.token, roles_of)  # some history in the family
    barrier = threading.Barrier(8)
    outcomes: list[str] = []

    def present() -> None:
        barrier.wait()
        try:
            tokens.rotate(issued.token, roles_of)
            outcomes.append("rotated")
        except Exception as exc:  # counted by name: only the two refusals are allowed
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=present) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("rotated") == 1
    assert set(outcomes) - {"rotated"} <= {"TokenReused", "InvalidToken"}
    with pg.connect() as conn:
        live = conn.execute(
            select(func.count()).where(
                refresh_tokens.c.family_id == issued.record.family_id,
                refresh_tokens.c.revoked_at.is_(None),
            )
        ).scalar_one()
    assert live == 0, "the reuse revoked the whole family"
