"""Concurrent refreshes of one token: exactly one wins (the consume is one conditional update).

Twenty threads released together by a barrier present the same refresh token to
``RefreshTokens.rotate`` over ``SqlRefreshTokenStore``; on SQLite (BEGIN IMMEDIATE
plus a busy timeout) and PostgreSQL. The losers must see TokenReused or
InvalidToken, never a database error, and no second successor may exist. In the
style of ``alisaifee/limits``' ``tests/integration/test_concurrency.py``.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from authkit.clock import FrozenClock
from authkit.errors import InvalidToken, TokenReused
from authkit.storage import (
    MemoryRefreshTokenStore,
    SqlRefreshTokenStore,
    SqlUserStore,
    refresh_tokens,
)
from authkit.tokens import IssuedRefreshToken, RefreshTokens, RefreshTokenStore
from authkit.users import NewUser

THREADS = 20
NOW = datetime(2026, 1, 1, tzinfo=UTC)


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


def race(tokens: RefreshTokens, token: str) -> tuple[list[IssuedRefreshToken], Counter[str]]:
    """Refresh ``token`` from THREADS threads at once; the winners and the error names."""
    barrier = threading.Barrier(THREADS)
    winners: list[IssuedRefreshToken] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            issued = tokens.rotate(token, roles_of)
        except Exception as exc:  # every kind is counted: only two are allowed
            with lock:
                errors[type(exc).__name__] += 1
        else:
            with lock:
                winners.append(issued)

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a refresh hung"
    return winners, errors


def assert_one_winner(winners: list[IssuedRefreshToken], errors: Counter[str]) -> None:
    assert len(winners) == 1, f"exactly one refresh wins, got {len(winners)}"
    assert set(errors) <= {TokenReused.__name__, InvalidToken.__name__}, errors
    assert sum(errors.values()) == THREADS - 1


def test_one_of_twenty_concurrent_refreshes_wins_sql(engine: Engine) -> None:
    """SQL store: one successor, nineteen TokenReused/InvalidToken, never a DB error."""
    clock = FrozenClock(NOW)
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=clock)
    user_id = make_user(engine)
    for _ in range(3):
        first = tokens.start_family(user_id, ("user",))
        clock.advance(60)
        winners, errors = race(tokens, first.token)
        assert_one_winner(winners, errors)
        with engine.connect() as conn:
            in_family = conn.execute(
                select(func.count())
                .select_from(refresh_tokens)
                .where(refresh_tokens.c.family_id == first.record.family_id)
            ).scalar_one()
        assert in_family == 2, "the presented token and exactly one successor"
        consumed = tokens.find(first.token)
        assert consumed is not None
        assert consumed.replaced_by == winners[0].record.jti
        if errors[TokenReused.__name__]:
            with pytest.raises(InvalidToken):
                tokens.lookup(winners[0].token)  # reuse revoked the family, winner included


def test_one_of_twenty_concurrent_refreshes_wins_memory() -> None:
    """The in-memory store keeps the same promise under threads."""
    store: RefreshTokenStore = MemoryRefreshTokenStore()
    tokens = RefreshTokens(store, clock=FrozenClock(NOW))
    first = tokens.start_family("u", ("user",))
    winners, errors = race(tokens, first.token)
    assert_one_winner(winners, errors)


def test_concurrent_refreshes_of_different_families_all_succeed(engine: Engine) -> None:
    """Write contention alone never fails a refresh (no 'database is locked')."""
    clock = FrozenClock(NOW)
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=clock)
    user_id = make_user(engine)
    issued = [tokens.start_family(user_id, ("user",)) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    results: list[str] = []
    lock = threading.Lock()

    def attempt(token: str) -> None:
        barrier.wait()
        try:
            tokens.rotate(token, roles_of)
            outcome = "ok"
        except Exception as exc:
            outcome = type(exc).__name__
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(i.token,)) for i in issued]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == ["ok"] * THREADS


def test_reuse_races_down_a_chain_never_deadlock_sql(engine: Engine) -> None:
    """Presenters of a rotated token all revoke its family while the winner inserts.

    On PostgreSQL the family's row locks alone could deadlock there (a 500 instead of
    ``token_reused``, found by ``benchmarks/bench_refresh_pg.py``); every change to a
    family now takes the family's advisory lock first. Many short races, each on a
    family with history, so the interleavings vary; never a database error.
    """
    clock = FrozenClock(NOW)
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=clock)
    user_id = make_user(engine)
    for _ in range(15):
        issued = tokens.start_family(user_id, ("user",))
        for _ in range(2):  # some history: the family has several rows
            clock.advance(1)
            issued = tokens.rotate(issued.token, roles_of)
        clock.advance(1)
        winners, errors = race(tokens, issued.token)
        assert_one_winner(winners, errors)
