"""Re-encrypting stored TOTP secrets after the MFA key rotates (``rekey_secrets``).

Issue 11: with ``FLIGHT_APP_MFA_ENCRYPTION_KEY=<new>,<old>`` new secrets used the
new key but existing ones stayed under the old key forever, so the old key could
never be removed. Runs on the memory store, SQLite and (when configured)
PostgreSQL; a property test covers ``SecretBox.rotate`` itself.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pyotp
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine

from authkit.clock import FrozenClock
from authkit.errors import ConfigurationError
from authkit.mfa import (
    PERIOD,
    MfaService,
    MfaStore,
    RecoveryCodeHasher,
    RekeyReport,
    SecretBox,
    Totp,
    TotpConfig,
    rekey_secrets,
)
from authkit.passwords import Argon2Parameters
from authkit.storage import (
    MemoryMfaStore,
    MemoryUserStore,
    SqlMfaStore,
    SqlUserStore,
    create_engine,
    create_schema,
)
from authkit.users import NewUser, User, UserStore

NOW = datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)
OLD_KEY = "mfa-key-old-0123456789abcdef"
NEW_KEY = "mfa-key-new-fedcba9876543210"
LOST_KEY = "mfa-key-lost-00112233445566"
CHEAP_ARGON2 = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Backend:
    users: UserStore
    store: MfaStore
    new_store: Callable[[], MfaStore]


class Sink:
    """An ``AuditSink`` that keeps the events in a list."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def log(self, event: str, *, outcome: str, **fields: Any) -> None:
        with self._lock:
            self.events.append({"event": event, "outcome": outcome, **fields})


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "memory":
        users = MemoryUserStore()
        shared = MemoryMfaStore(users)
        yield Backend(users=users, store=shared, new_store=lambda: shared)
        return
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine: Engine = create_engine(url)
    create_schema(engine)
    yield Backend(
        users=SqlUserStore(engine),
        store=SqlMfaStore(engine),
        new_store=lambda: SqlMfaStore(engine),
    )
    engine.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


def service(store: MfaStore, clock: FrozenClock, *keys: str) -> MfaService:
    return MfaService(
        store=store,
        box=SecretBox(list(keys)),
        totp=Totp(TotpConfig(issuer="Flight App"), clock=clock),
        clock=clock,
        recovery=RecoveryCodeHasher(CHEAP_ARGON2),
    )


