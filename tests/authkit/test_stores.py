"""One contract suite for the stores, run over the in-memory and the SQL implementations.

``StoreContract`` holds the behaviour; each ``Test*`` subclass only says how to build
its stores. The SQL classes use the ``engine`` fixture, so they run on SQLite always
and on PostgreSQL when ``AUTHKIT_TEST_POSTGRES_URL`` is set.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlalchemy.exc import IntegrityError

from authkit.errors import Conflict
from authkit.storage import (
    MemoryRefreshTokenStore,
    MemoryUserStore,
    SqlRefreshTokenStore,
    SqlUserStore,
    refresh_tokens,
    users,
)
from authkit.storage.memory._sign_ins import MemorySignIns
from authkit.storage.sql._sign_ins import SqlSignIns
from authkit.storage.sql._tokens import token_row
from authkit.tokens import (
    RefreshTokenRecord,
    RefreshTokens,
    RefreshTokenStore,
    RotationOutcome,
    hash_token,
)
from authkit.users import NewUser, SignInRecorder, User, UserStore

NOW = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
HOUR = timedelta(hours=1)


def new_user(
    username: str,
    email: str | None = None,
    *,
    roles: tuple[str, ...] = ("user",),
    is_active: bool = True,
) -> NewUser:
    return NewUser(
        id=str(uuid.uuid4()),
        username=username,
        email=email or f"{username}@example.test",
        password_hash=f"$argon2id$fake${username}",
        roles=roles,
        is_active=is_active,
        created_at=NOW,
    )


def token_record(
    user_id: str,
    *,
    family_id: str | None = None,
    issued_at: datetime = NOW,
    idle: timedelta = HOUR,
    absolute: timedelta = 24 * HOUR,
    **changes: Any,
) -> tuple[str, RefreshTokenRecord]:
    """A raw token and its stored record (the store only ever sees the record)."""
    raw = secrets.token_urlsafe(32)
    fields: dict[str, Any] = {
        "jti": str(uuid.uuid4()),
        "token_hash": hash_token(raw),
        "family_id": family_id or str(uuid.uuid4()),
        "user_id": user_id,
        "issued_at": issued_at,
        "expires_at": issued_at + idle,
        "family_expires_at": issued_at + absolute,
    }
    fields.update(changes)
    return raw, RefreshTokenRecord(**fields)


class SuccessorSpy:
    """A successor factory that records what it was given."""

    def __init__(self, now: datetime = NOW) -> None:
        self.calls: list[RefreshTokenRecord] = []
        self.raw: str | None = None
        self._now = now

    def __call__(self, consumed: RefreshTokenRecord) -> RefreshTokenRecord:
        self.calls.append(consumed)
        raw, record = token_record(
            consumed.user_id,
            family_id=consumed.family_id,
            issued_at=self._now,
            family_expires_at=consumed.family_expires_at,
        )
        self.raw = raw
        return record


class StoreContract:
    """The behaviour every UserStore / RefreshTokenStore pair must have."""

    @pytest.fixture
    def user_store(self) -> UserStore:
        raise NotImplementedError

    @pytest.fixture
    def token_store(self) -> RefreshTokenStore:
        raise NotImplementedError

    @pytest.fixture
    def dump(self) -> Callable[[], list[str]]:
        """Reads everything the token store holds, as strings (for the 'no raw token' check)."""
        raise NotImplementedError

    @pytest.fixture
    def alice(self, user_store: UserStore) -> User:
        return user_store.create(new_user("Alice", "Alice@Example.Test", roles=("user", "admin")))

    @pytest.fixture
    def sign_ins(self, user_store: UserStore, token_store: RefreshTokenStore) -> SignInRecorder:
        raise NotImplementedError

    def test_record_sign_in_stamps_the_login_and_stores_the_family(
        self,
        sign_ins: SignInRecorder,
        user_store: UserStore,
        token_store: RefreshTokenStore,
        alice: User,
    ) -> None:
        """One call: ``last_login_at`` (and an upgraded hash) and the session's first token."""
        _, record = token_record(alice.id)
        at = NOW + timedelta(minutes=1)
        sign_ins.record_sign_in(alice.id, at=at, new_hash=None, family=record)
        stamped = user_store.get(alice.id)
        assert stamped is not None
        assert stamped.last_login_at == at
        assert stamped.password_hash == alice.password_hash
        assert token_store.get_by_hash(record.token_hash) == record
        _, second = token_record(alice.id)
        sign_ins.record_sign_in(alice.id, at=at, new_hash="$argon2id$upgraded", family=second)
        upgraded = user_store.get(alice.id)
        assert upgraded is not None
        assert upgraded.password_hash == "$argon2id$upgraded"
        assert token_store.get_by_hash(second.token_hash) == second

    # -- users --------------------------------------------------------------------

    def test_create_returns_the_stored_user(self, user_store: UserStore) -> None:
        """create keeps the typed spelling, sorts roles and starts with no login."""
        new = new_user("Bob.Smith", "Bob@Example.Test", roles=("user", "admin"))
        user = user_store.create(new)
        assert user.id == new.id
        assert user.username == "Bob.Smith"
        assert user.email == "Bob@Example.Test"
        assert user.roles == ("admin", "user")
        assert user.is_active is True
        assert user.mfa_enabled is False
        assert user.created_at == NOW
        assert user.last_login_at is None
        assert user.password_changed_at is None
        assert user.password_hash == new.password_hash
        assert user_store.get(new.id) == user

    def test_user_without_roles(self, user_store: UserStore) -> None:
        """A user may have no roles at all."""
        user = user_store.create(new_user("noroles", roles=()))
        assert user.roles == ()
        fetched = user_store.get(user.id)
        assert fetched is not None
        assert fetched.roles == ()

    def test_get_unknown_is_none(self, user_store: UserStore) -> None:
        """An unknown id gives None, not an error."""
        assert user_store.get(str(uuid.uuid4())) is None

    @pytest.mark.parametrize(
        ("username", "email"),
        [
            ("alice", "other@example.test"),
            ("ALICE", "other@example.test"),
            (" alice ", "other@example.test"),
            ("someone", "alice@example.test"),
            ("someone", "ALICE@EXAMPLE.TEST"),
            ("someone", " Alice@Example.Test"),
        ],
    )
    def test_username_and_email_are_unique_ignoring_case(
        self, user_store: UserStore, alice: User, username: str, email: str
    ) -> None:
        """A username or email differing only in case (or spaces) is a Conflict."""
        with pytest.raises(Conflict):
            user_store.create(new_user(username, email))
        assert user_store.count_active() == 1
        assert user_store.find_by_login("someone") is None

    def test_uniqueness_uses_unicode_case_folding(self, user_store: UserStore) -> None:
        """'Straße' and 'STRASSE' are one name under case folding."""
        user_store.create(new_user("Straße", "s1@example.test"))
        with pytest.raises(Conflict):
            user_store.create(new_user("STRASSE", "s2@example.test"))

    def test_username_may_not_equal_another_email(self, user_store: UserStore, alice: User) -> None:
        """A login identifier must name one account: usernames and emails share a namespace."""
        with pytest.raises(Conflict):
            user_store.create(new_user("alice@example.test", "x@example.test"))

    @pytest.mark.parametrize(
        "identifier",
        [
            "Alice",
            "alice",
            "ALICE",
            "  aLiCe ",
            "alice@example.test",
            "ALICE@EXAMPLE.TEST",
            "Alice@Example.Test",
        ],
    )
    def test_find_by_login_by_username_or_email_any_case(
        self, user_store: UserStore, alice: User, identifier: str
    ) -> None:
        """Sign-in accepts the username or the email, in any case."""
        found = user_store.find_by_login(identifier)
        assert found is not None
        assert found.id == alice.id
        assert found.roles == ("admin", "user")

    def test_find_by_login_unknown(self, user_store: UserStore, alice: User) -> None:
        """Unknown identifiers and near misses find nothing."""
        for identifier in ("bob", "alic", "alice@example", "", "%", "alice%"):
            assert user_store.find_by_login(identifier) is None

    def test_record_login_without_new_hash(self, user_store: UserStore, alice: User) -> None:
        """record_login stamps last_login_at and keeps the hash."""
        at = NOW + HOUR
        user_store.record_login(alice.id, at=at)
        user = user_store.get(alice.id)
        assert user is not None
        assert user.last_login_at == at
        assert user.password_hash == alice.password_hash
        assert user.password_changed_at is None

    def test_record_login_with_new_hash(self, user_store: UserStore, alice: User) -> None:
        """An upgraded hash is stored with the login stamp; it is not a password change."""
        at = NOW + HOUR
        user_store.record_login(alice.id, at=at, new_hash="$argon2id$upgraded")
        user = user_store.get(alice.id)
        assert user is not None
        assert user.last_login_at == at
        assert user.password_hash == "$argon2id$upgraded"
        assert user.password_changed_at is None

    def test_set_password(self, user_store: UserStore, alice: User) -> None:
        """set_password stores the hash and stamps password_changed_at."""
        other = user_store.create(new_user("other"))
        at = NOW + 2 * HOUR
        user_store.set_password(alice.id, "$argon2id$new", at=at)
        user = user_store.get(alice.id)
        assert user is not None
        assert user.password_hash == "$argon2id$new"
        assert user.password_changed_at == at
        assert user.last_login_at is None
        assert user_store.get(other.id) == other

    def test_count_active(self, user_store: UserStore) -> None:
        """Only active users are counted."""
        assert user_store.count_active() == 0
        user_store.create(new_user("one"))
        user_store.create(new_user("two"))
        user_store.create(new_user("off", is_active=False))
        assert user_store.count_active() == 2

    def test_ping(self, user_store: UserStore) -> None:
        """A healthy store answers ping without raising."""
        user_store.ping()

    # -- refresh tokens ------------------------------------------------------------

    def test_add_and_get_by_hash(self, token_store: RefreshTokenStore, alice: User) -> None:
        """A stored record comes back equal, with timezone-aware UTC times."""
        raw, record = token_record(alice.id)
        token_store.add(record)
        fetched = token_store.get_by_hash(record.token_hash)
        assert fetched == record
        assert fetched is not None
        assert fetched.expires_at.tzinfo is not None
        assert token_store.get_by_hash(hash_token("unknown-token-value-xyz")) is None
        assert token_store.get_by_hash(raw) is None, "lookups are by hash, never by raw value"

    def test_rotate_stores_successor_in_the_same_call(
        self, token_store: RefreshTokenStore, alice: User
    ) -> None:
        """ROTATED: the old token is marked used and replaced_by; the successor is stored."""
        _, record = token_record(alice.id)
        token_store.add(record)
        spy = SuccessorSpy(NOW + timedelta(minutes=5))
        at = NOW + timedelta(minutes=5)
        result = token_store.rotate(record.token_hash, now=at, successor=spy)
        assert result.outcome is RotationOutcome.ROTATED
        assert len(spy.calls) == 1
        assert spy.calls[0].jti == record.jti
        assert spy.calls[0].used_at == at
        assert result.successor is not None
        assert result.consumed is not None
        assert result.consumed.jti == record.jti
        assert result.consumed.used_at == at
        stored_successor = token_store.get_by_hash(result.successor.token_hash)
        assert stored_successor == result.successor
        assert stored_successor is not None
        assert stored_successor.family_id == record.family_id
        assert stored_successor.used_at is None
        old = token_store.get_by_hash(record.token_hash)
        assert old is not None
        assert old.used_at == at
        assert old.replaced_by == result.successor.jti
        assert old.revoked_at is None

    def test_reuse_revokes_the_whole_family(
        self, token_store: RefreshTokenStore, alice: User
    ) -> None:
        """REUSED: presenting a consumed token revokes every token of its family, no others."""
        _, first = token_record(alice.id)
        _, bystander = token_record(alice.id)
        token_store.add(first)
        token_store.add(bystander)
        rotated = token_store.rotate(first.token_hash, now=NOW, successor=SuccessorSpy())
        assert rotated.successor is not None
        spy = SuccessorSpy()
        at = NOW + timedelta(minutes=1)
        result = token_store.rotate(first.token_hash, now=at, successor=spy)
        assert result.outcome is RotationOutcome.REUSED
        assert result.successor is None
        assert spy.calls == []
        for token_hash in (first.token_hash, rotated.successor.token_hash):
            stored = token_store.get_by_hash(token_hash)
            assert stored is not None
            assert stored.revoked_at == at
        other = token_store.get_by_hash(bystander.token_hash)
        assert other is not None
        assert other.revoked_at is None
        after = token_store.rotate(rotated.successor.token_hash, now=at, successor=spy)
        assert after.outcome is RotationOutcome.INVALID
        assert spy.calls == []

    def test_reuse_after_logout_is_still_reuse(
        self, token_store: RefreshTokenStore, alice: User
    ) -> None:
        """A used token of a revoked family is reported as reuse (it was stolen or replayed)."""
        _, first = token_record(alice.id)
        token_store.add(first)
        token_store.rotate(first.token_hash, now=NOW, successor=SuccessorSpy())
        token_store.revoke_family(first.family_id, now=NOW)
        result = token_store.rotate(first.token_hash, now=NOW, successor=SuccessorSpy())
        assert result.outcome is RotationOutcome.REUSED

    @pytest.mark.parametrize("case", ["unknown", "expired", "family_expired", "revoked"])
    def test_rotate_invalid(self, token_store: RefreshTokenStore, alice: User, case: str) -> None:
        """INVALID for an unknown, idle-expired, family-expired or revoked token; no successor."""
        _, record = token_record(alice.id)
        at = NOW + timedelta(minutes=1)
        if case == "expired":
            _, record = token_record(alice.id, expires_at=at)
        elif case == "family_expired":
            _, record = token_record(alice.id, family_expires_at=at)
        elif case == "revoked":
            _, record = token_record(alice.id, revoked_at=NOW)
        if case != "unknown":
            token_store.add(record)
        spy = SuccessorSpy()
        result = token_store.rotate(record.token_hash, now=at, successor=spy)
        assert result.outcome is RotationOutcome.INVALID
        assert result.successor is None
        assert spy.calls == []
        stored = token_store.get_by_hash(record.token_hash)
        if case == "unknown":
            assert stored is None
        else:
            assert stored == record, "an invalid attempt changes nothing"

    def test_revoke_family(self, token_store: RefreshTokenStore, alice: User) -> None:
        """revoke_family revokes that family's live rows and reports how many."""
        family = str(uuid.uuid4())
        records = [token_record(alice.id, family_id=family)[1] for _ in range(3)]
        _, other = token_record(alice.id)
        for record in (*records, other):
            token_store.add(record)
        assert token_store.revoke_family(family, now=NOW) == 3
        assert token_store.revoke_family(family, now=NOW + HOUR) == 0
        for record in records:
            stored = token_store.get_by_hash(record.token_hash)
            assert stored is not None
            assert stored.revoked_at == NOW, "a second revoke keeps the first stamp"
        still = token_store.get_by_hash(other.token_hash)
        assert still is not None
        assert still.revoked_at is None

    def test_revoke_user_except_family(
        self, token_store: RefreshTokenStore, user_store: UserStore, alice: User
    ) -> None:
        """revoke_user revokes every family of the user except the one spared."""
        bob = user_store.create(new_user("bob"))
        keep_family = str(uuid.uuid4())
        _, kept = token_record(alice.id, family_id=keep_family)
        _, gone1 = token_record(alice.id)
        _, gone2 = token_record(alice.id)
        _, bobs = token_record(bob.id)
        for record in (kept, gone1, gone2, bobs):
            token_store.add(record)
        assert token_store.revoke_user(alice.id, now=NOW, except_family=keep_family) == 2

        def revoked(record: RefreshTokenRecord) -> bool:
            stored = token_store.get_by_hash(record.token_hash)
            assert stored is not None
            return stored.revoked_at is not None

        assert [revoked(r) for r in (kept, gone1, gone2, bobs)] == [False, True, True, False]
        assert token_store.revoke_user(alice.id, now=NOW) == 1
        assert revoked(kept)
        assert not revoked(bobs)

    def test_purge_removes_only_dead_rows(
        self, token_store: RefreshTokenStore, alice: User
    ) -> None:
        """purge deletes expired and revoked rows; live and used-but-live rows stay."""
        at = NOW + 2 * HOUR
        _, live = token_record(alice.id, idle=3 * HOUR)
        _, used = token_record(alice.id, idle=3 * HOUR, used_at=NOW)
        _, expired = token_record(alice.id, idle=HOUR)
        _, at_boundary = token_record(alice.id, expires_at=at)
        _, family_over = token_record(alice.id, idle=3 * HOUR, family_expires_at=at)
        _, revoked = token_record(alice.id, idle=3 * HOUR, revoked_at=NOW)
        for record in (live, used, expired, at_boundary, family_over, revoked):
            token_store.add(record)
        assert token_store.purge(now=at) == 4
        assert token_store.get_by_hash(live.token_hash) == live
        assert token_store.get_by_hash(used.token_hash) == used
        for record in (expired, at_boundary, family_over, revoked):
            assert token_store.get_by_hash(record.token_hash) is None
        assert token_store.purge(now=at) == 0

    def test_store_never_holds_the_raw_token(
        self, token_store: RefreshTokenStore, alice: User, dump: Callable[[], list[str]]
    ) -> None:
        """Only the SHA-256 hex of a refresh token is stored, never the token itself."""
        tokens = RefreshTokens(token_store)
        issued = tokens.start_family(alice.id, alice.roles)
        rotated = tokens.rotate(issued.token, lambda _uid: ("user",))
        stored = "\n".join(dump())
        for raw in (issued.token, rotated.token):
            assert raw not in stored
            digest = hashlib.sha256(raw.encode()).hexdigest()
            assert digest in stored
        for record in (issued.record, rotated.record):
            assert re.fullmatch(r"[0-9a-f]{64}", record.token_hash)
            assert record.token_hash not in repr(record)


