"""Issue 14, finding 6: recovery codes are stored salted and slow, never as a fast hash.

They were unsalted SHA-256 of about 50 bits, so a database leak let anyone find
every user's codes offline. Now each enrolment's codes are argon2id with a salt
of their own; codes stored the old way are wrapped in argon2id by migration 0004
(``sha256$`` + argon2id of the SHA-256 digest) and keep working; a code still
works exactly once, even when two workers race with it.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from argon2.low_level import Type, hash_secret
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, insert, select

from authkit.clock import FrozenClock
from authkit.errors import InvalidOtp
from authkit.mfa import (
    RECOVERY_CODE_COUNT,
    MfaService,
    MfaStore,
    RecoveryCodeHasher,
    SecretBox,
    Totp,
    TotpConfig,
    new_recovery_codes,
)
from authkit.mfa._recovery import WRAPPED_SHA256_PREFIX, legacy_digest
from authkit.passwords import Argon2Parameters
from authkit.storage import (
    MemoryMfaStore,
    MemoryUserStore,
    SqlMfaStore,
    SqlUserStore,
    create_engine,
    create_schema,
    recovery_codes,
)
from authkit.users import NewUser, User, UserStore

NOW = datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
CHEAP = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
THREADS = 10


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[UserStore, Callable[[], MfaStore]]]:
    """A user store and a factory of MFA stores (one per worker) over the same data."""
    if request.param == "memory":
        memory_users = MemoryUserStore()
        shared = MemoryMfaStore(memory_users)
        yield memory_users, lambda: shared
        return
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = create_engine(url)
    create_schema(engine)
    yield SqlUserStore(engine), lambda: SqlMfaStore(engine)
    engine.dispose()


def service(store: MfaStore, parameters: Argon2Parameters = CHEAP) -> MfaService:
    clock = FrozenClock(NOW)
    return MfaService(
        store=store,
        box=SecretBox(["mfa-key-one-0123456789abcdef"]),
        totp=Totp(TotpConfig(issuer="t"), clock=clock),
        clock=clock,
        recovery=RecoveryCodeHasher(parameters),
    )


def new_user(users_store: UserStore) -> User:
    return users_store.create(
        NewUser(
            id=str(uuid.uuid4()),
            username=f"u{uuid.uuid4().hex[:8]}",
            email=f"{uuid.uuid4().hex[:8]}@example.test",
            password_hash="x",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )


def enable_with(store: MfaStore, user: User, hashes: list[str]) -> User:
    """Switch MFA on with given stored code hashes (as an older release stored them)."""
    assert store.set_pending_secret(user.id, "unused-ciphertext")
    assert store.enable(user.id, hashes, now=NOW)
    return user


# --- what is stored -------------------------------------------------------------------


def test_codes_are_argon2id_with_one_salt_per_enrolment() -> None:
    hasher = RecoveryCodeHasher(CHEAP)
    first = hasher.hash_codes(new_recovery_codes())
    second = hasher.hash_codes(new_recovery_codes())
    salts = {h.rsplit("$", 2)[1] for h in first}
    assert len(first) == RECOVERY_CODE_COUNT == 10
    assert all(h.startswith("$argon2id$v=19$m=8,t=1,p=1$") for h in first)
    assert len(salts) == 1  # one argon2 computation checks a code
    assert salts.isdisjoint({h.rsplit("$", 2)[1] for h in second})


def test_default_parameters_are_owasps_argon2id_minimum() -> None:
    assert RecoveryCodeHasher().parameters == Argon2Parameters()
    (stored,) = RecoveryCodeHasher().hash_codes(["abcde-fghjk"])
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_no_stored_value_is_a_fast_hash_of_the_code() -> None:
    codes = new_recovery_codes()
    stored = RecoveryCodeHasher(CHEAP).hash_codes(codes)
    for code in codes:
        normalised = code.replace("-", "")
        assert legacy_digest(normalised) not in " ".join(stored)
        assert normalised not in " ".join(stored)


def test_new_codes_are_ten_distinct_codes() -> None:
    for _ in range(20):
        assert len(set(new_recovery_codes())) == 10


@settings(max_examples=100, deadline=None)
@given(code=st.text(max_size=40))
def test_only_the_code_itself_has_a_candidate(code: str) -> None:
    """Property: for any input, a candidate exists only for a code of the set."""
    codes = ["abcde-fghjk", "mnpqr-stuvw"]
    stored = RecoveryCodeHasher(CHEAP).hash_codes(codes)
    found = RecoveryCodeHasher(CHEAP).candidates(code, stored)
    normalised = code.strip().lower().replace(" ", "").replace("-", "")
    expected = [s for c, s in zip(codes, stored, strict=True) if c.replace("-", "") == normalised]
    assert found == expected


def test_malformed_input_costs_no_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    import authkit.mfa._recovery as recovery

    stored = RecoveryCodeHasher(CHEAP).hash_codes(["abcde-fghjk"])
    calls: list[int] = []
    real = recovery._phc

    def counting(*args: Any, **kwargs: Any) -> str:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(recovery, "_phc", counting)
    assert RecoveryCodeHasher(CHEAP).candidates("x" * 64, stored) == []
    assert RecoveryCodeHasher(CHEAP).candidates("abcde-fghj0", stored) == []  # '0' not used
    assert calls == []


# --- verification, single use -----------------------------------------------------------


def test_a_code_works_once_on_every_backend(
    stores: tuple[UserStore, Callable[[], MfaStore]],
) -> None:
    user_store, new_store = stores
    mfa = service(new_store())
    user = new_user(user_store)
    codes = new_recovery_codes()
    enable_with(new_store(), user, mfa.recovery.hash_codes(codes))
    assert mfa.verify(user, otp=None, recovery_code=codes[3].upper()) == "recovery_code"
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=None, recovery_code=codes[3])
    assert new_store().remaining_recovery_codes(user.id) == 9


def wrapped_legacy(codes: list[str]) -> list[str]:
    """What migration 0004 makes of codes stored as SHA-256: argon2id of the digest."""
    salt = b"0123456789abcdef"
    return [
        WRAPPED_SHA256_PREFIX
        + hash_secret(
            legacy_digest(code.replace("-", "")).encode(),
            salt,
            time_cost=1,
            memory_cost=8,
            parallelism=1,
            hash_len=32,
            type=Type.ID,
        ).decode()
        for code in codes
    ]


def test_codes_wrapped_by_the_migration_keep_working_once(
    stores: tuple[UserStore, Callable[[], MfaStore]],
) -> None:
    user_store, new_store = stores
    mfa = service(new_store())
    user = new_user(user_store)
    codes = new_recovery_codes()
    enable_with(new_store(), user, wrapped_legacy(codes))
    assert mfa.verify(user, otp=None, recovery_code=codes[0]) == "recovery_code"
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=None, recovery_code=codes[0])
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=None, recovery_code="zzzzz-zzzzz")
    assert new_store().remaining_recovery_codes(user.id) == 9


def test_a_bare_sha256_digest_is_no_longer_accepted(
    stores: tuple[UserStore, Callable[[], MfaStore]],
) -> None:
    """A row the migration did not wrap is refused, never checked with the fast hash."""
    user_store, new_store = stores
    user = new_user(user_store)
    enable_with(new_store(), user, [legacy_digest("abcdefghjk")])
    with pytest.raises(InvalidOtp):
        service(new_store()).verify(user, otp=None, recovery_code="abcde-fghjk")


@pytest.mark.parametrize("legacy", [False, True], ids=["argon2id", "wrapped-sha256"])
def test_concurrent_uses_of_one_code_accept_exactly_one(
    stores: tuple[UserStore, Callable[[], MfaStore]], legacy: bool
) -> None:
    """Ten workers, each with its own store, race with one code: exactly one wins."""
    user_store, new_store = stores
    user = new_user(user_store)
    codes = new_recovery_codes()
    hashes = wrapped_legacy(codes) if legacy else RecoveryCodeHasher(CHEAP).hash_codes(codes)
    enable_with(new_store(), user, hashes)
    workers = [service(new_store()) for _ in range(THREADS)]
    barrier = threading.Barrier(THREADS)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def submit(worker: MfaService) -> None:
        barrier.wait()
        try:
            result = worker.verify(user, otp=None, recovery_code=codes[0])
        except InvalidOtp:
            result = "refused"
        except Exception as exc:  # any other outcome is a failure of the test
            result = type(exc).__name__
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=submit, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == Counter({"recovery_code": 1, "refused": THREADS - 1})
    assert new_store().remaining_recovery_codes(user.id) == 9


def test_the_database_holds_no_fast_hash(engine: Engine) -> None:
    """After enable, the table holds argon2id strings only (SQLite, PostgreSQL)."""
    user_store, mfa_store = SqlUserStore(engine), SqlMfaStore(engine)
    user = new_user(user_store)
    mfa = service(mfa_store)
    codes = new_recovery_codes()
    enable_with(mfa_store, user, mfa.recovery.hash_codes(codes))
    with engine.connect() as conn:
        stored = conn.execute(
            select(recovery_codes.c.code_hash).where(recovery_codes.c.user_id == user.id)
        ).scalars()
        values = list(stored)
    assert len(values) == 10
    assert all(v.startswith("$argon2id$") and len(v) <= 255 for v in values)
    with engine.begin() as conn:  # the column is wide enough for the default parameters
        conn.execute(
            insert(recovery_codes).values(
                id=str(uuid.uuid4()),
                user_id=user.id,
                code_hash=WRAPPED_SHA256_PREFIX + RecoveryCodeHasher().hash_codes(["x"])[0],
                created_at=NOW,
            )
        )