def make_user(users: UserStore, name: str) -> User:
    return users.create(
        NewUser(
            id=str(uuid.uuid4()),
            username=name,
            email=f"{name}@example.test",
            password_hash="not-a-real-hash",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )


def code(secret: str, clock: FrozenClock) -> str:
    return str(pyotp.TOTP(secret).at(int(clock.now().timestamp()) // PERIOD * PERIOD))


def enrol(mfa: MfaService, users: UserStore, clock: FrozenClock, name: str) -> tuple[User, str]:
    """A user with TOTP enabled; the clock moves a step on so the next code is fresh."""
    user = make_user(users, name)
    secret = mfa.setup(user).secret
    mfa.enable(user, code(secret, clock))
    clock.advance(PERIOD)
    found = users.get(user.id)
    assert found is not None
    return found, secret


def stored(store: MfaStore, user: User) -> str:
    value = store.get_secret(user.id)
    assert value is not None
    return value


def test_rekey_moves_every_secret_to_the_current_key(backend: Backend, clock: FrozenClock) -> None:
    before = service(backend.store, clock, OLD_KEY)
    enabled = [enrol(before, backend.users, clock, f"user{n}") for n in range(3)]
    pending = make_user(backend.users, "pending")
    pending_secret = before.setup(pending).secret
    make_user(backend.users, "no-mfa")

    after = service(backend.store, clock, NEW_KEY, OLD_KEY)
    audit = Sink()
    report = rekey_secrets(store=backend.store, box=after.box, audit=audit)
    assert report == RekeyReport(examined=4, rekeyed=4, current=0, changed=0)
    assert report.complete

    only_new = service(backend.store, clock, NEW_KEY)
    for user, secret in enabled:
        assert only_new.box.decrypt(stored(backend.store, user)) == secret
        assert only_new.verify(user, otp=code(secret, clock), recovery_code=None) == "otp"
    assert only_new.box.decrypt(stored(backend.store, pending)) == pending_secret
    with pytest.raises(ConfigurationError):
        SecretBox([OLD_KEY]).decrypt(stored(backend.store, pending))

    assert audit.events == [
        {
            "event": "mfa.rekey",
            "outcome": "success",
            "examined": 4,
            "rekeyed": 4,
            "current": 0,
            "changed": 0,
            "undecryptable": 0,
            "target_ids": [],
        }
    ]


def test_rekey_twice_changes_nothing_the_second_time(backend: Backend, clock: FrozenClock) -> None:
    before = service(backend.store, clock, OLD_KEY)
    users = [enrol(before, backend.users, clock, f"u{n}")[0] for n in range(2)]
    box = SecretBox([NEW_KEY, OLD_KEY])
    assert rekey_secrets(store=backend.store, box=box, audit=Sink()).rekeyed == 2
    ciphertexts = [stored(backend.store, user) for user in users]
    again = rekey_secrets(store=backend.store, box=box, audit=Sink())
    assert again == RekeyReport(examined=2, rekeyed=0, current=2, changed=0)
    assert [stored(backend.store, user) for user in users] == ciphertexts


def test_rekey_pages_through_many_secrets(backend: Backend, clock: FrozenClock) -> None:
    before = service(backend.store, clock, OLD_KEY)
    users = [make_user(backend.users, f"p{n:02d}") for n in range(7)]
    for user in users:
        before.setup(user)
    box = SecretBox([NEW_KEY, OLD_KEY])
    report = rekey_secrets(store=backend.store, box=box, audit=Sink(), batch_size=3)
    assert (report.examined, report.rekeyed) == (7, 7)
    assert all(box.is_current(stored(backend.store, user)) for user in users)


def test_a_secret_no_key_opens_is_reported_and_left_alone(
    backend: Backend, clock: FrozenClock
) -> None:
    lost_user, _ = enrol(service(backend.store, clock, LOST_KEY), backend.users, clock, "lost")
    old = service(backend.store, clock, OLD_KEY)
    kept_user, kept_secret = enrol(old, backend.users, clock, "kept")
    lost_ciphertext = stored(backend.store, lost_user)
    audit = Sink()
    report = rekey_secrets(store=backend.store, box=SecretBox([NEW_KEY, OLD_KEY]), audit=audit)
    assert report == RekeyReport(
        examined=2, rekeyed=1, current=0, changed=0, undecryptable=(lost_user.id,)
    )
    assert not report.complete
    assert stored(backend.store, lost_user) == lost_ciphertext
    assert SecretBox([NEW_KEY]).decrypt(stored(backend.store, kept_user)) == kept_secret
    [event] = audit.events
    assert (event["outcome"], event["undecryptable"], event["target_ids"]) == (
        "failure",
        1,
        [lost_user.id],
    )


class _ReEnrolsDuringTheRun:
    """An ``MfaStore`` that lets the user re-enrol between the read and the write."""

    def __init__(self, inner: MfaStore, during: Callable[[], None]) -> None:
        self._inner = inner
        self._during = during

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def encrypted_secrets(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        page = self._inner.encrypted_secrets(after=after, limit=limit)
        if page:
            self._during()
        return page


def test_a_secret_replaced_during_the_run_is_not_overwritten(
    backend: Backend, clock: FrozenClock
) -> None:
    before = service(backend.store, clock, OLD_KEY)
    user = make_user(backend.users, "racer")
    before.setup(user)
    rotated = service(backend.store, clock, NEW_KEY, OLD_KEY)
    newer: list[str] = []
    racing = _ReEnrolsDuringTheRun(backend.store, lambda: newer.append(rotated.setup(user).secret))
    report = rekey_secrets(store=racing, box=rotated.box, audit=Sink())
    assert (report.rekeyed, report.changed) == (0, 1)
    assert SecretBox([NEW_KEY]).decrypt(stored(backend.store, user)) == newer[0]


def test_concurrent_runs_rekey_each_secret_exactly_once(
    backend: Backend, clock: FrozenClock
) -> None:
    """Two operators (or two hosts) at once: the compare-and-set makes one of them win."""
    before = service(backend.store, clock, OLD_KEY)
    users = [make_user(backend.users, f"c{n:02d}") for n in range(12)]
    plaintexts = {user.id: before.setup(user).secret for user in users}
    box = SecretBox([NEW_KEY, OLD_KEY])
    reports: list[RekeyReport] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        store = backend.new_store()
        barrier.wait()
        reports.append(rekey_secrets(store=store, box=box, audit=Sink(), batch_size=5))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(reports) == 4
    assert sum(r.rekeyed for r in reports) == len(users)
    for user in users:
        assert SecretBox([NEW_KEY]).decrypt(stored(backend.store, user)) == plaintexts[user.id]


def test_a_zero_batch_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        rekey_secrets(store=backend.store, box=SecretBox([NEW_KEY]), audit=Sink(), batch_size=0)


_KEYS = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=16, max_size=40
)


@given(
    plaintext=st.text(max_size=64),
    keys=st.lists(_KEYS, min_size=2, max_size=4, unique=True),
    encrypting=st.integers(min_value=0, max_value=3),
)
def test_rotate_keeps_the_plaintext_and_uses_the_current_key(
    plaintext: str, keys: list[str], encrypting: int
) -> None:
    """Whichever configured key encrypted it, ``rotate`` gives the current key's ciphertext."""
    old = SecretBox([keys[encrypting % len(keys)]]).encrypt(plaintext)
    box = SecretBox(keys)
    rotated = box.rotate(old)
    assert box.is_current(rotated)
    assert SecretBox([keys[0]]).decrypt(rotated) == plaintext
    assert box.is_current(old) == (encrypting % len(keys) == 0)


def test_rotate_refuses_a_secret_no_key_opens() -> None:
    old = SecretBox([LOST_KEY]).encrypt("JBSWY3DPEHPK3PXP")
    with pytest.raises(ConfigurationError):
        SecretBox([NEW_KEY, OLD_KEY]).rotate(old)
