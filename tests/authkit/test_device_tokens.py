"""Issue 14, finding 2: a stranger must not lock the owner out (OWASP device cookies).

100 failed sign-ins from rotating addresses used to lock an account for 24 hours,
right password or not, from anywhere. Now a sign-in presenting a device token
from an earlier successful sign-in of that account spends that device's own
budget instead of the account's: the owner's known device still gets in, an
unknown device is still throttled, and a device that fails too often is locked
out alone.

The throttle's budgets are tested on every storage (memory, and Redis when
``AUTHKIT_TEST_REDIS_URL`` is set); the sign-in flow through ``build`` on memory
stores.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit import Authkit, AuthkitConfig, LoginThrottle, build
from authkit.clock import FrozenClock
from authkit.errors import InvalidCredentials, TooManyAttempts
from authkit.keys import KeyManager
from authkit.passwords import Argon2Parameters
from authkit.throttle import ThrottleRules
from authkit.tokens import DeviceTokens

REDIS_URL = os.environ.get("AUTHKIT_TEST_REDIS_URL")
BACKENDS = [
    pytest.param("memory://", id="memory"),
    pytest.param(
        REDIS_URL or "redis://unset",
        id="redis",
        marks=[
            pytest.mark.redis,
            pytest.mark.skipif(not REDIS_URL, reason="AUTHKIT_TEST_REDIS_URL is not set"),
        ],
    ),
]
CHEAP = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "violet-harbour-7-lanterns"
KEY = b"k" * 32
OWNER_ADDR = "198.51.100.7"


class MakeThrottle(Protocol):
    def __call__(self, **rules: int) -> LoginThrottle: ...


def stranger(i: int) -> str:
    """A fresh address per attempt: each from another /64 too."""
    return f"2001:db8:{i:x}::1"


# --- DeviceTokens -------------------------------------------------------------------


def tokens(clock: FrozenClock | None = None, ttl: int = 3600) -> DeviceTokens:
    return DeviceTokens(KEY, ttl_seconds=ttl, clock=clock or FrozenClock())


def test_a_device_token_verifies_for_its_account_only() -> None:
    issued = tokens().issue("user-1")
    assert tokens().verify(issued.token, "user-1") == issued.device_id
    assert tokens().verify(issued.token, "user-2") is None
    assert issued.expires_in == 3600


def test_a_device_token_names_no_account_and_hides_from_repr() -> None:
    issued = tokens().issue("4f9c1a5e-0000-4000-8000-000000000001")
    assert "4f9c1a5e" not in issued.token
    assert issued.token not in repr(issued)
    assert "k" * 32 not in repr(tokens())


def test_a_device_token_expires() -> None:
    clock = FrozenClock()
    issued = tokens(clock, ttl=60).issue("u")
    clock.advance(59)
    assert tokens(clock).verify(issued.token, "u") == issued.device_id
    clock.advance(1)
    assert tokens(clock).verify(issued.token, "u") is None


def test_another_key_does_not_verify() -> None:
    issued = tokens().issue("u")
    other = DeviceTokens(b"o" * 32, ttl_seconds=3600, clock=FrozenClock())
    assert other.verify(issued.token, "u") is None


def test_each_issue_is_a_new_device_id() -> None:
    assert len({tokens().issue("u").device_id for _ in range(50)}) == 50


@settings(max_examples=300, deadline=None)
@given(position=st.integers(min_value=0), replacement=st.characters(codec="ascii"))
def test_any_altered_character_voids_the_token(position: int, replacement: str) -> None:
    """Property: the MAC covers the whole token, so no one-character change verifies."""
    issued = tokens().issue("user-1")
    index = position % len(issued.token)
    altered = issued.token[:index] + replacement + issued.token[index + 1 :]
    if altered != issued.token:
        assert tokens().verify(altered, "user-1") is None


@settings(max_examples=200, deadline=None)
@given(garbage=st.one_of(st.none(), st.text(max_size=300)))
def test_garbage_is_no_device_and_never_raises(garbage: str | None) -> None:
    assert tokens().verify(garbage, "user-1") is None


# --- the throttle's device budget -------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def make_throttle(request: pytest.FixtureRequest) -> Iterator[MakeThrottle]:
    uri: str = request.param
    prefix = f"test-{uuid.uuid4().hex}"
    made: list[LoginThrottle] = []

    def make(**rules: int) -> LoginThrottle:
        made.append(LoginThrottle(uri, ThrottleRules(**rules), key_prefix=prefix))
        return made[-1]

    yield make
    for throttle in made:
        throttle.close()
    if uri.startswith("redis"):
        import redis

        client = redis.Redis.from_url(uri)
        try:
            keys = list(client.scan_iter(match=f"LIMITS:{prefix}/*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def test_default_device_budget_is_ten_an_hour_and_tokens_live_ninety_days() -> None:
    rules = ThrottleRules()
    assert (rules.device_failures, rules.device_window_seconds) == (10, 3600)
    assert rules.device_token_ttl_seconds == 90 * 86_400


def test_a_known_device_is_not_refused_by_the_exhausted_account_budget(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(account_failures=3)
    for i in range(3):
        throttle.acquire_login(stranger(i), "alice")
        throttle.record_failure(stranger(i), "alice", acquired=True)
    with pytest.raises(TooManyAttempts):
        throttle.acquire_login(OWNER_ADDR, "alice")
    throttle.acquire_login(OWNER_ADDR, "alice", device="owner-phone")


def test_a_device_that_fails_too_often_is_locked_out_alone(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(device_failures=3, pair_failures=100)
    for _ in range(3):
        throttle.acquire_login(OWNER_ADDR, "alice", device="stolen")
        throttle.record_failure(OWNER_ADDR, "alice", acquired=True, device="stolen")
    with pytest.raises(TooManyAttempts) as refused:
        throttle.acquire_login(OWNER_ADDR, "alice", device="stolen")
    assert refused.value.retry_after in (3600, 3601)
    throttle.acquire_login(OWNER_ADDR, "alice", device="laptop")  # another device
    throttle.acquire_login("192.0.2.9", "alice")  # the account budget was not spent


def test_the_pair_and_address_budgets_still_apply_to_a_known_device(
    make_throttle: MakeThrottle,
) -> None:
    throttle = make_throttle(pair_failures=2, device_failures=50)
    for _ in range(2):
        throttle.acquire_login(OWNER_ADDR, "alice", device="d")
        throttle.record_failure(OWNER_ADDR, "alice", acquired=True, device="d")
    with pytest.raises(TooManyAttempts):
        throttle.acquire_login(OWNER_ADDR, "alice", device="d")


def test_success_from_a_device_clears_its_budget(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(device_failures=2, pair_failures=100)
    throttle.acquire_login(OWNER_ADDR, "alice", device="d")
    throttle.record_failure(OWNER_ADDR, "alice", acquired=True, device="d")
    throttle.acquire_login(OWNER_ADDR, "alice", device="d")
    throttle.record_success(OWNER_ADDR, "alice", device="d")
    throttle.acquire_login(OWNER_ADDR, "alice", device="d")
    throttle.acquire_login(OWNER_ADDR, "alice", device="d")


def test_one_devices_budget_is_per_account(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(device_failures=1)
    throttle.acquire_login(OWNER_ADDR, "alice", device="d")
    throttle.acquire_login(OWNER_ADDR, "bob", device="d")


def test_concurrent_attempts_from_one_device_never_overshoot_its_budget(
    make_throttle: MakeThrottle,
) -> None:
    """40 simultaneous guesses with one stolen device token, from 40 addresses: 10 pass."""
    throttle = make_throttle()
    threads = 40
    barrier = threading.Barrier(threads)

    def attempt(i: int) -> bool:
        barrier.wait()
        try:
            throttle.acquire_login(stranger(i), "alice", device="stolen")
        except TooManyAttempts:
            return False
        throttle.record_failure(stranger(i), "alice", acquired=True, device="stolen")
        return True

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(attempt, range(threads)))
    assert results.count(True) == 10


# --- sign-in with device tokens ---------------------------------------------------------


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Authkit]:
    config = AuthkitConfig(
        service_name="device-test",
        secret_key="device-test-secret-key-0123456789",
        argon2=CHEAP,
        throttle=ThrottleRules(account_failures=10),
    )
    keys = KeyManager.in_memory(window=timedelta(seconds=930), alg="ES256")
    with build(config, audit=tmp_path / "auth.jsonl", keys=keys) as built:
        built.auth.register(
            username="alice", email="alice@example.com", password=PASSWORD, address=OWNER_ADDR
        )
        yield built


def exhaust_account(kit: Authkit, attempts: int = 10) -> None:
    """A stranger spends the account's whole budget, one address (and /64) per try."""
    for i in range(attempts):
        with pytest.raises(InvalidCredentials):
            kit.auth.login(identifier="alice", password="wrong guess", address=stranger(i))
    with pytest.raises(TooManyAttempts):
        kit.auth.login(identifier="alice", password="wrong guess", address=stranger(999))


