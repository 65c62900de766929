"""``SessionCache``: good bearer-check answers kept briefly, dropped at once on any change.

The unit tests drive the cache with an injected monotonic clock; the service tests
warm the cache through ``AuthService`` (memory stores, and SQLite through
``authkit.build``) and check that every change that ends or alters a session is
seen by the very next ``authenticate_access_token``. A stateful Hypothesis model
checks that no interleaving of reads, writes, bumps and clock steps returns an
answer older than the last bump or older than the TTL.
"""

from __future__ import annotations

import multiprocessing
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyotp
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from authkit import Authkit, AuthkitConfig, build, open_stores
from authkit.errors import ConfigurationError, InvalidToken, TokenReused
from authkit.passwords import Argon2Parameters
from authkit.roles import ADMIN
from authkit.sessions import (
    HARMLESS_EVENTS,
    HARMLESS_OUTCOMES,
    FileEpoch,
    MemoryEpoch,
    SessionCache,
    SessionCacheConfig,
    SessionMark,
)
from authkit.users import User

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024)
SECRET = "a-test-secret-key-of-32-characters"
PASSWORD = "violet-harbour-7-lanterns"
NEW_PASSWORD = "Orchid!Lantern?Comet-58"
ADDR = "198.51.100.4"


def a_user(user_id: str = "u1", *, roles: tuple[str, ...] = ()) -> User:
    return User(
        id=user_id,
        username=f"name-{user_id}",
        email=f"{user_id}@example.com",
        roles=roles,
        is_active=True,
        mfa_enabled=False,
        created_at=NOW,
        last_login_at=None,
        password_hash="x",
    )


