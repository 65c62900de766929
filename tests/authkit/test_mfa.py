"""TOTP MFA in the core: enrolment, skew, replay, recovery codes, encryption at rest.

Time is a ``FrozenClock`` injected into both ``Totp`` and ``MfaService``, so every
time step is chosen by the test: no sleeping, no flakiness near a 30 s boundary.
Store-level behaviour runs on ``MemoryMfaStore`` and on ``SqlMfaStore`` over the
shared ``engine`` fixture (SQLite always, PostgreSQL when configured). Replay across
workers is two ``MfaService`` instances, each with its own ``SqlMfaStore``, on one
database.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from authkit.clock import FrozenClock
from authkit.errors import ConfigurationError, Conflict, InvalidOtp, MfaRequired
from authkit.mfa import (
    PERIOD,
    RECOVERY_CODE_COUNT,
    MfaService,
    MfaStore,
    RecoveryCodeHasher,
    SecretBox,
    Totp,
    TotpConfig,
)
from authkit.passwords import Argon2Parameters
from authkit.storage import (
    MemoryMfaStore,
    MemoryUserStore,
    SqlMfaStore,
    SqlUserStore,
    create_engine,
    create_schema,
    recovery_codes,
    users,
)
from authkit.users import NewUser, User, UserStore

# Mid-step, so a few seconds either way stay in the same step.
NOW = datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
ISSUER = "Flight App"
KEY = "mfa-key-one-0123456789abcdef"
NEW_KEY = "mfa-key-two-fedcba9876543210"
THREADS = 10
CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Backend:
    """A user store and an MFA store over the same data, plus how to make a worker."""

    users: UserStore
    store: MfaStore
    new_store: Callable[[], MfaStore]
    engine: Engine | None = None


def sql_stores(engine: Engine) -> Backend:
    return Backend(
        users=SqlUserStore(engine),
        store=SqlMfaStore(engine),
        new_store=lambda: SqlMfaStore(engine),
        engine=engine,
    )


def memory_stores() -> Backend:
    memory_users = MemoryUserStore()
    shared = MemoryMfaStore(memory_users)
    return Backend(users=memory_users, store=shared, new_store=lambda: shared)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """Memory stores, or SQL stores on SQLite and (when configured) PostgreSQL."""
    if request.param == "memory":
        yield memory_stores()
        return
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = create_engine(url)
    create_schema(engine)
    yield sql_stores(engine)
    engine.dispose()


@pytest.fixture
def sql_backend(engine: Engine) -> Backend:
    """SQL stores only, over ``engine`` (SQLite, and PostgreSQL when configured)."""
    return sql_stores(engine)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def make_service(store: MfaStore, clock: FrozenClock, keys: tuple[str, ...] = (KEY,)) -> MfaService:
    return MfaService(
        store=store,
        box=SecretBox(list(keys)),
        totp=Totp(TotpConfig(issuer=ISSUER), clock=clock),
        clock=clock,
        recovery=RecoveryCodeHasher(CHEAP_ARGON2),
    )


def make_user(store: UserStore, username: str = "alice") -> User:
    return store.create(
        NewUser(
            id=str(uuid.uuid4()),
            username=username,
            email=f"{username}@example.test",
            password_hash="not-a-real-hash",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )


def fresh(store: UserStore, user: User) -> User:
    """The user's current record (``mfa_enabled`` changes in the store, not on the object)."""
    found = store.get(user.id)
    assert found is not None
    return found


def step_of(clock: FrozenClock) -> int:
    return int(clock.now().timestamp()) // PERIOD


def code(secret: str, step: int) -> str:
    """The code of ``step`` as an authenticator app computes it (pyotp, not authkit)."""
    return str(pyotp.TOTP(secret).at(step * PERIOD))


