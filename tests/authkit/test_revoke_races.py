"""A bulk revocation leaves no live refresh token, even one a rotation was committing.

``revoke_user`` and ``revoke_users`` (logout everywhere, password change,
deactivation, password reset) must revoke every token of the user that existed,
or was being rotated, when the revocation started. On PostgreSQL a rotation in
flight holds its family's advisory lock and has inserted its successor, not yet
committed: a revoking ``UPDATE`` whose snapshot predates that commit never sees
the successor, which stays live (found in review of the one-statement rotation;
the old two-transaction rotation had the same hole). The store now takes the
family locks of the user's families, in one order, before revoking. SQLite
serialises writers (``BEGIN IMMEDIATE``), so there the revocation runs wholly
before or wholly after the rotation; these tests pin that too.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine, func, literal, select, text

from authkit.errors import InvalidToken, TokenReused
from authkit.storage import MemoryRefreshTokenStore, SqlRefreshTokenStore, SqlUserStore
from authkit.storage.sql import _tokens, refresh_tokens
from authkit.storage.sql._tokens import _CONSUME, _FAMILY_LOCK_CLASS, _INSERT, token_row
from authkit.tokens import IssuedRefreshToken, RefreshTokens
from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._refresh import hash_token
from authkit.users import NewUser

NOW = datetime(2026, 1, 1, tzinfo=UTC)

Revoke = Callable[[RefreshTokens, str], int]
REVOCATIONS: dict[str, Revoke] = {
    "revoke_user": lambda tokens, user: tokens.revoke_user(user),
    "revoke_users": lambda tokens, user: tokens.revoke_users([user]),
    "revoke_user_except_another_family": lambda tokens, user: tokens.revoke_user(
        user, except_family=str(uuid.uuid4())
    ),
}


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


def roles_of(_user_id: str) -> tuple[str, ...]:
    return ("user",)


def live_tokens(engine: Engine, user_id: str) -> int:
    t = refresh_tokens.c
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).where(t.user_id == user_id, t.revoked_at.is_(None))
            ).scalar_one()
        )


def successor_of(record: RefreshTokenRecord, now: datetime) -> tuple[str, RefreshTokenRecord]:
    token = f"held-{uuid.uuid4()}"
    return token, dataclasses.replace(
        record,
        jti=str(uuid.uuid4()),
        token_hash=hash_token(token),
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        used_at=None,
        revoked_at=None,
        replaced_by=None,
    )


def begin_rotation(conn: Connection, record: RefreshTokenRecord) -> str:
    """Consume ``record`` and insert a successor in ``conn``'s open transaction.

    What a rotation does (on PostgreSQL the family's advisory lock first, as the
    one-statement rotation takes it), left uncommitted: a rotation caught in
    flight.
    Returns the successor's token.
    """
    now = datetime.now(UTC)
    token, new = successor_of(record, now)
    if conn.dialect.name == "postgresql":
        conn.execute(
            select(
                func.pg_advisory_xact_lock(
                    literal(_FAMILY_LOCK_CLASS), func.hashtext(record.family_id)
                )
            )
        )
    consumed = conn.execute(
        _CONSUME, {"presented": record.token_hash, "now": now, "successor_jti": new.jti}
    )
    assert consumed.rowcount == 1
    conn.execute(_INSERT, token_row(new))
    return token


def wait_until_blocked(engine: Engine, thread: threading.Thread) -> None:
    """Return once ``thread`` is blocked by the held rotation (or, on SQLite, after a while)."""
    if engine.dialect.name != "postgresql":
        time.sleep(0.3)  # the busy timeout (30 s) keeps it waiting for the write lock
        assert thread.is_alive(), "the revocation did not wait for the rotation's write lock"
        return
    query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one():
                return
        if not thread.is_alive():
            return  # it did not wait at all: the assertions below judge the outcome
        time.sleep(0.01)
    raise AssertionError("the revocation neither waited nor finished")


@pytest.mark.parametrize("revoke", REVOCATIONS.values(), ids=REVOCATIONS.keys())
def test_a_revocation_during_a_rotation_revokes_its_successor(
    engine: Engine, revoke: Revoke
) -> None:
    """A rotation holds its successor uncommitted; the revocation started meanwhile revokes it."""
    tokens = RefreshTokens(SqlRefreshTokenStore(engine))
    user_id = make_user(engine)
    held = tokens.start_family(user_id, ("user",))
    other = tokens.start_family(user_id, ("user",))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            revoke(tokens, user_id)
        except BaseException as exc:  # asserted below, with its type
            errors.append(exc)

    with engine.begin() as holder:
        successor = begin_rotation(holder, held.record)
        thread = threading.Thread(target=run)
        thread.start()
        wait_until_blocked(engine, thread)
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert errors == []
    assert live_tokens(engine, user_id) == 0, "a token of the user is still live"
    for token in (successor, other.token):
        with pytest.raises(InvalidToken):
            tokens.rotate(token, roles_of)


def test_memory_store_revocation_is_atomic_with_rotation() -> None:
    """The memory store runs rotations and revocations under one lock: nothing to race."""
    store = MemoryRefreshTokenStore()
    tokens = RefreshTokens(store)
    chains = [tokens.start_family("u1", ("user",)) for _ in range(4)]
    stop = threading.Event()
    latest = [chain.token for chain in chains]

    def rotate(index: int) -> None:
        while not stop.is_set():
            try:
                latest[index] = tokens.rotate(latest[index], roles_of).token
            except (InvalidToken, TokenReused):
                return

    threads = [threading.Thread(target=rotate, args=(i,)) for i in range(len(chains))]
    for thread in threads:
        thread.start()
    time.sleep(0.05)
    tokens.revoke_user("u1")
    for thread in threads:
        thread.join(timeout=10)
    stop.set()
    assert all(not thread.is_alive() for thread in threads)
    assert_all_refused(tokens, latest)


def assert_all_refused(tokens: RefreshTokens, latest: list[str]) -> None:
    for token in latest:
        with pytest.raises((InvalidToken, TokenReused)):
            tokens.rotate(token, roles_of)


ROTATORS = 6
ROUNDS = 4
AFTER_REVOCATION = 30
"""Rotations a chain may still make after the revocation returned before the test
calls it a leak (a live successor rotates forever; a revoked one fails at once)."""


@pytest.mark.parametrize("batch", [64, 2], ids=["one_batch", "batches_of_two"])
@pytest.mark.parametrize("revokers", [1, 2], ids=["one_revoker", "two_revokers"])
def test_rotations_racing_revoke_user_leave_nothing_live(
    engine: Engine, revokers: int, batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Threads rotate the user's families while ``revoke_user`` runs (once or twice at once).

    Afterwards every token of the user is revoked and refreshing with the newest
    token of each chain fails; no thread sees a database error (a deadlock
    between the revocation's family locks and a rotation's would be one). With
    batches of two families, the revocation's later transactions run too.
    """
    monkeypatch.setattr(_tokens, "_REVOKE_BATCH", batch)
    tokens = RefreshTokens(SqlRefreshTokenStore(engine))
    for _ in range(ROUNDS):
        race_one_round(engine, tokens, revokers)