class Monotonic:
    """A hand-driven monotonic clock."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def cache_of(ttl: float = 0.5, *, max_entries: int = 10_000) -> tuple[SessionCache, Monotonic]:
    clock = Monotonic()
    config = SessionCacheConfig(ttl_seconds=ttl, max_entries=max_entries)
    return SessionCache(config, epoch=MemoryEpoch(), monotonic=clock), clock


# -- the cache on its own ---------------------------------------------------------------


def test_a_put_answer_is_a_hit_until_its_ttl_then_a_miss() -> None:
    cache, clock = cache_of(0.5)
    user = a_user()
    assert cache.get("u1", "s1") is None
    cache.put("u1", "s1", user, cache.mark())
    assert cache.get("u1", "s1") is user
    assert cache.get("u1", "s2") is None  # another session of the same user
    assert cache.get("u2", "s1") is None
    clock.advance(0.49)
    assert cache.get("u1", "s1") is user
    clock.advance(0.01)
    assert cache.get("u1", "s1") is None
    assert len(cache) == 0  # the expired entry is dropped on read


def test_the_ttl_counts_from_the_database_read_not_from_the_put() -> None:
    """A slow read (0.4 s in a pool queue) must not stretch the answer's life past ttl.

    The answer reflects the database as of the read; a change made outside the
    audit events just after it is promised to be seen within ``ttl_seconds``.
    """
    cache, clock = cache_of(0.5)
    mark = cache.mark()  # the read starts
    clock.advance(0.4)  # ...and takes 0.4 s
    cache.put("u1", "s1", a_user(), mark)
    clock.advance(0.1)  # 0.5 s after the read: the answer is a ttl old
    assert cache.get("u1", "s1") is None


def test_a_bump_drops_every_answer() -> None:
    cache, _clock = cache_of()
    cache.put("u1", "s1", a_user("u1"), cache.mark())
    cache.put("u2", None, a_user("u2"), cache.mark())
    cache.epoch.bump()  # as another process would: entries stay, but no longer count
    assert cache.get("u1", "s1") is None
    assert cache.get("u2", None) is None


def test_an_answer_read_before_a_bump_is_never_stored() -> None:
    """mark, (another request's change) bump, put: the stale answer must not be served."""
    cache, _clock = cache_of()
    mark = cache.mark()
    cache.observe({"event": "logout", "outcome": "success"})
    cache.put("u1", "s1", a_user(), mark)
    assert cache.get("u1", "s1") is None


def test_an_answer_stored_then_bumped_is_not_served_even_if_put_lands_after_the_clear() -> None:
    """put passes its epoch check, a bump clears the dict, then the entry lands: not served."""
    cache, _clock = cache_of()
    user = a_user()
    mark = cache.mark()
    real_read = cache.epoch.read
    calls = 0

    def read_then_bump() -> bytes:
        # put's own epoch check sees the old value, then a bump happens before it stores.
        nonlocal calls
        calls += 1
        value = real_read()
        if calls == 1:
            cache.epoch.read = real_read  # type: ignore[method-assign]
            cache.invalidate()
        return value

    cache.epoch.read = read_then_bump  # type: ignore[method-assign]
    cache.put("u1", "s1", user, mark)
    assert cache.get("u1", "s1") is None


def test_put_then_bump_is_not_served() -> None:
    cache, _clock = cache_of()
    cache.put("u1", "s1", a_user(), cache.mark())
    cache.observe({"event": "admin.user.update", "outcome": "success"})
    assert cache.get("u1", "s1") is None


@pytest.mark.parametrize("event", sorted(HARMLESS_EVENTS))
@pytest.mark.parametrize("outcome", ["success", "failure", "denied", "pending"])
def test_harmless_events_keep_the_answers(event: str, outcome: str) -> None:
    cache, _clock = cache_of()
    user = a_user()
    cache.put("u1", "s1", user, cache.mark())
    cache.observe({"event": event, "outcome": outcome})
    assert cache.get("u1", "s1") is user


def test_the_harmless_set_is_exactly_sign_ins_registrations_and_link_requests() -> None:
    # Growing this set is a security decision: each new member must be proven harmless.
    assert frozenset(
        {
            "login",
            "login.throttled",
            "register",
            "register.throttled",
            "mfa.verify",
            "password.forgot",
            "password.reset_link",
            "email.verify_request",
            "email.change_request",
        }
    ) == (HARMLESS_EVENTS)


def test_the_harmless_outcomes_are_exactly_rotations_and_refused_links() -> None:
    assert {name: set(outcomes) for name, outcomes in HARMLESS_OUTCOMES.items()} == {
        "token.refresh": {"success", "failure"},
        "password.reset": {"failure"},
        "email.verify": {"failure"},
        "email.change": {"failure"},
    }


@pytest.mark.parametrize(
    ("event", "outcome"),
    [(name, outcome) for name, outcomes in HARMLESS_OUTCOMES.items() for outcome in outcomes],
)
def test_harmless_outcomes_keep_the_answers(event: str, outcome: str) -> None:
    cache, _clock = cache_of()
    user = a_user()
    cache.put("u1", "s1", user, cache.mark())
    cache.observe({"event": event, "outcome": outcome})
    assert cache.get("u1", "s1") is user


_BUMPING_EVENTS = [
    "logout",
    "logout.all",
    "token.reuse_detected",
    "password.change",
    "password.reset",
    "admin.user.update",
    "admin.user.bulk",
    "admin.user.mfa_reset",
    "admin.user.delete",
    "account.delete",
    "mfa.enable",
    "mfa.disable",
    "mfa.recovery_used",
    "email.change",
    "keys.rotate",
    "an.event.added.later",
    "",
]


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (event, outcome)
        for event in _BUMPING_EVENTS
        for outcome in ("success", "failure", "denied")
        if outcome not in HARMLESS_OUTCOMES.get(event, ())
    ],
)
def test_every_other_event_drops_the_answers(event: str, outcome: str) -> None:
    cache, _clock = cache_of()
    cache.put("u1", "s1", a_user(), cache.mark())
    cache.observe({"event": event, "outcome": outcome})
    assert cache.get("u1", "s1") is None


def test_an_event_without_a_name_drops_the_answers() -> None:
    cache, _clock = cache_of()
    cache.put("u1", "s1", a_user(), cache.mark())
    cache.observe({"outcome": "success"})
    assert cache.get("u1", "s1") is None


