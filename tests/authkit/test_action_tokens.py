"""One-time action tokens: the store contract, a 20-thread race, and a lifecycle state machine.

The properties (issue 15): no token works twice; no token survives the change it
guards (a verification link the email; a reset or email-change link the password
and the email); expiry holds with the injected clock; of twenty threads redeeming one
token at once exactly one wins, on SQLite and PostgreSQL as in memory.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import Engine, func, select

from authkit import AuthkitConfig, build, open_stores
from authkit.account import (
    AccountConfig,
    ActionPurpose,
    ActionTokenRecord,
    ActionTokens,
    ActionTokenStore,
    hash_action_token,
)
from authkit.clock import FrozenClock
from authkit.errors import InvalidToken
from authkit.mail import MemoryMailer
from authkit.passwords import Argon2Parameters
from authkit.storage import (
    MemoryActionTokenStore,
    MemoryUserStore,
    SqlActionTokenStore,
    SqlUserStore,
    action_tokens,
)
from authkit.users import NewUser, User, UserStore

THREADS = 20
NOW = datetime(2026, 1, 1, tzinfo=UTC)
KEY = b"k" * 32
LIFETIMES = {
    ActionPurpose.RESET_PASSWORD: 1800,
    ActionPurpose.VERIFY_EMAIL: 86400,
    ActionPurpose.CHANGE_EMAIL: 86400,
}


def make_user(store: UserStore, name: str = "alice") -> User:
    return store.create(
        NewUser(
            id=str(uuid.uuid4()),
            username=name,
            email=f"{name}@example.com",
            password_hash="hash-0",
            roles=("user",),
            is_active=True,
            created_at=NOW,
        )
    )


def record(
    user_id: str,
    *,
    purpose: ActionPurpose = ActionPurpose.VERIFY_EMAIL,
    token_hash: str = "a" * 64,
    ttl: int = 60,
) -> ActionTokenRecord:
    return ActionTokenRecord(
        token_hash=token_hash,
        user_id=user_id,
        purpose=purpose,
        binding="b" * 64,
        created_at=NOW,
        expires_at=NOW + timedelta(seconds=ttl),
        new_email="new@example.com" if purpose is ActionPurpose.CHANGE_EMAIL else None,
    )


# -- store contract ------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sql"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[UserStore, ActionTokenStore]:
    if request.param == "memory":
        return MemoryUserStore(), MemoryActionTokenStore()
    opened = open_stores(f"sqlite:///{tmp_path / 'a.db'}", create_tables=True)
    assert opened.action_tokens is not None
    return opened.users, opened.action_tokens


def test_store_round_trip_consume_once_and_purpose(
    stores: tuple[UserStore, ActionTokenStore],
) -> None:
    users, store = stores
    user = make_user(users)
    change = record(user.id, purpose=ActionPurpose.CHANGE_EMAIL)
    store.add(change)
    assert store.peek(change.token_hash, now=NOW) == change
    assert store.consume(change.token_hash, purpose=ActionPurpose.VERIFY_EMAIL, now=NOW) is None
    assert store.consume(change.token_hash, purpose=ActionPurpose.CHANGE_EMAIL, now=NOW) == change
    assert store.consume(change.token_hash, purpose=ActionPurpose.CHANGE_EMAIL, now=NOW) is None
    assert store.peek(change.token_hash, now=NOW) is None


def test_store_expiry_and_purge(stores: tuple[UserStore, ActionTokenStore]) -> None:
    users, store = stores
    user = make_user(users)
    store.add(record(user.id, ttl=60))
    later = NOW + timedelta(seconds=60)
    assert store.peek("a" * 64, now=later) is None
    assert store.consume("a" * 64, purpose=ActionPurpose.VERIFY_EMAIL, now=later) is None
    assert store.purge(now=later) == 1


def test_store_keeps_one_token_per_user_and_purpose(
    stores: tuple[UserStore, ActionTokenStore],
) -> None:
    users, store = stores
    user = make_user(users)
    store.add(record(user.id, token_hash="a" * 64))
    store.add(record(user.id, token_hash="c" * 64, purpose=ActionPurpose.RESET_PASSWORD))
    store.add(record(user.id, token_hash="d" * 64))
    assert store.peek("a" * 64, now=NOW) is None, "the newer verify link replaced it"
    assert store.peek("c" * 64, now=NOW) is not None, "other purposes are kept"
    assert store.delete_for_user(user.id, (ActionPurpose.RESET_PASSWORD,)) == 1
    assert store.delete_for_user(user.id) == 1


def test_tokens_are_stored_as_hashes_only(tmp_path: Path) -> None:
    opened = open_stores(f"sqlite:///{tmp_path / 'a.db'}", create_tables=True)
    user = make_user(opened.users)
    assert opened.action_tokens is not None
    tokens = ActionTokens(
        opened.action_tokens, key=KEY, lifetimes=LIFETIMES, clock=FrozenClock(NOW)
    )
    issued = tokens.issue(user, ActionPurpose.RESET_PASSWORD)
    assert opened.engine is not None
    with opened.engine.connect() as conn:
        row = conn.execute(select(action_tokens)).mappings().one()
    assert issued.token not in str(dict(row))
    assert row["token_hash"] == hash_action_token(issued.token)
    assert issued.token not in repr(issued)
    assert len(issued.token) >= 43  # 32 random bytes
    opened.close()


# -- the race ----------------------------------------------------------------------------


def race(tokens: ActionTokens, token: str, users: UserStore) -> tuple[int, Counter[str]]:
    barrier = threading.Barrier(THREADS)
    wins = 0
    errors: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt() -> None:
        nonlocal wins
        barrier.wait()
        try:
            tokens.redeem_record(token, ActionPurpose.RESET_PASSWORD, users.get)
        except Exception as exc:  # every kind is counted: only InvalidToken is allowed
            with lock:
                errors[type(exc).__name__] += 1
        else:
            with lock:
                wins += 1

    threads = [threading.Thread(target=attempt) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a redemption hung"
    return wins, errors


def test_one_of_twenty_concurrent_redemptions_wins_sql(engine: Engine) -> None:
    """SQLite and PostgreSQL: one winner, nineteen InvalidToken, no database error."""
    users = SqlUserStore(engine)
    user = make_user(users)
    tokens = ActionTokens(
        SqlActionTokenStore(engine), key=KEY, lifetimes=LIFETIMES, clock=FrozenClock(NOW)
    )
    for _ in range(3):
        issued = tokens.issue(user, ActionPurpose.RESET_PASSWORD)
        wins, errors = race(tokens, issued.token, users)
        assert wins == 1
        assert errors == Counter({InvalidToken.__name__: THREADS - 1})
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(action_tokens)).scalar_one()
        assert left == 0


def test_twenty_concurrent_issues_leave_one_live_link_sql(engine: Engine) -> None:
    """Only the newest link of a kind works, even when twenty are asked for at once.

    Two workers asking at the same moment (two email changes to different
    addresses, say) must not leave two live links: the store serialises the
    replace per user.
    """
    users = SqlUserStore(engine)
    user = make_user(users)
    tokens = ActionTokens(
        SqlActionTokenStore(engine), key=KEY, lifetimes=LIFETIMES, clock=FrozenClock(NOW)
    )
    for _ in range(3):
        barrier = threading.Barrier(THREADS)
        errors: list[BaseException] = []

        def issue(
            i: int, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            barrier.wait()
            try:
                tokens.issue(user, ActionPurpose.CHANGE_EMAIL, new_email=f"n{i}@example.com")
            except BaseException as exc:  # every failure is reported below
                errors.append(exc)

        threads = [threading.Thread(target=issue, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        with engine.connect() as conn:
            live = conn.execute(select(func.count()).select_from(action_tokens)).scalar_one()
        assert live == 1


def test_one_of_twenty_concurrent_redemptions_wins_memory() -> None:
    users = MemoryUserStore()
    user = make_user(users)
    tokens = ActionTokens(
        MemoryActionTokenStore(), key=KEY, lifetimes=LIFETIMES, clock=FrozenClock(NOW)
    )
    issued = tokens.issue(user, ActionPurpose.RESET_PASSWORD)
    wins, errors = race(tokens, issued.token, users)
    assert wins == 1
    assert errors == Counter({InvalidToken.__name__: THREADS - 1})


def test_twenty_concurrent_password_resets_with_one_link_set_one_password(
    database_url: str, tmp_path: Path
) -> None:
    """Through the whole flow: one reset succeeds, the rest get InvalidToken."""
    mailer = MemoryMailer()
    kit = build(
        AuthkitConfig(
            service_name="racetest",
            secret_key="a-test-secret-key-of-32-characters",
            argon2=Argon2Parameters(time_cost=1, memory_cost=1024),
            account=AccountConfig(),
        ),
        audit=tmp_path / "auth.jsonl",
        stores=open_stores(database_url, create_tables=True),
        mail=mailer,
    )
    try:
        user = kit.auth.create_user(
            username="alice", email="alice@example.com", password="violet-harbour-7-lanterns"
        )
        issued = kit.account.tokens.issue(user, ActionPurpose.RESET_PASSWORD)
        barrier = threading.Barrier(THREADS)
        outcomes: list[str] = []
        lock = threading.Lock()

        def attempt(i: int) -> None:
            barrier.wait()
            try:
                kit.account.reset_password(
                    token=issued.token,
                    new_password=f"copper-meadow-{i}-kestrels",
                    address="198.51.100.1",
                )
                outcome = f"ok-{i}"
            except Exception as exc:
                outcome = type(exc).__name__
            with lock:
                outcomes.append(outcome)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        winners = [o for o in outcomes if o.startswith("ok-")]
        assert len(winners) == 1, outcomes
        assert Counter(o for o in outcomes if not o.startswith("ok-")) == Counter(
            {InvalidToken.__name__: THREADS - 1}
        )
        i = winners[0].removeprefix("ok-")
        kit.auth.login(
            identifier="alice", password=f"copper-meadow-{i}-kestrels", address="198.51.100.2"
        )
    finally:
        kit.close()


# -- the lifecycle state machine -------------------------------------------------------------


@dataclasses.dataclass
class Issued:
    token: str
    purpose: ActionPurpose
    password_version: int
    email_version: int
    expires_at: datetime
    live: bool = True


class TokenLifecycle(RuleBasedStateMachine):
    """Issue, redeem, change the password or the email, and let time pass, in any order.

    The model predicts every redemption: it succeeds exactly when the token is the
    newest of its purpose, never redeemed, unexpired by the injected clock, and the
    state it guards is unchanged since it was issued. Anything else must be
    ``InvalidToken``.
    """

    issued = Bundle("issued")

    def open(self) -> tuple[UserStore, ActionTokenStore]:
        return MemoryUserStore(), MemoryActionTokenStore()

    @initialize()
    def setup(self) -> None:
        self.clock = FrozenClock(NOW)
        self.users, store = self.open()
        self.user = make_user(self.users)
        self.tokens = ActionTokens(store, key=KEY, lifetimes=LIFETIMES, clock=self.clock)
        self.password_version = 0
        self.email_version = 0
        self.all: list[Issued] = []
        self.successes: set[str] = set()

    @rule(target=issued, purpose=st.sampled_from(list(ActionPurpose)))
    def issue(self, purpose: ActionPurpose) -> Issued:
        user = self.users.get(self.user.id)
        assert user is not None
        made = self.tokens.issue(
            user,
            purpose,
            new_email="next@example.com" if purpose is ActionPurpose.CHANGE_EMAIL else None,
        )
        for older in self.all:
            if older.purpose is purpose:
                older.live = False  # the store keeps the newest link of each purpose
        entry = Issued(
            token=made.token,
            purpose=purpose,
            password_version=self.password_version,
            email_version=self.email_version,
            expires_at=self.clock.now() + timedelta(seconds=LIFETIMES[purpose]),
        )
        self.all.append(entry)
        return entry

    @rule(entry=issued, purpose=st.sampled_from(list(ActionPurpose)))
    def redeem(self, entry: Issued, purpose: ActionPurpose) -> None:
        consumable = entry.live and entry.purpose is purpose and self.clock.now() < entry.expires_at
        email_unchanged = entry.email_version == self.email_version
        guarded_unchanged = (
            email_unchanged
            if purpose is ActionPurpose.VERIFY_EMAIL
            else email_unchanged and entry.password_version == self.password_version
        )
        expected = consumable and guarded_unchanged
        try:
            self.tokens.redeem_record(entry.token, purpose, self.users.get)
            succeeded = True
        except InvalidToken:
            succeeded = False
        assert succeeded == expected
        if succeeded:
            assert entry.token not in self.successes, "a token worked twice"
            self.successes.add(entry.token)
        if consumable:
            entry.live = False

    @rule(n=st.integers(min_value=1, max_value=1000))
    def change_password(self, n: int) -> None:
        self.password_version += 1
        self.users.set_password(
            self.user.id, f"hash-{self.password_version}-{n}", at=self.clock.now()
        )

    @rule()
    def change_email(self) -> None:
        current = self.users.get(self.user.id)
        assert current is not None
        self.email_version += 1
        changed = self.users.change_email(
            self.user.id,
            old_email=current.email,
            new_email=f"alice{self.email_version}@example.com",
            at=self.clock.now(),
        )
        assert changed is not None

    @rule(seconds=st.sampled_from([1, 60, 1799, 1800, 3600, 86399, 86400]))
    def advance(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @precondition(lambda self: hasattr(self, "all"))
    @invariant()
    def expired_tokens_never_peek(self) -> None:
        for entry in self.all:
            if self.clock.now() >= entry.expires_at:
                with pytest.raises(InvalidToken):
                    self.tokens.peek(entry.token, entry.purpose)


TokenLifecycle.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_token_lifecycle = TokenLifecycle.TestCase


class SqliteTokenLifecycle(TokenLifecycle):
    """The same machine over the SQL stores (a fresh SQLite file per example)."""

    def open(self) -> tuple[UserStore, ActionTokenStore]:
        self.folder = tempfile.TemporaryDirectory()
        self.stores = open_stores(f"sqlite:///{self.folder.name}/t.db", create_tables=True)
        assert self.stores.action_tokens is not None
        return self.stores.users, self.stores.action_tokens

    def teardown(self) -> None:
        if hasattr(self, "stores"):
            self.stores.close()
            self.folder.cleanup()


SqliteTokenLifecycle.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_token_lifecycle_sqlite = SqliteTokenLifecycle.TestCase
