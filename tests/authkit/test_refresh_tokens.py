"""Refresh tokens: lifetimes, rotation, reuse detection (RFC 9700 §4.14.2), logout.

The unit tests pin each rule with a FrozenClock; a hypothesis state machine then
drives issue / refresh / reuse / logout / deactivate / advance-clock at random and
checks after every step that the store agrees with a simple model: a used, revoked
or expired token never succeeds, and a reuse kills its whole family. The machine
runs over the memory store and (smaller) over the SQL store on the ``engine``
fixture (SQLite, and PostgreSQL when configured).
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine

from authkit.clock import FrozenClock
from authkit.errors import ConfigurationError, InvalidToken, TokenReused
from authkit.storage import MemoryRefreshTokenStore, SqlRefreshTokenStore, SqlUserStore
from authkit.tokens import RefreshLifetimes, RefreshTokens, RefreshTokenStore
from authkit.users import NewUser

NOW = datetime(2026, 1, 1, tzinfo=UTC)
DAY = 24 * 3600


def user_roles(_user_id: str) -> tuple[str, ...]:
    return ("user",)


def admin_roles(_user_id: str) -> tuple[str, ...]:
    return ("admin", "user")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def store() -> MemoryRefreshTokenStore:
    return MemoryRefreshTokenStore()


@pytest.fixture
def tokens(store: MemoryRefreshTokenStore, clock: FrozenClock) -> RefreshTokens:
    return RefreshTokens(store, clock=clock)


# -- lifetimes --------------------------------------------------------------------


def test_default_lifetimes() -> None:
    """Users: 7 days idle, 30 days absolute; admins: 1 hour idle, 24 hours absolute."""
    lifetimes = RefreshLifetimes()
    assert lifetimes.for_roles(("user",)) == (7 * DAY, 30 * DAY)
    assert lifetimes.for_roles(()) == (7 * DAY, 30 * DAY)
    assert lifetimes.for_roles(("user", "admin")) == (3600, DAY)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"idle_seconds": 0},
        {"absolute_seconds": -1},
        {"idle_seconds": 10, "absolute_seconds": 5},
        {"admin_idle_seconds": DAY + 1},
    ],
)
def test_lifetimes_are_validated(kwargs: dict[str, int]) -> None:
    """Non-positive lifetimes, or idle longer than absolute, are configuration errors."""
    with pytest.raises(ConfigurationError):
        RefreshLifetimes(**kwargs)


def test_start_family_for_a_user(tokens: RefreshTokens) -> None:
    """A user's first token lives 7 days idle inside a 30-day family."""
    issued = tokens.start_family("user-1", ("user",))
    record = issued.record
    assert record.user_id == "user-1"
    assert record.issued_at == NOW
    assert record.expires_at == NOW + timedelta(days=7)
    assert record.family_expires_at == NOW + timedelta(days=30)
    assert record.used_at is None
    assert record.revoked_at is None
    assert record.replaced_by is None
    assert issued.expires_in(NOW) == 7 * DAY
    assert issued.expires_in(NOW + timedelta(days=8)) == 0
    assert record.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert len(issued.token) >= 43


def test_start_family_for_an_admin(tokens: RefreshTokens) -> None:
    """An admin's token lives 1 hour idle inside a 24-hour family (NIST AAL2)."""
    record = tokens.start_family("admin-1", ("admin",)).record
    assert record.expires_at == NOW + timedelta(hours=1)
    assert record.family_expires_at == NOW + timedelta(hours=24)


def test_each_sign_in_is_its_own_family(tokens: RefreshTokens) -> None:
    """Two sign-ins of one user get two families and two distinct tokens."""
    first, second = tokens.start_family("u", ("user",)), tokens.start_family("u", ("user",))
    assert first.token != second.token
    assert first.record.family_id != second.record.family_id


# -- rotation ---------------------------------------------------------------------


