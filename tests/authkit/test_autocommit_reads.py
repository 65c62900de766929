"""On PostgreSQL the bearer check and the sign-in lookup are one statement in autocommit.

``SqlSessionUsers.load`` and ``SqlUserStore.find_by_login`` run through
``compiled_read``: on psycopg 3 one ``SELECT`` in autocommit on a pooled
connection (the pool's ping, then the statement: no ``BEGIN`` or ``COMMIT``).
Pinned here: they take that path, the connection goes back to the pool
transactional as every other caller expects, and what they answer is unchanged
(``test_session_users`` checks the answers against the stores on both backends).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, text

from authkit.storage import SqlUserStore, create_engine, create_schema
from authkit.storage.sql._autocommit import AutocommitStatement
from authkit.storage.sql._session_users import SqlSessionUsers
from authkit.users import NewUser

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Engine]:
    engine = create_engine(postgres_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def test_bearer_check_and_login_lookup_are_one_autocommit_statement(pg: Engine) -> None:
    users = SqlUserStore(pg)
    sessions = SqlSessionUsers(pg)
    user_id = str(uuid.uuid4())
    users.create(
        NewUser(
            id=user_id,
            username="alice",
            email="alice@example.test",
            password_hash="x",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )
    assert isinstance(sessions._select, AutocommitStatement)
    assert isinstance(users._by_login, AutocommitStatement)
    checkouts: list[object] = []
    event.listen(pg, "checkout", lambda *args: checkouts.append(args))
    user, live = sessions.load(user_id, "no-such-family", now=NOW)
    assert user is not None
    assert user.id == user_id
    assert not live
    found = users.find_by_login("ALICE")
    assert found is not None
    assert found.id == user_id
    assert users.find_by_login("nobody") is None
    assert len(checkouts) == 3
    with pg.connect() as conn:  # back in the pool as it left: not in autocommit
        assert conn.connection.dbapi_connection is not None
        assert conn.connection.dbapi_connection.autocommit is False
        conn.execute(text("CREATE TEMPORARY TABLE rollback_probe (x int)"))
        conn.rollback()
        assert conn.execute(text("SELECT to_regclass('rollback_probe')")).scalar() is None
