"""The bearer check's one statement agrees with the stores it replaces, on both backends.

``SqlSessionUsers.load`` (one statement compiled once, run on a DBAPI cursor)
must return exactly what ``SqlUserStore.get`` and
``SqlRefreshTokenStore.family_is_live`` return separately: the same ``User``
(every column, roles in order) and the same liveness, for live, revoked,
expired and unknown sessions, users without roles, and unknown users. And
``find_by_login``, compiled the same way, still finds by either canonical name.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from authkit.clock import FrozenClock
from authkit.storage import SqlRefreshTokenStore, SqlUserStore
from authkit.storage.sql._session_users import SqlSessionUsers
from authkit.tokens import RefreshLifetimes, RefreshTokens
from authkit.users import NewUser

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def make_user(engine: Engine, roles: tuple[str, ...] = ("user",), active: bool = True) -> str:
    user_id = str(uuid.uuid4())
    SqlUserStore(engine).create(
        NewUser(
            id=user_id,
            username=f"U{user_id[:8]}",
            email=f"{user_id}@Example.test",
            password_hash="x",
            roles=roles,
            is_active=active,
            created_at=NOW,
        )
    )
    return user_id


def agrees(engine: Engine, user_id: str, family_id: str | None, now: datetime) -> None:
    user, live = SqlSessionUsers(engine).load(user_id, family_id, now=now)
    assert user == SqlUserStore(engine).get(user_id)
    expected = family_id is not None and SqlRefreshTokenStore(engine).family_is_live(
        family_id, now=now
    )
    assert live is (user is not None and expected)


def test_live_revoked_expired_and_unknown_sessions(engine: Engine) -> None:
    clock = FrozenClock(NOW)
    tokens = RefreshTokens(
        SqlRefreshTokenStore(engine),
        RefreshLifetimes(idle_seconds=60, absolute_seconds=120),
        clock=clock,
    )
    user_id = make_user(engine, roles=("user", "admin", "auditor"))
    live = tokens.start_family(user_id, ("user",))
    revoked = tokens.start_family(user_id, ("user",))
    tokens.revoke_family_of_record(revoked.record)
    user, is_live = SqlSessionUsers(engine).load(user_id, live.record.family_id, now=NOW)
    assert user is not None
    assert user.roles == ("admin", "auditor", "user")  # ordered, as get() gives them
    assert is_live
    for family in (live.record.family_id, revoked.record.family_id, "no-such-family", None):
        agrees(engine, user_id, family, NOW)
        agrees(engine, user_id, family, NOW + timedelta(seconds=121))  # family expired
    assert not SqlSessionUsers(engine).load(user_id, revoked.record.family_id, now=NOW)[1]
    assert not SqlSessionUsers(engine).load(
        user_id, live.record.family_id, now=NOW + timedelta(seconds=121)
    )[1]


def test_users_without_roles_inactive_and_unknown(engine: Engine) -> None:
    bare = make_user(engine, roles=())
    inactive = make_user(engine, active=False)
    for user_id in (bare, inactive, str(uuid.uuid4())):
        agrees(engine, user_id, None, NOW)
    assert SqlSessionUsers(engine).load(str(uuid.uuid4()), "x", now=NOW) == (None, False)
    user, _ = SqlSessionUsers(engine).load(bare, None, now=NOW)
    assert user is not None
    assert user.roles == ()
    stored = SqlSessionUsers(engine).load(inactive, None, now=NOW)[0]
    assert stored is not None
    assert stored.is_active is False


def test_a_session_of_another_user_is_not_live_for_this_one(engine: Engine) -> None:
    """Liveness is of the family named, whoever owns it: the token's own ``sid``."""
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=FrozenClock(NOW))
    first, second = make_user(engine), make_user(engine)
    family = tokens.start_family(second, ("user",)).record.family_id
    agrees(engine, first, family, NOW)


def test_find_by_login_by_either_canonical_name(engine: Engine) -> None:
    store = SqlUserStore(engine)
    user_id = make_user(engine, roles=("user", "admin"))
    expected = store.get(user_id)
    assert expected is not None
    assert store.find_by_login(expected.username.lower()) == expected
    assert store.find_by_login(expected.email.upper()) == expected
    assert store.find_by_login("nobody@example.test") is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    roles=st.lists(st.sampled_from(["user", "admin", "auditor", "ops"]), unique=True),
    active=st.booleans(),
    revoke=st.booleans(),
    later=st.integers(min_value=0, max_value=40 * 24 * 3600),
)
def test_agrees_with_the_separate_reads(
    engine: Engine, roles: list[str], active: bool, revoke: bool, later: int
) -> None:
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=FrozenClock(NOW))
    user_id = make_user(engine, roles=tuple(roles), active=active)
    issued = tokens.start_family(user_id, tuple(roles))
    if revoke:
        tokens.revoke_family_of_record(issued.record)
    agrees(engine, user_id, issued.record.family_id, NOW + timedelta(seconds=later))