def enrol(mfa: MfaService, backend: Backend, clock: FrozenClock) -> tuple[User, str, list[str]]:
    """A user with MFA enabled (at the current step); the clock then moves 10 steps on."""
    user = make_user(backend.users)
    secret = mfa.setup(user).secret
    recovery = mfa.enable(user, code(secret, step_of(clock)))
    clock.advance(10 * PERIOD)
    return fresh(backend.users, user), secret, recovery


# -- enrolment ----------------------------------------------------------------


def test_setup_gives_a_base32_secret_of_at_least_160_bits(
    backend: Backend, clock: FrozenClock
) -> None:
    secret = make_service(backend.store, clock).setup(make_user(backend.users)).secret
    assert len(base64.b32decode(secret)) * 8 >= 160  # RFC 4226 §4 recommends 160 bits
    assert secret == secret.upper()


def test_otpauth_uri_names_the_issuer_and_the_account(backend: Backend, clock: FrozenClock) -> None:
    enrolment = make_service(backend.store, clock).setup(make_user(backend.users, "alice"))
    uri = urllib.parse.urlsplit(enrolment.otpauth_uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert urllib.parse.unquote(uri.path) == f"/{ISSUER}:alice"
    query = urllib.parse.parse_qs(uri.query)
    assert query["issuer"] == [ISSUER]
    assert query["secret"] == [enrolment.secret]
    assert query.get("digits", ["6"]) == ["6"]
    assert query.get("period", ["30"]) == ["30"]


def test_setup_twice_replaces_the_pending_secret(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user = make_user(backend.users)
    first = mfa.setup(user).secret
    second = mfa.setup(user).secret
    assert first != second
    stored = backend.store.get_secret(user.id)
    assert stored is not None
    assert mfa.box.decrypt(stored) == second
    now = step_of(clock)
    if code(first, now) != code(second, now):  # one in a million they coincide
        with pytest.raises(InvalidOtp):
            mfa.enable(user, code(first, now))
    assert len(mfa.enable(user, code(second, now))) == RECOVERY_CODE_COUNT


def test_enable_needs_a_valid_code(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user = make_user(backend.users)
    secret = mfa.setup(user).secret
    valid = code(secret, step_of(clock))
    wrong = f"{(int(valid) + 1) % 1_000_000:06d}"
    with pytest.raises(InvalidOtp):
        mfa.enable(user, wrong)
    assert not fresh(backend.users, user).mfa_enabled
    assert mfa.enable(user, valid)
    assert fresh(backend.users, user).mfa_enabled


def test_enable_without_setup_and_setup_or_enable_when_enabled_are_conflicts(
    backend: Backend, clock: FrozenClock
) -> None:
    mfa = make_service(backend.store, clock)
    with pytest.raises(Conflict):
        mfa.enable(make_user(backend.users, "bob"), "123456")
    user, secret, _ = enrol(mfa, backend, clock)
    with pytest.raises(Conflict):
        mfa.setup(user)
    with pytest.raises(Conflict):
        mfa.enable(user, code(secret, step_of(clock)))
    # A stale record (taken before enabling) cannot overwrite the secret either.
    stale = dataclasses.replace(user, mfa_enabled=False)
    with pytest.raises(Conflict):
        mfa.setup(stale)
    stored = backend.store.get_secret(user.id)
    assert stored is not None
    assert mfa.box.decrypt(stored) == secret


def test_enable_returns_ten_distinct_recovery_codes(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, _, recovery = enrol(mfa, backend, clock)
    assert len(recovery) == RECOVERY_CODE_COUNT == 10
    assert len(set(recovery)) == 10
    assert all(isinstance(c, str) and len(c.replace("-", "")) >= 10 for c in recovery)
    assert backend.store.remaining_recovery_codes(user.id) == 10


def test_recovery_codes_are_stored_only_hashed(sql_backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(sql_backend.store, clock)
    user, _, recovery = enrol(mfa, sql_backend, clock)
    assert sql_backend.engine is not None
    with sql_backend.engine.connect() as conn:
        rows = conn.execute(select(recovery_codes).where(recovery_codes.c.user_id == user.id)).all()
    stored = {row.code_hash for row in rows}
    assert len(stored) == 10
    assert all(h.startswith("$argon2id$v=19$m=8,t=1,p=1$") for h in stored)
    every_value = " ".join(str(v) for row in rows for v in row)
    for plain in recovery:
        assert plain not in every_value
        assert plain.replace("-", "") not in every_value


# -- verification: skew and replay ----------------------------------------------


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_a_code_one_step_either_way_is_accepted(
    backend: Backend, clock: FrozenClock, offset: int
) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    assert mfa.verify(user, otp=code(secret, step_of(clock) + offset), recovery_code=None) == "otp"


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_rejected(
    backend: Backend, clock: FrozenClock, offset: int
) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    now = step_of(clock)
    far = code(secret, now + offset)
    assume_distinct = {code(secret, now + d) for d in (-1, 0, 1)}
    if far in assume_distinct:  # a one-in-a-few-hundred-thousand coincidence
        pytest.skip("the random secret gives the same code for two steps")
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=far, recovery_code=None)


def test_matching_step_names_the_step_of_the_code(clock: FrozenClock) -> None:
    totp = Totp(TotpConfig(issuer=ISSUER), clock=clock)
    secret = Totp.new_secret()
    now = totp.current_step()
    assert now == step_of(clock)
    for offset in (-1, 0, 1):
        assert totp.matching_step(secret, code(secret, now + offset)) == now + offset
        assert totp.code_at(secret, now + offset) == code(secret, now + offset)
    spaced = code(secret, now)
    assert totp.matching_step(secret, f" {spaced[:3]} {spaced[3:]} ") == now


def test_the_same_code_is_accepted_only_once(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    otp = code(secret, step_of(clock))
    mfa.verify(user, otp=otp, recovery_code=None)
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=otp, recovery_code=None)
    clock.advance(PERIOD)  # still within the skew window of that code
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=otp, recovery_code=None)


def test_an_older_step_is_rejected_after_a_newer_one(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    now = step_of(clock)
    mfa.verify(user, otp=code(secret, now + 1), recovery_code=None)
    for older in (now, now - 1):
        with pytest.raises(InvalidOtp):
            mfa.verify(user, otp=code(secret, older), recovery_code=None)
    clock.advance(2 * PERIOD)
    assert mfa.verify(user, otp=code(secret, step_of(clock)), recovery_code=None) == "otp"


def test_the_code_used_to_enable_cannot_be_replayed(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user = make_user(backend.users)
    secret = mfa.setup(user).secret
    otp = code(secret, step_of(clock))
    mfa.enable(user, otp)
    with pytest.raises(InvalidOtp):
        mfa.verify(fresh(backend.users, user), otp=otp, recovery_code=None)


def test_a_replay_reaching_another_worker_is_rejected(
    sql_backend: Backend, clock: FrozenClock
) -> None:
    """Two services, each with its own store object and clock, on one database."""
    worker_a = make_service(sql_backend.new_store(), clock)
    worker_b = make_service(sql_backend.new_store(), FrozenClock(clock.now()))
    assert isinstance(worker_b.clock, FrozenClock)
    user, secret, _ = enrol(worker_a, sql_backend, clock)
    worker_b.clock.current = clock.now()
    otp = code(secret, step_of(clock))
    assert worker_a.verify(user, otp=otp, recovery_code=None) == "otp"
    with pytest.raises(InvalidOtp):
        worker_b.verify(user, otp=otp, recovery_code=None)
    # ... and the other way round, with the next code.
    newer = code(secret, step_of(clock) + 1)
    assert worker_b.verify(user, otp=newer, recovery_code=None) == "otp"
    with pytest.raises(InvalidOtp):
        worker_a.verify(user, otp=newer, recovery_code=None)


# -- wrong codes ------------------------------------------------------------------


MALFORMED = [
    "12345",
    "1234567",
    "abcdef",
    "12 34 5",
    "12345\x00",
    "\uff11\uff12\uff13\uff14\uff15\uff16",  # full-width digits: str.isdigit() is True
    "\u0661\u0662\u0663\u0664\u0665\u0666",  # Arabic-Indic digits
    "\ud800\udc00\ud800\udc0012",  # lone surrogates, as JSON may carry them
]


@pytest.mark.parametrize("bad", MALFORMED)
def test_malformed_codes_are_invalid_otp_not_a_crash(
    backend: Backend, clock: FrozenClock, bad: str
) -> None:
    mfa = make_service(backend.store, clock)
    user, _, _ = enrol(mfa, backend, clock)
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=bad, recovery_code=None)
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=None, recovery_code=bad)


def test_no_code_at_all_is_mfa_required(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, _, _ = enrol(mfa, backend, clock)
    with pytest.raises(MfaRequired):
        mfa.verify(user, otp=None, recovery_code=None)


def test_a_wrong_code_is_invalid_otp_and_does_not_burn_the_step(
    backend: Backend, clock: FrozenClock
) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    valid = code(secret, step_of(clock))
    window = {code(secret, step_of(clock) + d) for d in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=wrong, recovery_code=None)
    assert mfa.verify(user, otp=valid, recovery_code=None) == "otp"


def test_random_six_digit_codes_other_than_the_valid_ones_are_rejected(
    clock: FrozenClock,
) -> None:
    backend = memory_stores()
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    now = step_of(clock)
    valid = {code(secret, now + d) for d in (-1, 0, 1)}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.from_regex(r"\A[0-9]{6}\Z"))
    def check(candidate: str) -> None:
        assume(candidate not in valid)
        with pytest.raises(InvalidOtp):
            mfa.verify(user, otp=candidate, recovery_code=None)

    check()
    # Nothing was consumed by the failures: a valid code still works.
    assert mfa.verify(user, otp=code(secret, now), recovery_code=None) == "otp"


# -- recovery codes ----------------------------------------------------------------


def test_a_recovery_code_works_once(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, _, recovery = enrol(mfa, backend, clock)
    assert mfa.verify(user, otp=None, recovery_code=recovery[0]) == "recovery_code"
    assert backend.store.remaining_recovery_codes(user.id) == 9
    with pytest.raises(InvalidOtp):
        mfa.verify(user, otp=None, recovery_code=recovery[0])
    assert mfa.verify(user, otp=None, recovery_code=recovery[1]) == "recovery_code"
    assert backend.store.remaining_recovery_codes(user.id) == 8


def test_recovery_codes_ignore_case_dashes_and_spaces(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, _, recovery = enrol(mfa, backend, clock)
    first, second = recovery[0], recovery[1]
    assert mfa.verify(user, otp=None, recovery_code=first.upper().replace("-", "")) == (
        "recovery_code"
    )
    with pytest.raises(InvalidOtp):  # the same code in its printed form: already used
        mfa.verify(user, otp=None, recovery_code=first)
    spaced = " " + second.replace("-", " ").upper() + " "
    assert mfa.verify(user, otp=None, recovery_code=spaced) == "recovery_code"


def test_an_unknown_or_other_users_recovery_code_is_rejected(
    backend: Backend, clock: FrozenClock
) -> None:
    mfa = make_service(backend.store, clock)
    alice, _, _ = enrol(mfa, backend, clock)
    bob = make_user(backend.users, "bob")
    bob_secret = mfa.setup(bob).secret
    bob_codes = mfa.enable(bob, code(bob_secret, step_of(clock)))
    with pytest.raises(InvalidOtp):
        mfa.verify(alice, otp=None, recovery_code=bob_codes[0])
    with pytest.raises(InvalidOtp):
        mfa.verify(alice, otp=None, recovery_code="aaaaa-aaaaa")


# -- disable -------------------------------------------------------------------------


def test_disable_with_a_code(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    assert mfa.disable(user, otp=code(secret, step_of(clock)), recovery_code=None) == "otp"
    assert not fresh(backend.users, user).mfa_enabled
    assert backend.store.get_secret(user.id) is None
    assert backend.store.remaining_recovery_codes(user.id) == 0


def test_disable_with_a_recovery_code(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, _, recovery = enrol(mfa, backend, clock)
    assert mfa.disable(user, otp=None, recovery_code=recovery[3]) == "recovery_code"
    assert not fresh(backend.users, user).mfa_enabled
    assert backend.store.get_secret(user.id) is None


def test_disable_with_a_wrong_code_keeps_mfa(backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(backend.store, clock)
    user, secret, _ = enrol(mfa, backend, clock)
    window = {code(secret, step_of(clock) + d) for d in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    with pytest.raises(InvalidOtp):
        mfa.disable(user, otp=wrong, recovery_code=None)
    with pytest.raises(InvalidOtp):
        mfa.disable(user, otp=None, recovery_code="zzzzz-zzzzz")
    with pytest.raises(MfaRequired):
        mfa.disable(user, otp=None, recovery_code=None)
    assert fresh(backend.users, user).mfa_enabled
    assert backend.store.get_secret(user.id) is not None


def test_disable_when_not_enabled_is_a_conflict(backend: Backend, clock: FrozenClock) -> None:
    with pytest.raises(Conflict):
        make_service(backend.store, clock).disable(
            make_user(backend.users), otp="123456", recovery_code=None
        )


def test_re_enrolling_after_disable_needs_a_new_secret(
    backend: Backend, clock: FrozenClock
) -> None:
    mfa = make_service(backend.store, clock)
    user, old_secret, old_codes = enrol(mfa, backend, clock)
    mfa.disable(user, otp=code(old_secret, step_of(clock)), recovery_code=None)
    user = fresh(backend.users, user)
    clock.advance(PERIOD)
    new_secret = mfa.setup(user).secret
    assert new_secret != old_secret
    mfa.enable(user, code(new_secret, step_of(clock)))
    user = fresh(backend.users, user)
    with pytest.raises(InvalidOtp):  # the old recovery codes are gone
        mfa.verify(user, otp=None, recovery_code=old_codes[0])


# -- encryption at rest -----------------------------------------------------------------


def test_the_secret_is_encrypted_in_the_database(sql_backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(sql_backend.store, clock)
    user, secret, _ = enrol(mfa, sql_backend, clock)
    assert sql_backend.engine is not None
    with sql_backend.engine.connect() as conn:
        raw = conn.execute(
            select(users.c.mfa_secret_encrypted).where(users.c.id == user.id)
        ).scalar_one()
    assert isinstance(raw, str)
    assert secret not in raw
    assert secret.lower() not in raw.lower()
    assert base64.b32encode(base64.b32decode(secret)).decode() not in raw
    assert SecretBox([KEY]).decrypt(raw) == secret


def test_a_rotated_key_list_still_decrypts_old_secrets(
    sql_backend: Backend, clock: FrozenClock
) -> None:
    """``[new, old]``: old ciphertexts still open, new ones are written with the new key."""
    old_worker = make_service(sql_backend.new_store(), clock)
    user, secret, _ = enrol(old_worker, sql_backend, clock)
    rotated = make_service(sql_backend.new_store(), clock, keys=(NEW_KEY, KEY))
    assert rotated.verify(user, otp=code(secret, step_of(clock)), recovery_code=None) == "otp"

    bob = make_user(sql_backend.users, "bob")
    bob_secret = rotated.setup(bob).secret
    stored = sql_backend.store.get_secret(bob.id)
    assert stored is not None
    assert SecretBox([NEW_KEY]).decrypt(stored) == bob_secret
    with pytest.raises(ConfigurationError):
        SecretBox([KEY]).decrypt(stored)


def test_a_wrong_key_is_a_configuration_error(sql_backend: Backend, clock: FrozenClock) -> None:
    mfa = make_service(sql_backend.store, clock)
    user, secret, _ = enrol(mfa, sql_backend, clock)
    stored = sql_backend.store.get_secret(user.id)
    assert stored is not None
    with pytest.raises(ConfigurationError):
        SecretBox(["an-entirely-different-key-0000"]).decrypt(stored)
    misconfigured = make_service(
        sql_backend.new_store(), clock, keys=("wrong-key-wrong-key-wrong",)
    )
    with pytest.raises(ConfigurationError):
        misconfigured.verify(user, otp=code(secret, step_of(clock)), recovery_code=None)


def test_secret_box_refuses_weak_or_missing_keys_and_hides_them() -> None:
    with pytest.raises(ConfigurationError):
        SecretBox([])
    with pytest.raises(ConfigurationError):
        SecretBox(["short"])
    box = SecretBox([KEY])
    assert KEY not in repr(box)
    ciphertext = box.encrypt("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    assert ciphertext != box.encrypt("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")  # random IV
    with pytest.raises(ConfigurationError):
        box.decrypt(ciphertext[:-4] + "AAAA")


# -- concurrency -----------------------------------------------------------------------


def race(attempt: Callable[[], object]) -> tuple[int, Counter[str]]:
    """Run ``attempt`` from THREADS threads released together; successes and error names."""
    barrier = threading.Barrier(THREADS)
    wins = 0
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        nonlocal wins
        barrier.wait()
        try:
            result = attempt()
        except Exception as exc:  # every kind is counted: only InvalidOtp is allowed
            with lock:
                errors[type(exc).__name__] += 1
        else:
            with lock:
                wins += bool(result)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "an attempt hung"
    return wins, errors


def test_concurrent_claims_of_one_step_accept_exactly_one(
    sql_backend: Backend, clock: FrozenClock
) -> None:
    user = make_user(sql_backend.users)
    step = step_of(clock)
    stores = [sql_backend.new_store() for _ in range(THREADS)]
    index = iter(range(THREADS))
    index_lock = threading.Lock()

    def claim() -> bool:
        with index_lock:
            store = stores[next(index)]
        return store.claim_step(user.id, step)

    wins, errors = race(claim)
    assert (wins, errors) == (1, Counter())
    assert not sql_backend.store.claim_step(user.id, step)


def test_concurrent_submissions_of_one_code_accept_exactly_one(
    backend: Backend, clock: FrozenClock
) -> None:
    """Ten workers (own service and store each) verify the same valid code at once."""
    first = make_service(backend.store, clock)
    user, secret, _ = enrol(first, backend, clock)
    workers = [make_service(backend.new_store(), clock) for _ in range(THREADS)]
    otp = code(secret, step_of(clock))
    index = iter(range(THREADS))
    index_lock = threading.Lock()

    def submit() -> bool:
        with index_lock:
            worker = workers[next(index)]
        try:
            return worker.verify(user, otp=otp, recovery_code=None) == "otp"
        except InvalidOtp:
            return False

    wins, errors = race(submit)
    assert (wins, errors) == (1, Counter())


def test_concurrent_uses_of_one_recovery_code_accept_exactly_one(
    sql_backend: Backend, clock: FrozenClock
) -> None:
    first = make_service(sql_backend.store, clock)
    user, _, recovery = enrol(first, sql_backend, clock)
    workers = [make_service(sql_backend.new_store(), clock) for _ in range(THREADS)]
    index = iter(range(THREADS))
    index_lock = threading.Lock()

    def submit() -> bool:
        with index_lock:
            worker = workers[next(index)]
        try:
            return worker.verify(user, otp=None, recovery_code=recovery[0]) == "recovery_code"
        except InvalidOtp:
            return False

    wins, errors = race(submit)
    assert (wins, errors) == (1, Counter())
    assert sql_backend.store.remaining_recovery_codes(user.id) == 9