def race_one_round(engine: Engine, tokens: RefreshTokens, revokers: int) -> None:
    user_id = make_user(engine)
    latest = [tokens.start_family(user_id, ("user",)).token for _ in range(ROTATORS)]
    revoked = threading.Event()
    errors: list[BaseException] = []
    leaked: list[int] = []

    def rotate(index: int) -> None:
        after = 0
        try:
            while True:
                issued: IssuedRefreshToken = tokens.rotate(latest[index], roles_of)
                latest[index] = issued.token
                if revoked.is_set():
                    after += 1
                    if after >= AFTER_REVOCATION:
                        leaked.append(index)
                        return
        except (InvalidToken, TokenReused):
            return
        except BaseException as exc:  # asserted below, with its type
            errors.append(exc)

    def revoke() -> None:
        try:
            tokens.revoke_user(user_id)
        except BaseException as exc:  # asserted below, with its type
            errors.append(exc)

    rotators = [threading.Thread(target=rotate, args=(i,)) for i in range(ROTATORS)]
    for thread in rotators:
        thread.start()
    time.sleep(0.05)
    revoking = [threading.Thread(target=revoke) for _ in range(revokers)]
    for thread in revoking:
        thread.start()
    for thread in revoking:
        thread.join(timeout=60)
    revoked.set()
    for thread in rotators:
        thread.join(timeout=60)
    assert all(not thread.is_alive() for thread in rotators + revoking)
    assert errors == [], errors
    assert leaked == [], f"chains {leaked} kept rotating after revoke_user returned"
    assert live_tokens(engine, user_id) == 0
    assert_all_refused(tokens, latest)


def test_many_families_are_revoked_in_batches(engine: Engine) -> None:
    """More families than one transaction locks: every batch is revoked, each token counted once."""
    tokens = RefreshTokens(SqlRefreshTokenStore(engine))
    user_id = make_user(engine)
    families = 2 * _tokens._REVOKE_BATCH + 5
    issued = [tokens.start_family(user_id, ("user",)) for _ in range(families)]
    spared = issued[0].record.family_id
    assert tokens.revoke_user(user_id, except_family=spared) == families - 1
    assert live_tokens(engine, user_id) == 1
    assert tokens.revoke_users([user_id, str(uuid.uuid4())]) == 1
    assert live_tokens(engine, user_id) == 0
    assert tokens.revoke_users([]) == 0