def test_sign_in_returns_a_fresh_device_token_each_time(kit: Authkit) -> None:
    first = kit.auth.login(identifier="alice", password=PASSWORD, address=OWNER_ADDR)
    second = kit.auth.login(
        identifier="alice", password=PASSWORD, address=OWNER_ADDR, device_token=first.device_token
    )
    assert first.device_token
    assert second.device_token
    assert first.device_token != second.device_token
    assert first.device_token_expires_in == 90 * 86_400


def test_the_owners_known_device_signs_in_while_a_stranger_exhausted_the_account(
    kit: Authkit,
) -> None:
    """The regression of finding 2, in the core."""
    known = kit.auth.login(identifier="alice", password=PASSWORD, address=OWNER_ADDR)
    exhaust_account(kit)
    pair = kit.auth.login(
        identifier="alice@example.com",  # the email shares the account's budgets
        password=PASSWORD,
        address="203.0.113.200",  # a new address too
        device_token=known.device_token,
    )
    assert pair.user.username == "alice"


def test_an_unknown_device_is_still_throttled(kit: Authkit) -> None:
    known = kit.auth.login(identifier="alice", password=PASSWORD, address=OWNER_ADDR)
    exhaust_account(kit)
    with pytest.raises(TooManyAttempts):
        kit.auth.login(identifier="alice", password=PASSWORD, address="203.0.113.201")
    forged = (known.device_token or "")[:-2] + "AA"
    with pytest.raises(TooManyAttempts):
        kit.auth.login(
            identifier="alice", password=PASSWORD, address="203.0.113.202", device_token=forged
        )