def test_rotate_returns_a_successor_in_the_same_family(
    tokens: RefreshTokens, clock: FrozenClock
) -> None:
    """Refreshing consumes the token and issues a new one of the same family."""
    first = tokens.start_family("u", ("user",))
    clock.advance(3600)
    second = tokens.rotate(first.token, user_roles)
    assert second.token != first.token
    assert second.record.family_id == first.record.family_id
    assert second.record.issued_at == clock.now()
    assert second.record.expires_at == clock.now() + timedelta(days=7)
    assert second.record.family_expires_at == first.record.family_expires_at
    old = tokens.find(first.token)
    assert old is not None
    assert old.used_at == clock.now()
    assert old.replaced_by == second.record.jti


def test_idle_expiry(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """A token unused for the idle lifetime is refused, to the second."""
    first = tokens.start_family("u", ("user",))
    clock.advance(7 * DAY - 1)
    second = tokens.rotate(first.token, user_roles)
    clock.advance(7 * DAY)
    with pytest.raises(InvalidToken):
        tokens.rotate(second.token, user_roles)
    with pytest.raises(InvalidToken):
        tokens.lookup(second.token)


def test_admin_idle_expiry(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """An admin's token unused for an hour is refused."""
    first = tokens.start_family("a", ("admin",))
    clock.advance(3600)
    with pytest.raises(InvalidToken):
        tokens.rotate(first.token, admin_roles)


def test_absolute_expiry_caps_successors(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """Refreshing every 50 minutes cannot stretch an admin session past 24 hours."""
    issued = tokens.start_family("a", ("admin",))
    family_end = issued.record.family_expires_at
    while clock.now() + timedelta(minutes=50) < family_end:
        clock.advance(50 * 60)
        issued = tokens.rotate(issued.token, admin_roles)
        assert issued.record.expires_at <= family_end
        assert issued.record.family_expires_at == family_end
    assert issued.record.expires_at == family_end, "the last successor is capped, not +1h"
    assert issued.expires_in(clock.now()) < 3600
    clock.current = family_end
    with pytest.raises(InvalidToken):
        tokens.rotate(issued.token, admin_roles)


def test_user_absolute_expiry(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """A user's family ends after 30 days however often it is refreshed."""
    issued = tokens.start_family("u", ("user",))
    for _ in range(4):
        clock.advance(6 * DAY)
        issued = tokens.rotate(issued.token, user_roles)
    assert issued.record.expires_at == NOW + timedelta(days=30)
    clock.current = NOW + timedelta(days=30)
    with pytest.raises(InvalidToken):
        tokens.rotate(issued.token, user_roles)


def test_promotion_to_admin_shortens_the_next_token(
    tokens: RefreshTokens, clock: FrozenClock
) -> None:
    """The successor's idle lifetime follows the user's roles at refresh time."""
    first = tokens.start_family("u", ("user",))
    second = tokens.rotate(first.token, admin_roles)
    assert second.record.expires_at == NOW + timedelta(hours=1)


def test_reuse_raises_and_kills_the_newest_token(tokens: RefreshTokens) -> None:
    """Presenting a rotated token again is TokenReused and revokes its successors."""
    first = tokens.start_family("u", ("user",))
    second = tokens.rotate(first.token, user_roles)
    third = tokens.rotate(second.token, user_roles)
    bystander = tokens.start_family("u", ("user",))
    with pytest.raises(TokenReused):
        tokens.rotate(first.token, user_roles)
    for dead in (first, second, third):
        with pytest.raises(InvalidToken):
            tokens.lookup(dead.token)
    with pytest.raises(InvalidToken):
        tokens.rotate(third.token, user_roles)
    newest = tokens.find(third.token)
    assert newest is not None
    assert newest.revoked_at is not None
    assert tokens.lookup(bystander.token).family_id == bystander.record.family_id


def test_reuse_is_reported_again_on_a_second_replay(tokens: RefreshTokens) -> None:
    """Every replay of a used token is TokenReused (the attacker learns nothing new)."""
    first = tokens.start_family("u", ("user",))
    tokens.rotate(first.token, user_roles)
    for _ in range(2):
        with pytest.raises(TokenReused):
            tokens.rotate(first.token, user_roles)


@pytest.mark.parametrize("token", ["", "short", "x" * 19, "x" * 129, "unknown-" + "x" * 40])
def test_unknown_or_malformed_tokens(tokens: RefreshTokens, token: str) -> None:
    """Unknown or ill-sized tokens are InvalidToken everywhere; find() gives None."""
    with pytest.raises(InvalidToken):
        tokens.rotate(token, user_roles)
    with pytest.raises(InvalidToken):
        tokens.lookup(token)
    with pytest.raises(InvalidToken):
        tokens.revoke_family_of(token)
    assert tokens.find(token) is None


def test_non_string_token_is_invalid(tokens: RefreshTokens) -> None:
    """A JSON number or null where a token belongs is InvalidToken, not a TypeError."""
    for value in (None, 12, b"x" * 43):
        with pytest.raises(InvalidToken):
            tokens.rotate(value, user_roles)  # type: ignore[arg-type]


def test_access_token_is_not_a_refresh_token(tokens: RefreshTokens) -> None:
    """A JWT-shaped string is just an unknown refresh token."""
    with pytest.raises(InvalidToken):
        tokens.rotate("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl", user_roles)


# -- lookup, logout, deactivation ------------------------------------------------------


def test_lookup_only_returns_live_tokens(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """lookup gives the record of a live token and InvalidToken for used or expired ones."""
    first = tokens.start_family("u", ("user",))
    assert tokens.lookup(first.token) == first.record
    second = tokens.rotate(first.token, user_roles)
    with pytest.raises(InvalidToken):
        tokens.lookup(first.token)
    assert tokens.lookup(second.token).jti == second.record.jti
    clock.current = second.record.expires_at
    with pytest.raises(InvalidToken):
        tokens.lookup(second.token)


def test_revoke_family_of_logs_out(tokens: RefreshTokens) -> None:
    """Logout revokes the presented token's family; the token then fails everywhere."""
    first = tokens.start_family("u", ("user",))
    other = tokens.start_family("u", ("user",))
    record = tokens.revoke_family_of(first.token)
    assert record.family_id == first.record.family_id
    with pytest.raises(InvalidToken):
        tokens.rotate(first.token, user_roles)
    with pytest.raises(InvalidToken):
        tokens.lookup(first.token)
    with pytest.raises(InvalidToken):
        tokens.revoke_family_of(first.token)
    assert tokens.lookup(other.token) == other.record


def test_roles_of_none_revokes_the_family(tokens: RefreshTokens) -> None:
    """A deactivated or deleted user cannot refresh, and the session is revoked."""
    first = tokens.start_family("u", ("user",))
    seen: list[str] = []

    def gone(user_id: str) -> tuple[str, ...] | None:
        seen.append(user_id)
        return None

    with pytest.raises(InvalidToken):
        tokens.rotate(first.token, gone)
    assert seen == ["u"]
    record = tokens.find(first.token)
    assert record is not None
    assert record.revoked_at is not None
    assert record.used_at is None
    with pytest.raises(InvalidToken):  # reactivation does not revive the session
        tokens.rotate(first.token, user_roles)


def test_revoke_user_spares_one_family(tokens: RefreshTokens) -> None:
    """revoke_user(except_family=...) keeps the caller's own session."""
    keep = tokens.start_family("u", ("user",))
    drop = [tokens.start_family("u", ("user",)) for _ in range(2)]
    other = tokens.start_family("v", ("user",))
    assert tokens.revoke_user("u", except_family=keep.record.family_id) == 2
    tokens.lookup(keep.token)
    tokens.lookup(other.token)
    for issued in drop:
        with pytest.raises(InvalidToken):
            tokens.lookup(issued.token)
    assert tokens.revoke_user("u") == 1


def test_purge(tokens: RefreshTokens, clock: FrozenClock) -> None:
    """purge drops revoked and expired rows; a used row of a live family is kept."""
    live = tokens.start_family("u", ("user",))
    successor = tokens.rotate(live.token, user_roles)
    dead = tokens.start_family("u", ("user",))
    tokens.revoke_family_of(dead.token)
    assert tokens.purge() == 1
    assert tokens.find(live.token) is not None, "kept for reuse detection"
    assert tokens.find(dead.token) is None
    with pytest.raises(TokenReused):
        tokens.rotate(live.token, user_roles)
    clock.advance(31 * DAY)
    assert tokens.purge() == 2
    assert tokens.find(successor.token) is None


# -- the state machine -------------------------------------------------------------------

LIFETIMES = RefreshLifetimes(
    idle_seconds=3600,
    absolute_seconds=4 * 3600,
    admin_idle_seconds=900,
    admin_absolute_seconds=2 * 3600,
)


@dataclass
class Expected:
    """What the model knows of one issued token."""

    family: str
    user: str
    expires_at: datetime
    family_expires_at: datetime
    used: bool = False


@dataclass
class Model:
    tokens: dict[str, Expected] = field(default_factory=dict)
    revoked_families: set[str] = field(default_factory=set)
    deactivated: set[str] = field(default_factory=set)

    def live(self, token: str, now: datetime) -> bool:
        e = self.tokens[token]
        return (
            not e.used
            and e.family not in self.revoked_families
            and now < e.expires_at
            and now < e.family_expires_at
        )


class RefreshMachine(RuleBasedStateMachine):
    """Random sessions against RefreshTokens, checked against ``Model`` after every step."""

    issued = Bundle("issued")

    def __init__(self) -> None:
        super().__init__()
        self.clock = FrozenClock(NOW)
        self.admin_id, self.user_id = str(uuid.uuid4()), str(uuid.uuid4())
        self.users = {self.admin_id: ("admin",), self.user_id: ("user",)}
        self.store = self.make_store()
        self.tokens = RefreshTokens(self.store, LIFETIMES, clock=self.clock)
        self.model = Model()

    def make_store(self) -> RefreshTokenStore:
        return MemoryRefreshTokenStore()

    def roles_of(self, user_id: str) -> tuple[str, ...] | None:
        return None if user_id in self.model.deactivated else self.users[user_id]

    def remember(self, token: str, user: str, expires_at: datetime, family_end: datetime) -> None:
        record = self.tokens.lookup(token)
        self.model.tokens[token] = Expected(
            family=record.family_id,
            user=user,
            expires_at=expires_at,
            family_expires_at=family_end,
        )

    @rule(target=issued, admin=st.booleans())
    def sign_in(self, admin: bool) -> str:
        user = self.admin_id if admin else self.user_id
        issued = self.tokens.start_family(user, self.users[user])
        self.remember(issued.token, user, issued.record.expires_at, issued.record.family_expires_at)
        return issued.token

    @rule(target=issued, token=issued)
    def refresh(self, token: str) -> str:
        expected = self.model.tokens[token]
        now = self.clock.now()
        was_live = self.model.live(token, now)
        try:
            successor = self.tokens.rotate(token, self.roles_of)
        except TokenReused:
            assert expected.used, "only a used token is reported as reused"
            assert expected.user not in self.model.deactivated
            self.model.revoked_families.add(expected.family)
            return token
        except InvalidToken:
            assert not was_live or expected.user in self.model.deactivated
            if expected.user in self.model.deactivated:
                self.model.revoked_families.add(expected.family)
            return token
        assert was_live, "a used, revoked or expired token never succeeds"
        assert expected.user not in self.model.deactivated
        assert successor.record.family_id == expected.family
        assert successor.record.family_expires_at == expected.family_expires_at
        idle, _ = LIFETIMES.for_roles(self.users[expected.user])
        assert successor.record.expires_at == min(
            now + timedelta(seconds=idle), expected.family_expires_at
        )
        expected.used = True
        self.remember(
            successor.token,
            expected.user,
            successor.record.expires_at,
            successor.record.family_expires_at,
        )
        return successor.token

    @rule(token=issued)
    def replay(self, token: str) -> None:
        """Present a token that has certainly been used: always reuse (or a dead user)."""
        expected = self.model.tokens[token]
        if not expected.used:
            return
        error: type[Exception] = (
            InvalidToken if expected.user in self.model.deactivated else TokenReused
        )
        with pytest.raises(error):
            self.tokens.rotate(token, self.roles_of)
        self.model.revoked_families.add(expected.family)

    @rule(token=issued)
    def logout(self, token: str) -> None:
        expected = self.model.tokens[token]
        if self.model.live(token, self.clock.now()):
            assert self.tokens.revoke_family_of(token).family_id == expected.family
            self.model.revoked_families.add(expected.family)
        else:
            with pytest.raises(InvalidToken):
                self.tokens.revoke_family_of(token)
            if expected.used:  # a rotated token at logout is a reuse: the family dies
                self.model.revoked_families.add(expected.family)

    @rule(admin=st.booleans(), active=st.booleans())
    def set_active(self, admin: bool, active: bool) -> None:
        user = self.admin_id if admin else self.user_id
        if active:
            self.model.deactivated.discard(user)
        else:
            self.model.deactivated.add(user)

    @rule(seconds=st.sampled_from([1, 60, 600, 899, 900, 1800, 3599, 3600, 2 * 3600]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: bool(self.model.revoked_families))
    @invariant()
    def revoked_families_are_dead(self) -> None:
        """Every token of a revoked (e.g. reused) family fails, whatever its own state."""
        for token, expected in self.model.tokens.items():
            if expected.family in self.model.revoked_families:
                with pytest.raises(InvalidToken):
                    self.tokens.lookup(token)

    @invariant()
    def store_agrees_with_model(self) -> None:
        """lookup succeeds exactly for the tokens the model holds live."""
        now = self.clock.now()
        live_per_family: dict[str, int] = {}
        for token, expected in self.model.tokens.items():
            if self.model.live(token, now):
                assert self.tokens.lookup(token).family_id == expected.family
                live_per_family[expected.family] = live_per_family.get(expected.family, 0) + 1
            else:
                with pytest.raises(InvalidToken):
                    self.tokens.lookup(token)
        assert all(n == 1 for n in live_per_family.values()), "one live token per family"


class SqlRefreshMachine(RefreshMachine):
    engine: Engine

    def make_store(self) -> RefreshTokenStore:
        user_store = SqlUserStore(self.engine)
        for user_id, roles in self.users.items():
            user_store.create(
                NewUser(
                    id=user_id,
                    username=f"u{user_id}",
                    email=f"{user_id}@example.test",
                    password_hash="x",
                    roles=roles,
                    is_active=True,
                    created_at=NOW,
                )
            )
        return SqlRefreshTokenStore(self.engine)


TestRefreshMachineMemory = RefreshMachine.TestCase
TestRefreshMachineMemory.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None
)


def test_refresh_machine_sql(engine: Engine) -> None:
    """The same state machine over SqlRefreshTokenStore (fewer, shorter runs)."""

    class Machine(SqlRefreshMachine):
        pass

    Machine.engine = engine
    run_state_machine_as_test(
        Machine,
        settings=settings(
            max_examples=15,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


def test_amr_is_kept_across_rotations(tokens: RefreshTokens) -> None:
    """The family remembers how its sign-in authenticated, for every successor."""
    first = tokens.start_family("u1", ("user",), amr=("pwd", "otp"))
    second = tokens.rotate(first.token, user_roles)
    third = tokens.rotate(second.token, user_roles)
    assert first.record.amr == second.record.amr == third.record.amr == ("pwd", "otp")


def test_amr_round_trips_through_the_sql_store(engine: Engine, clock: FrozenClock) -> None:
    users = SqlUserStore(engine)
    users.create(
        NewUser(
            id="u-amr",
            username="amr-user",
            email="amr@example.test",
            password_hash="x",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )
    tokens = RefreshTokens(SqlRefreshTokenStore(engine), clock=clock)
    first = tokens.start_family("u-amr", ("user",), amr=("pwd", "otp"))
    second = tokens.rotate(first.token, user_roles)
    assert tokens.lookup(second.token).amr == ("pwd", "otp")
    plain = tokens.start_family("u-amr", ("user",))
    assert tokens.lookup(plain.token).amr == ()