def test_a_rotation_or_a_refused_refresh_keeps_the_answers_a_denied_one_does_not() -> None:
    cache, _clock = cache_of()
    user = a_user()
    for outcome in ("success", "failure"):
        cache.put("u1", "s1", user, cache.mark())
        cache.observe({"event": "token.refresh", "outcome": outcome})
        assert cache.get("u1", "s1") is user
    for outcome in ("denied",):
        cache.put("u1", "s1", user, cache.mark())
        cache.observe({"event": "token.refresh", "outcome": outcome})
        assert cache.get("u1", "s1") is None


def test_the_cache_never_holds_more_than_max_entries() -> None:
    cache, clock = cache_of(1.0, max_entries=50)
    for i in range(500):
        cache.put(f"u{i}", "s", a_user(f"u{i}"), cache.mark())
        assert len(cache) <= 50
        clock.advance(0.0001)
    # the newest answers are the ones kept
    assert cache.get("u499", "s") is not None
    assert cache.get("u0", "s") is None


def test_a_full_cache_drops_expired_answers_before_live_ones() -> None:
    cache, clock = cache_of(0.5, max_entries=10)
    for i in range(5):
        cache.put(f"old{i}", None, a_user(f"old{i}"), cache.mark())
    clock.advance(0.6)
    for i in range(5):
        cache.put(f"new{i}", None, a_user(f"new{i}"), cache.mark())
    cache.put("newest", None, a_user("newest"), cache.mark())
    assert len(cache) == 6
    assert all(cache.get(f"new{i}", None) is not None for i in range(5))


def test_a_disabled_cache_keeps_nothing() -> None:
    cache = SessionCache(SessionCacheConfig())
    assert not cache.enabled
    cache.put("u1", "s1", a_user(), cache.mark())
    assert cache.get("u1", "s1") is None


@pytest.mark.parametrize(
    ("ttl", "max_entries"),
    [
        (1.01, 10),
        (2, 10),
        (-0.1, 10),
        (True, 10),
        (False, 10),
        ("0.5", 10),
        (float("nan"), 10),
        (float("inf"), 10),
        (0.5, 0),
        (0.5, -1),
        (0.5, True),
        (0.5, 1.5),
    ],
)
def test_bad_settings_are_configuration_errors(ttl: object, max_entries: object) -> None:
    with pytest.raises(ConfigurationError):
        SessionCacheConfig(ttl_seconds=ttl, max_entries=max_entries)  # type: ignore[arg-type]


def test_good_settings_are_accepted() -> None:
    assert not SessionCacheConfig().enabled
    assert SessionCacheConfig(ttl_seconds=1).enabled
    assert SessionCacheConfig(ttl_seconds=0.001, max_entries=1).enabled


# -- a model of the cache: nothing older than the last bump or the TTL ---------------------

TTL = 0.5
KEYS = [("u1", "s1"), ("u1", "s2"), ("u2", None)]