def test_another_accounts_device_token_counts_as_unknown(kit: Authkit) -> None:
    kit.auth.register(
        username="mallory", email="m@example.com", password=PASSWORD, address=OWNER_ADDR
    )
    mallorys = kit.auth.login(identifier="mallory", password=PASSWORD, address=OWNER_ADDR)
    exhaust_account(kit)
    with pytest.raises(TooManyAttempts):
        kit.auth.login(
            identifier="alice",
            password=PASSWORD,
            address="203.0.113.203",
            device_token=mallorys.device_token,
        )


def test_a_device_guessing_wrong_is_locked_out_without_touching_the_account(
    kit: Authkit,
) -> None:
    """A stolen device token buys 10 guesses an hour, then that device is refused."""
    stolen = kit.auth.login(identifier="alice", password=PASSWORD, address=OWNER_ADDR)
    for i in range(10):
        with pytest.raises(InvalidCredentials):
            kit.auth.login(
                identifier="alice",
                password="guess",
                address=stranger(i),
                device_token=stolen.device_token,
            )
    with pytest.raises(TooManyAttempts):
        kit.auth.login(
            identifier="alice",
            password=PASSWORD,
            address=stranger(50),
            device_token=stolen.device_token,
        )
    # The account budget was not spent by the device's failures: strangers' budget intact.
    kit.auth.login(identifier="alice", password=PASSWORD, address="192.0.2.50")


def test_the_audit_log_says_whether_a_device_was_known(kit: Authkit, tmp_path: Path) -> None:
    import json

    known = kit.auth.login(identifier="alice", password=PASSWORD, address=OWNER_ADDR)
    kit.auth.login(
        identifier="alice", password=PASSWORD, address=OWNER_ADDR, device_token=known.device_token
    )
    lines = (tmp_path / "auth.jsonl").read_text().splitlines()
    logins = [json.loads(line) for line in lines if '"login"' in line]
    assert [e["known_device"] for e in logins if e["event"] == "login"] == [False, True]
    assert known.device_token is not None
    assert all(known.device_token not in line for line in lines)