class TestMemoryStores(StoreContract):
    @pytest.fixture
    def user_store(self) -> MemoryUserStore:
        return MemoryUserStore()

    @pytest.fixture
    def token_store(self) -> MemoryRefreshTokenStore:
        return MemoryRefreshTokenStore()

    @pytest.fixture
    def sign_ins(
        self, user_store: MemoryUserStore, token_store: MemoryRefreshTokenStore
    ) -> SignInRecorder:
        return MemorySignIns(user_store, token_store)

    @pytest.fixture
    def dump(self, token_store: MemoryRefreshTokenStore) -> Callable[[], list[str]]:
        def read() -> list[str]:
            # A look behind the curtain: every key and every field of every record.
            holdings: dict[str, RefreshTokenRecord] = token_store._by_hash
            return [f"{key} {vars(record)}" for key, record in holdings.items()]

        return read


class TestSqlStores(StoreContract):
    @pytest.fixture
    def user_store(self, engine: Engine) -> UserStore:
        return SqlUserStore(engine)

    @pytest.fixture
    def token_store(self, engine: Engine) -> RefreshTokenStore:
        return SqlRefreshTokenStore(engine)

    @pytest.fixture
    def sign_ins(self, engine: Engine) -> SignInRecorder:
        return SqlSignIns(engine)

    def test_record_sign_in_is_one_transaction(
        self,
        engine: Engine,
        user_store: UserStore,
        token_store: RefreshTokenStore,
        alice: User,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """A token that cannot be stored (its hash is taken) leaves ``last_login_at``
        untouched: the stamp and the family commit together or not at all, in one commit."""
        sign_ins = SqlSignIns(engine)
        _, record = token_record(alice.id)
        commits = 0

        def count(_conn: Any = None) -> None:
            nonlocal commits
            commits += 1

        # Commits through SQLAlchemy's Connection and straight on a pooled DBAPI
        # connection (how SqlSignIns runs) both count.
        raw_connection = engine.raw_connection

        def counting_raw_connection() -> Any:
            connection = raw_connection()
            commit = connection.commit

            def counted() -> None:
                count()
                commit()

            connection.commit = counted  # type: ignore[method-assign]
            return connection

        monkeypatch.setattr(engine, "raw_connection", counting_raw_connection)
        event.listen(engine, "commit", count)
        try:
            sign_ins.record_sign_in(alice.id, at=NOW, new_hash=None, family=record)
        finally:
            event.remove(engine, "commit", count)
            monkeypatch.undo()
        if engine.dialect.name == "postgresql":
            # One statement in autocommit mode: no explicit commit. The transaction
            # id that wrote each row says they were written by the same transaction.
            with engine.connect() as conn:
                writers = conn.execute(
                    text(
                        "SELECT (SELECT xmin::text FROM authkit_users WHERE id = :user),"
                        " (SELECT xmin::text FROM authkit_refresh_tokens WHERE jti = :jti)"
                    ),
                    {"user": alice.id, "jti": record.jti},
                ).one()
            assert writers[0] == writers[1]
        else:
            assert commits == 1
        _, clash = token_record(alice.id, token_hash=record.token_hash)
        later = NOW + timedelta(hours=1)
        with pytest.raises(IntegrityError):
            sign_ins.record_sign_in(alice.id, at=later, new_hash="$argon2id$x", family=clash)
        kept = user_store.get(alice.id)
        assert kept is not None
        assert kept.last_login_at == NOW
        assert kept.password_hash == alice.password_hash
        assert token_store.get_by_hash(record.token_hash) == record

    @pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # a SQLite setting
    def test_record_sign_in_leaves_sqlite_connections_at_full_durability(
        self, engine: Engine, alice: User
    ) -> None:
        """Only the sign-in's own commit skips the WAL fsync: the pooled connection
        is back at ``synchronous=FULL`` after it, and one whose sign-in failed is
        closed rather than pooled with the relaxed level."""
        assert engine.dialect.name == "sqlite"
        sign_ins = SqlSignIns(engine)

        def levels() -> set[int]:
            pool: Any = engine.pool
            connections = [engine.raw_connection() for _ in range(pool.checkedin())]
            try:
                return {c.cursor().execute("PRAGMA synchronous").fetchone()[0] for c in connections}
            finally:
                for c in connections:
                    c.close()

        _, record = token_record(alice.id)
        sign_ins.record_sign_in(alice.id, at=NOW, new_hash=None, family=record)
        assert levels() == {2}  # FULL
        _, clash = token_record(alice.id, token_hash=record.token_hash)
        with pytest.raises(IntegrityError):
            sign_ins.record_sign_in(alice.id, at=NOW, new_hash=None, family=clash)
        assert levels() <= {2}

    @pytest.mark.parametrize("database_url", ["postgres"], indirect=True)  # a PostgreSQL GUC
    def test_record_sign_in_commits_without_waiting_for_the_wal_flush_on_postgres(
        self, engine: Engine, alice: User
    ) -> None:
        """The sign-in's statement turns ``synchronous_commit`` off for its own
        transaction, and only for it: the pooled connection is back at the
        server's setting afterwards."""
        assert engine.dialect.name == "postgresql"
        sign_ins = SqlSignIns(engine)
        _, probe = token_record(alice.id)
        (statement,) = sign_ins._stamp
        params = {**token_row(probe), "stamp_user": alice.id, "stamp_at": NOW}
        with engine.connect() as conn:
            server_setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
            assert server_setting != "off", "the test needs a server that waits for flushes"
            conn.exec_driver_sql(statement.sql, statement.arguments(params))
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == "off"
            conn.rollback()  # the probe's own transaction: its rows go
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar_one() == server_setting

        _, record = token_record(alice.id)
        sign_ins.record_sign_in(alice.id, at=NOW, new_hash=None, family=record)
        pool: Any = engine.pool
        connections = [engine.raw_connection() for _ in range(pool.checkedin())]
        try:
            for connection in connections:
                cursor = connection.cursor()
                cursor.execute("SHOW synchronous_commit")
                assert cursor.fetchall() == [(server_setting,)]
                cursor.close()
                connection.rollback()
        finally:
            for connection in connections:
                connection.close()
        stamped = SqlUserStore(engine).get(alice.id)
        assert stamped is not None
        assert stamped.last_login_at == NOW
        assert SqlRefreshTokenStore(engine).get_by_hash(record.token_hash) == record

    @pytest.fixture
    def dump(self, engine: Engine) -> Callable[[], list[str]]:
        def read() -> list[str]:
            with engine.connect() as conn:
                rows = conn.execute(select(refresh_tokens)).all()
            return [" ".join(str(v) for v in row) for row in rows]

        return read

    def test_canonical_columns_are_case_folded(self, engine: Engine, alice: User) -> None:
        """The uniqueness columns hold the case-folded values (what the indexes compare)."""
        with engine.connect() as conn:
            row = conn.execute(
                select(users.c.username_canonical, users.c.email_canonical).where(
                    users.c.id == alice.id
                )
            ).one()
        assert tuple(row) == ("alice", "alice@example.test")