class CacheModel(RuleBasedStateMachine):
    """Any interleaving of mark/put/get/bump/clock steps, checked against a model.

    The model remembers, per key, the bump count and the time at which the stored
    answer was *read* (its mark); a hit must come from a read made after the last
    bump and less than ``ttl`` ago.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = Monotonic()
        self.cache = SessionCache(
            SessionCacheConfig(ttl_seconds=TTL, max_entries=2),
            epoch=MemoryEpoch(),
            monotonic=self.clock,
        )
        self.bumps = 0
        self.pending: list[tuple[SessionMark, int, float]] = []  # (mark, bumps then, time then)
        self.serial = 0
        self.stored: dict[object, tuple[int, float]] = {}  # user object id -> (bumps, time)

    @rule()
    def mark(self) -> None:
        self.pending.append((self.cache.mark(), self.bumps, self.clock.now))

    @precondition(lambda self: bool(self.pending))
    @rule(key=st.sampled_from(KEYS), which=st.integers(min_value=0, max_value=5))
    def put(self, key: tuple[str, str | None], which: int) -> None:
        mark, bumps, read_at = self.pending.pop(which % len(self.pending))
        self.serial += 1
        user = a_user(f"{key[0]}-{self.serial}")
        self.stored[user.id] = (bumps, read_at)
        self.cache.put(key[0], key[1], user, mark)

    @rule(key=st.sampled_from(KEYS))
    def get(self, key: tuple[str, str | None]) -> None:
        user = self.cache.get(*key)
        if user is None:
            return
        bumps, read_at = self.stored[user.id]
        assert bumps == self.bumps, "served an answer read before the last bump"
        # The age counts from the database read (the mark), not from the put: an
        # out-of-band change made just after a slow read must be seen within ttl.
        assert self.clock.now - read_at < TTL, "served an answer older than the ttl"
        assert user.id.startswith(key[0] + "-")

    @rule(event=st.sampled_from(["logout", "admin.user.update", "token.refresh"]))
    def bump(self, event: str) -> None:
        self.cache.observe({"event": event, "outcome": "denied"})
        self.bumps += 1

    @rule()
    def bump_elsewhere(self) -> None:
        """Another worker's bump: the epoch moves, this process's entries stay in place."""
        self.cache.epoch.bump()
        self.bumps += 1

    @rule()
    def harmless(self) -> None:
        self.cache.observe({"event": "login", "outcome": "success"})

    @rule(seconds=st.sampled_from([0.0, 0.001, 0.1, 0.25, 0.4999, 0.5, 0.7]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @invariant()
    def bounded(self) -> None:
        assert len(self.cache) <= 2


CacheModel.TestCase.settings = settings(
    max_examples=1000, stateful_step_count=50, deadline=None, derandomize=True
)
TestCacheModel = CacheModel.TestCase


# -- FileEpoch: one epoch for every process of a host ------------------------------------


def _bump_in_child(path: str) -> None:
    FileEpoch(path).bump()


def test_a_bump_in_another_process_is_seen_by_this_one(tmp_path: Path) -> None:
    epoch = FileEpoch(tmp_path / "instance" / "session.epoch")
    # A hand-driven clock: the children take longer than the ttl to start.
    cache = SessionCache(SessionCacheConfig(ttl_seconds=1.0), epoch=epoch, monotonic=Monotonic())
    cache.put("u1", "s1", a_user(), cache.mark())
    assert cache.get("u1", "s1") is not None
    before = epoch.read()
    child = multiprocessing.get_context("fork").Process(
        target=_bump_in_child, args=(str(epoch.path),)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert epoch.read() != before
    assert cache.get("u1", "s1") is None
    cache.put("u1", "s1", a_user(), cache.mark())
    assert cache.get("u1", "s1") is not None
    before = epoch.read()
    # an unrelated process (another worker started on its own) opening the same file
    script = "import sys; from authkit.sessions import FileEpoch; FileEpoch(sys.argv[1]).bump()"
    subprocess.run([sys.executable, "-c", script, str(epoch.path)], check=True, timeout=60)
    assert epoch.read() != before
    assert cache.get("u1", "s1") is None
    epoch.close()


def test_a_forked_worker_shares_the_parent_mapping(tmp_path: Path) -> None:
    """The gunicorn case: the epoch is opened before the fork, bumped in a worker."""
    epoch = FileEpoch(tmp_path / "session.epoch")
    before = epoch.read()
    pid = os.fork()
    if pid == 0:  # the child: bump and leave at once, without pytest's teardown
        try:
            epoch.bump()
        finally:
            os._exit(0)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert epoch.read() != before
    epoch.close()


def test_the_epoch_file_is_private_and_eight_bytes(tmp_path: Path) -> None:
    path = tmp_path / "new-folder" / "session.epoch"
    epoch = FileEpoch(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.stat().st_size == 8
    epoch.bump()
    assert path.read_bytes() == epoch.read()
    assert FileEpoch(path).read() == epoch.read()  # a second opener sees the same value
    epoch.close()


def test_a_file_epoch_keeps_a_longer_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "session.epoch"
    path.write_bytes(b"12345678rest")
    epoch = FileEpoch(path)
    assert epoch.read() == b"12345678"
    epoch.close()


# -- through AuthService -----------------------------------------------------------------


def cached_config(ttl: float = 1.0) -> AuthkitConfig:
    return AuthkitConfig(
        service_name="cachetest",
        secret_key=SECRET,
        argon2=CHEAP,
        session_cache=SessionCacheConfig(ttl_seconds=ttl),
    )


@pytest.fixture(params=["memory", "sqlite", "sqlite-file-epoch"])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Authkit]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'auth.db'}"
    epoch = tmp_path / "instance" / "session.epoch" if "file" in request.param else None
    built = build(
        cached_config(),
        audit=tmp_path / "auth.jsonl",
        stores=open_stores(url, create_tables=True),
        session_epoch=epoch,
    )
    yield built
    built.close()


def signed_in(
    kit: Authkit, name: str = "alice", *, roles: tuple[str, ...] = ()
) -> tuple[User, str, str]:
    user = kit.auth.create_user(
        username=name, email=f"{name}@example.com", password=PASSWORD, roles=roles
    )
    pair = kit.auth.login(identifier=name, password=PASSWORD, address=ADDR)
    return user, pair.access_token, pair.refresh_token


def warm(kit: Authkit, token: str) -> User:
    cache = kit.auth.session_cache
    assert cache is not None
    user = kit.auth.authenticate_access_token(token).user
    claims = kit.auth.access_tokens.verify(token)
    assert cache.get(claims.subject, claims.session_id) is not None, "the cache is warm"
    return user


def test_a_built_kit_serves_bearer_checks_from_the_cache(kit: Authkit) -> None:
    user, token, _refresh = signed_in(kit)
    warm(kit, token)
    calls = 0
    real_load = kit.auth._load_session_user

    def counting(*args: object, **kwargs: object) -> User:
        nonlocal calls
        calls += 1
        return real_load(*args, **kwargs)  # type: ignore[arg-type]

    kit.auth._load_session_user = counting  # type: ignore[method-assign]
    for _ in range(5):
        assert kit.auth.authenticate_access_token(token).user.id == user.id
    assert calls == 0


def test_logout_ends_the_token_at_once(kit: Authkit) -> None:
    _user, token, refresh = signed_in(kit)
    warm(kit, token)
    kit.auth.logout(refresh_token=refresh, address=ADDR)
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(token)


def test_logout_all_ends_every_session_at_once(kit: Authkit) -> None:
    user, token, _refresh = signed_in(kit)
    other = kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR).access_token
    warm(kit, token)
    warm(kit, other)
    kit.auth.logout_all(user=user, address=ADDR)
    for each in (token, other):
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(each)


def test_a_password_change_ends_the_other_sessions_at_once(kit: Authkit) -> None:
    _user, token, _refresh = signed_in(kit)
    other = kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR).access_token
    principal = kit.auth.authenticate_access_token(token)
    warm(kit, token)
    warm(kit, other)
    kit.auth.change_password(
        principal=principal, current_password=PASSWORD, new_password=NEW_PASSWORD, address=ADDR
    )
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(other)
    kit.auth.authenticate_access_token(token)  # the session that made the change goes on


def test_a_deactivation_by_an_admin_ends_the_token_at_once(kit: Authkit) -> None:
    admin, _t, _r = signed_in(kit, "root", roles=(ADMIN,))
    user, token, _refresh = signed_in(kit)
    warm(kit, token)
    kit.admin.update_user(actor=admin, user_id=user.id, is_active=False, address=ADDR)
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(token)


def test_a_role_change_is_seen_by_the_next_check(kit: Authkit) -> None:
    admin, _t, _r = signed_in(kit, "root", roles=(ADMIN,))
    user, token, _refresh = signed_in(kit, roles=("editor",))
    assert warm(kit, token).roles == ("editor",)
    kit.admin.update_user(actor=admin, user_id=user.id, roles=["viewer"], address=ADDR)
    assert kit.auth.authenticate_access_token(token).user.roles == ("viewer",)


def test_enabling_and_disabling_mfa_is_seen_by_the_next_check(kit: Authkit) -> None:
    user, token, _refresh = signed_in(kit)
    warm(kit, token)
    enrolment = kit.mfa.setup(user=user, password=PASSWORD, address=ADDR)
    totp = pyotp.TOTP(enrolment.secret)
    codes = kit.mfa.enable(user=user, otp=totp.now(), address=ADDR)
    assert kit.auth.authenticate_access_token(token).user.mfa_enabled
    fresh = kit.auth.authenticate_access_token(token).user
    kit.mfa.disable(user=fresh, otp=None, recovery_code=codes[0], address=ADDR)
    assert not kit.auth.authenticate_access_token(token).user.mfa_enabled


def test_deleting_the_account_ends_the_token_at_once(kit: Authkit) -> None:
    user, token, _refresh = signed_in(kit)
    warm(kit, token)
    kit.account.delete_account(user=user, password=PASSWORD, address=ADDR)
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(token)


def test_an_admin_deletion_ends_the_token_at_once(kit: Authkit) -> None:
    admin, _t, _r = signed_in(kit, "root", roles=(ADMIN,))
    user, token, _refresh = signed_in(kit)
    warm(kit, token)
    kit.account.admin_delete(actor=admin, user_id=user.id, address=ADDR)
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(token)


def test_refresh_token_reuse_ends_the_session_at_once(kit: Authkit) -> None:
    _user, token, refresh = signed_in(kit)
    renewed = kit.auth.refresh(refresh_token=refresh, address=ADDR)
    warm(kit, token)
    warm(kit, renewed.access_token)
    with pytest.raises(TokenReused):
        kit.auth.refresh(refresh_token=refresh, address=ADDR)  # the old one again: theft
    for each in (token, renewed.access_token):
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(each)


def test_a_refusal_is_never_cached(kit: Authkit) -> None:
    _user, token, refresh = signed_in(kit)
    kit.auth.logout(refresh_token=refresh, address=ADDR)
    for _ in range(3):
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(token)
    assert kit.auth.session_cache is not None
    assert len(kit.auth.session_cache) == 0


def test_a_change_behind_the_cache_is_seen_after_the_ttl(tmp_path: Path) -> None:
    """A change with no audit event (SQL by hand) is seen once the entry expires."""
    stores = open_stores(f"sqlite:///{tmp_path / 'auth.db'}", create_tables=True)
    with build(cached_config(0.2), audit=tmp_path / "auth.jsonl", stores=stores) as kit:
        user, token, _refresh = signed_in(kit)
        warm(kit, token)
        stores.refresh_tokens.revoke_user(
            user.id, now=datetime.now(UTC)
        )  # straight on the store: no event
        assert kit.auth.authenticate_access_token(token).user.id == user.id  # still cached
        deadline = time.monotonic() + 0.2 + 0.15
        while time.monotonic() < deadline:
            try:
                kit.auth.authenticate_access_token(token)
            except InvalidToken:
                break
            time.sleep(0.01)
        else:
            pytest.fail("the out-of-band revocation was not seen within the ttl")


def test_a_change_behind_the_cache_is_seen_after_the_ttl_with_an_injected_clock(
    tmp_path: Path,
) -> None:
    clock = Monotonic()
    stores = open_stores("memory://")
    with build(cached_config(0.5), audit=tmp_path / "auth.jsonl", stores=stores) as kit:
        assert kit.auth.session_cache is not None
        kit.auth.session_cache._monotonic = clock  # the ttl's clock, driven by hand
        user, token, _refresh = signed_in(kit)
        warm(kit, token)
        stores.refresh_tokens.revoke_user(user.id, now=datetime.now(UTC))
        clock.advance(0.49)
        kit.auth.authenticate_access_token(token)
        clock.advance(0.01)
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(token)


def test_concurrent_checks_never_succeed_after_the_revocation_event(tmp_path: Path) -> None:
    """Many threads check one token while another logs it out.

    Each success records the time it *started*; none may start after the logout's
    audit event was delivered (the logout call returned).
    """
    stores = open_stores(f"sqlite:///{tmp_path / 'auth.db'}", create_tables=True)
    with build(
        cached_config(1.0),
        audit=tmp_path / "auth.jsonl",
        stores=stores,
        session_epoch=tmp_path / "session.epoch",
    ) as kit:
        _user, token, refresh = signed_in(kit)
        warm(kit, token)
        revoked = threading.Event()
        stop = threading.Event()
        late: list[str] = []
        successes = 0
        lock = threading.Lock()

        def check() -> None:
            nonlocal successes
            while not stop.is_set():
                after_revoke = revoked.is_set()
                try:
                    kit.auth.authenticate_access_token(token)
                except InvalidToken:
                    continue
                with lock:
                    successes += 1
                    if after_revoke:
                        late.append(threading.current_thread().name)

        threads = [threading.Thread(target=check, name=f"checker-{i}") for i in range(8)]
        for thread in threads:
            thread.start()
        time.sleep(0.2)
        kit.auth.logout(refresh_token=refresh, address=ADDR)
        revoked.set()
        time.sleep(0.3)
        stop.set()
        for thread in threads:
            thread.join(10)
        assert successes > 0
        assert late == []


# -- building --------------------------------------------------------------------------


class _PlainSink:
    """An audit sink without listeners: the cache would never hear of a logout."""

    def log(self, event: str, *, outcome: str, **fields: object) -> dict[str, object]:
        return {"event": event, "outcome": outcome}


def test_build_refuses_a_cache_with_a_sink_that_takes_no_listeners() -> None:
    with pytest.raises(ConfigurationError) as info:
        build(cached_config(0.5), audit=_PlainSink())
    assert "session_cache" in str(info.value)


def test_build_without_a_ttl_has_no_cache(tmp_path: Path) -> None:
    with build(cached_config(0), audit=tmp_path / "a.jsonl") as kit:
        assert kit.auth.session_cache is None
    with build(cached_config(0), audit=_PlainSink()) as kit:
        assert kit.auth.session_cache is None


def test_build_with_a_path_shares_a_file_epoch(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "session.epoch"
    with (
        build(cached_config(), audit=tmp_path / "a.jsonl", session_epoch=path) as first,
        build(cached_config(), audit=tmp_path / "b.jsonl", session_epoch=str(path)) as second,
    ):
        assert first.auth.session_cache is not None
        assert second.auth.session_cache is not None
        before = second.auth.session_cache.mark()
        first.audit.log("logout", outcome="success")
        assert second.auth.session_cache.mark() != before
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_read_that_raced_a_revocation_is_not_kept(tmp_path: Path) -> None:
    """The database answers "live", then (before the answer is stored) a logout-all lands.

    The request itself may succeed (its read came first), but the answer must not
    be kept: the next check reads again and refuses.
    """
    stores = open_stores(f"sqlite:///{tmp_path / 'auth.db'}", create_tables=True)
    with build(cached_config(1.0), audit=tmp_path / "auth.jsonl", stores=stores) as kit:
        user, token, _refresh = signed_in(kit)
        lookup = kit.auth.session_users
        assert lookup is not None
        real_load = lookup.load
        raced = False

        def load_then_revoke(*args: Any, **kwargs: Any) -> Any:
            nonlocal raced
            answer = real_load(*args, **kwargs)
            if not raced:  # another worker's logout-all, between the read and the put
                raced = True
                kit.auth.logout_all(user=user, address=ADDR)
            return answer

        lookup.load = load_then_revoke  # type: ignore[method-assign]
        kit.auth.authenticate_access_token(token)  # read before the revocation: 200
        assert raced
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(token)
