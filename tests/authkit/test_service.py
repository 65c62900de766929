"""AuthService end to end on memory stores with the real policy, throttle and audit log.

Only argon2 is made cheap; everything else is what an app runs: PasswordPolicy.nist(),
LoginThrottle("memory://"), an AuditLogger writing JSONL under tmp_path, and a
FrozenClock for the tokens.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authkit import AuthkitError, AuthService, LoginThrottle, TokenPair
from authkit.audit import AuditLogger, Pseudonymizer
from authkit.clock import FrozenClock
from authkit.errors import (
    AccountDisabled,
    Conflict,
    InvalidCredentials,
    InvalidToken,
    RegistrationClosed,
    TokenReused,
    TooManyAttempts,
    ValidationFailed,
    WeakPassword,
)
from authkit.keys import KeyRing, StaticKeyRingSource
from authkit.passwords import Argon2Parameters, PasswordHasher, PasswordPolicy
from authkit.storage import MemoryRefreshTokenStore, MemoryUserStore
from authkit.tokens import AccessTokenConfig, AccessTokens, RefreshTokens
from authkit.users import User

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024)
STRONGER = Argon2Parameters(time_cost=2, memory_cost=2048)
ADDR = "203.0.113.77"
USERNAME = "Zorblax"
EMAIL = "Zorblax.Quince@Example.Test"
PASSWORD = "Quartz-Nebula-Falcon-92"
NEW_PASSWORD = "Orchid!Lantern?Comet-58"


class SpyHasher(PasswordHasher):
    """A real hasher that counts its argon2 verifications."""

    def __init__(self, parameters: Argon2Parameters) -> None:
        super().__init__(parameters)
        self.calls: Counter[str] = Counter()

    def verify(self, password_hash: str, password: str) -> bool:
        self.calls["verify"] += 1
        return super().verify(password_hash, password)

    def dummy_verify(self, password: str) -> None:
        self.calls["dummy_verify"] += 1
        super().dummy_verify(password)


class SwitchableUsers(MemoryUserStore):
    """A memory store whose users an admin can switch off (as PATCH is_active=false does)."""

    def __init__(self) -> None:
        super().__init__()
        self.deactivated: set[str] = set()
        self.deleted: set[str] = set()

    def _view(self, user: User | None) -> User | None:
        if user is None or user.id in self.deleted:
            return None
        if user.id in self.deactivated:
            return dataclasses.replace(user, is_active=False)
        return user

    def get(self, user_id: str) -> User | None:
        return self._view(super().get(user_id))

    def find_by_login(self, identifier: str) -> User | None:
        return self._view(super().find_by_login(identifier))


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing.generate("ES256", now=NOW)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    return tmp_path / "auth.jsonl"


@pytest.fixture
def users() -> SwitchableUsers:
    return SwitchableUsers()


@pytest.fixture
def hasher() -> SpyHasher:
    return SpyHasher(CHEAP)


@pytest.fixture
def service(
    ring: KeyRing, clock: FrozenClock, audit_path: Path, users: SwitchableUsers, hasher: SpyHasher
) -> AuthService:
    return AuthService(
        users=users,
        hasher=hasher,
        policy=PasswordPolicy.nist(),
        throttle=LoginThrottle("memory://"),
        access_tokens=AccessTokens(
            StaticKeyRingSource(ring),
            AccessTokenConfig(issuer="https://auth.test", audience="api"),
            clock=clock,
        ),
        refresh_tokens=RefreshTokens(MemoryRefreshTokenStore(), clock=clock),
        audit=AuditLogger(audit_path, pseudonymizer=Pseudonymizer(b"k" * 32), clock=clock),
        clock=clock,
    )


@pytest.fixture
def user(service: AuthService) -> User:
    return service.register(username=USERNAME, email=EMAIL, password=PASSWORD, address=ADDR)


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def login(service: AuthService, identifier: str = USERNAME, password: str = PASSWORD) -> TokenPair:
    return service.login(identifier=identifier, password=password, address=ADDR)


# -- registration ---------------------------------------------------------------------


def test_register_creates_an_active_user(service: AuthService, user: User) -> None:
    """register stores the user with the default role and an argon2id hash."""
    assert user.username == USERNAME
    assert user.email == EMAIL
    assert user.roles == ("user",)
    assert user.is_active
    assert user.created_at == NOW
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert service.users.count_active() == 1


def test_register_trims_identifiers(service: AuthService) -> None:
    """Surrounding spaces typed into the form are not part of the account names."""
    created = service.register(
        username="  spaced.out ", email=" spaced@example.test ", password=PASSWORD, address=ADDR
    )
    assert (created.username, created.email) == ("spaced.out", "spaced@example.test")


def test_register_lists_every_invalid_field(service: AuthService) -> None:
    """A bad username and a bad email are reported together, before the password is judged."""
    with pytest.raises(ValidationFailed) as caught:
        service.register(username="a", email="not-an-email", password="x", address=ADDR)
    fields = {tuple(error["loc"]) for error in caught.value.errors}
    assert fields == {("username",), ("email",)}
    assert service.users.count_active() == 0


@pytest.mark.parametrize(
    ("username", "email"),
    [("has@sign", "ok@example.test"), ("ok-name", "two@@example.test"), ("-leading", "x@y")],
)
def test_register_rejects_each_bad_field(service: AuthService, username: str, email: str) -> None:
    """Usernames may not hold '@' or start with punctuation; emails need one '@' and a dot."""
    with pytest.raises(ValidationFailed):
        service.register(username=username, email=email, password=PASSWORD, address=ADDR)


@pytest.mark.parametrize(
    ("password", "codes"),
    [
        ("short", {"too_short"}),
        ("aaaaaaaaaaaaaaaaaaaa", {"too_few_distinct_characters"}),
        ("Zorblax-is-my-name-ok", {"contains_context_word"}),
        ("aaaa", {"too_short", "too_few_distinct_characters"}),
    ],
)
def test_register_rejects_weak_passwords(
    service: AuthService, password: str, codes: set[str]
) -> None:
    """The NIST policy refuses short, repetitive or context passwords, listing every rule."""
    with pytest.raises(WeakPassword) as caught:
        service.register(username=USERNAME, email=EMAIL, password=password, address=ADDR)
    assert {error["code"] for error in caught.value.errors} == codes
    assert all(set(error) >= {"code", "message"} for error in caught.value.errors)
    assert service.users.count_active() == 0


@pytest.mark.parametrize(
    ("username", "email"),
    [("zorblax", "other@example.test"), ("someone", "zorblax.quince@EXAMPLE.test")],
)
def test_register_conflict_ignores_case(
    service: AuthService, user: User, username: str, email: str
) -> None:
    """A taken username or email, in any case, is a Conflict."""
    with pytest.raises(Conflict):
        service.register(username=username, email=email, password=PASSWORD, address=ADDR)
    assert service.users.count_active() == 1


def test_registration_closed(service: AuthService) -> None:
    """With registration closed nothing is validated or stored."""
    service.registration_open = False
    with pytest.raises(RegistrationClosed):
        service.register(username=USERNAME, email=EMAIL, password=PASSWORD, address=ADDR)
    assert service.users.count_active() == 0


# -- sign-in ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [USERNAME, USERNAME.lower(), USERNAME.upper(), EMAIL, EMAIL.lower(), EMAIL.upper()],
)
def test_login_by_username_or_email_in_any_case(
    service: AuthService, user: User, identifier: str
) -> None:
    """Sign-in accepts the username or the email, any case; the pair is usable."""
    pair = login(service, identifier)
    assert pair.user.id == user.id
    assert pair.expires_in == 900
    assert pair.refresh_expires_in == 7 * 24 * 3600
    principal = service.authenticate_access_token(pair.access_token)
    assert principal.user.id == user.id
    assert principal.claims.roles == ("user",)
    record = service.refresh_tokens.lookup(pair.refresh_token)
    assert principal.claims.session_id == record.family_id
    stored = service.users.get(user.id)
    assert stored is not None
    assert stored.last_login_at == NOW


def test_unknown_user_and_wrong_password_are_indistinguishable(
    service: AuthService, user: User
) -> None:
    """Same error type, code and message for a wrong password and an unknown user."""
    with pytest.raises(InvalidCredentials) as wrong:
        login(service, USERNAME, "Not-The-Password-123")
    with pytest.raises(InvalidCredentials) as unknown:
        login(service, "nobody-here", PASSWORD)
    assert type(wrong.value) is type(unknown.value)
    assert wrong.value.code == unknown.value.code
    assert wrong.value.message == unknown.value.message
    assert dict(wrong.value.extra) == dict(unknown.value.extra)


def test_unknown_user_costs_one_dummy_verification(
    service: AuthService, user: User, hasher: SpyHasher
) -> None:
    """An unknown name still spends argon2 work (dummy_verify); a known one does not use it."""
    with pytest.raises(InvalidCredentials):
        login(service, "nobody-here", PASSWORD)
    assert hasher.calls["dummy_verify"] == 1
    with pytest.raises(InvalidCredentials):
        login(service, USERNAME, "Not-The-Password-123")
    assert hasher.calls["dummy_verify"] == 1
    assert hasher.calls["verify"] == 2


def test_disabled_account_is_revealed_only_after_the_right_password(
    service: AuthService, users: SwitchableUsers, user: User
) -> None:
    """Disabled shows only after the right password; a wrong one is InvalidCredentials."""
    users.deactivated.add(user.id)
    with pytest.raises(InvalidCredentials):
        login(service, USERNAME, "Not-The-Password-123")
    with pytest.raises(AccountDisabled):
        login(service, USERNAME, PASSWORD)


def test_inactive_user_created_by_admin_cannot_sign_in(service: AuthService) -> None:
    """create_user(is_active=False) makes an account that cannot sign in yet."""
    service.create_user(
        username="pending", email="p@example.test", password=PASSWORD, is_active=False
    )
    with pytest.raises(AccountDisabled):
        login(service, "pending")


def test_login_rehashes_when_parameters_change(
    service: AuthService, user: User, audit_path: Path
) -> None:
    """After the hasher's costs go up, the next sign-in stores an upgraded hash, once."""
    stronger = SpyHasher(STRONGER)
    service.hasher = stronger
    assert stronger.needs_rehash(user.password_hash)
    login(service)
    upgraded = service.users.get(user.id)
    assert upgraded is not None
    assert upgraded.password_hash != user.password_hash
    assert upgraded.password_hash.startswith("$argon2id$v=19$m=2048,t=2,p=1$")
    assert not stronger.needs_rehash(upgraded.password_hash)
    login(service)
    again = service.users.get(user.id)
    assert again is not None
    assert again.password_hash == upgraded.password_hash
    flags = [e.get("kdf_upgraded") for e in events(audit_path) if e["event"] == "login"]
    assert flags == [True, False]


def test_throttled_after_five_failures_without_argon2_work(
    service: AuthService, user: User, hasher: SpyHasher
) -> None:
    """After 5 failures the pair is refused, right password or not, with no verification."""
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            login(service, USERNAME, "Not-The-Password-123")
    verifications = hasher.calls["verify"]
    for identifier, password in ((USERNAME, PASSWORD), (EMAIL.upper(), PASSWORD), (USERNAME, "x")):
        with pytest.raises(TooManyAttempts) as caught:
            login(service, identifier, password)
        assert caught.value.retry_after >= 1
        assert caught.value.extra["retry_after"] == caught.value.retry_after
    assert hasher.calls["verify"] == verifications, "no argon2 while throttled"
    assert hasher.calls["dummy_verify"] == 0


def test_unknown_names_are_throttled_too(service: AuthService, hasher: SpyHasher) -> None:
    """Guessing at a name that does not exist is throttled the same way (no enumeration)."""
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            login(service, "Ghost", PASSWORD)
    dummies = hasher.calls["dummy_verify"]
    with pytest.raises(TooManyAttempts):
        login(service, "GHOST", PASSWORD)
    assert hasher.calls["dummy_verify"] == dummies == 5


def test_success_clears_the_failure_count(service: AuthService, user: User) -> None:
    """Four failures, a success, four more failures: still not throttled."""
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(InvalidCredentials):
                login(service, USERNAME, "Not-The-Password-123")
        login(service)


# -- sessions -------------------------------------------------------------------------------


def test_refresh_rotates_and_detects_reuse(
    service: AuthService, user: User, audit_path: Path
) -> None:
    """refresh returns a new pair; replaying the old refresh token kills the session."""
    first = login(service)
    second = service.refresh(refresh_token=first.refresh_token, address=ADDR)
    assert second.refresh_token != first.refresh_token
    assert second.user.id == user.id
    assert service.authenticate_access_token(second.access_token).user.id == user.id
    with pytest.raises(TokenReused):
        service.refresh(refresh_token=first.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=second.refresh_token, address=ADDR)
    names = [e["event"] for e in events(audit_path)]
    assert "token.reuse_detected" in names
    assert names.count("token.refresh") == 2  # one success, one failure


def test_refresh_refused_for_deactivated_user(
    service: AuthService, users: SwitchableUsers, user: User
) -> None:
    """A deactivated user's refresh fails and the session stays dead after reactivation."""
    pair = login(service)
    users.deactivated.add(user.id)
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    users.deactivated.clear()
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=pair.refresh_token, address=ADDR)


def test_refresh_with_garbage(service: AuthService) -> None:
    """An unknown refresh token is InvalidToken."""
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token="x" * 43, address=ADDR)


def test_logout_revokes_the_session(service: AuthService, user: User) -> None:
    """logout kills that sign-in's refresh token; other sign-ins survive."""
    one, two = login(service), login(service)
    service.logout(refresh_token=one.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=one.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        service.logout(refresh_token=one.refresh_token, address=ADDR)
    service.refresh(refresh_token=two.refresh_token, address=ADDR)


def test_logout_all(service: AuthService, user: User, audit_path: Path) -> None:
    """logout_all revokes every session of the user."""
    pairs = [login(service) for _ in range(3)]
    service.logout_all(user=user, address=ADDR)
    for pair in pairs:
        with pytest.raises(InvalidToken):
            service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    [event] = [e for e in events(audit_path) if e["event"] == "logout.all"]
    assert event["revoked"] == 3


def test_change_password_keeps_only_the_current_session(service: AuthService, user: User) -> None:
    """Other sessions are revoked; the one whose access token made the change survives."""
    current, other = login(service), login(service)
    principal = service.authenticate_access_token(current.access_token)
    service.change_password(
        principal=principal, current_password=PASSWORD, new_password=NEW_PASSWORD, address=ADDR
    )
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=other.refresh_token, address=ADDR)
    service.refresh(refresh_token=current.refresh_token, address=ADDR)
    with pytest.raises(InvalidCredentials):
        login(service, USERNAME, PASSWORD)
    login(service, USERNAME, NEW_PASSWORD)
    stored = service.users.get(user.id)
    assert stored is not None
    assert stored.password_changed_at == NOW


def test_change_password_wrong_current(service: AuthService, user: User) -> None:
    """A wrong current password is InvalidCredentials and changes nothing."""
    pair = login(service)
    principal = service.authenticate_access_token(pair.access_token)
    with pytest.raises(InvalidCredentials):
        service.change_password(
            principal=principal, current_password="nope", new_password=NEW_PASSWORD, address=ADDR
        )
    login(service, USERNAME, PASSWORD)


def test_change_password_weak_new(service: AuthService, user: User) -> None:
    """A weak new password is WeakPassword; the old one keeps working, sessions survive."""
    pair = login(service)
    principal = service.authenticate_access_token(pair.access_token)
    with pytest.raises(WeakPassword):
        service.change_password(
            principal=principal, current_password=PASSWORD, new_password="short", address=ADDR
        )
    login(service, USERNAME, PASSWORD)
    service.refresh(refresh_token=pair.refresh_token, address=ADDR)


def test_access_token_refused_for_deactivated_or_deleted_user(
    service: AuthService, users: SwitchableUsers, user: User
) -> None:
    """A still-valid access token stops working when its user is switched off or deleted."""
    pair = login(service)
    assert service.authenticate_access_token(pair.access_token).user.id == user.id
    users.deactivated.add(user.id)
    with pytest.raises(InvalidToken):
        service.authenticate_access_token(pair.access_token)
    users.deactivated.clear()
    users.deleted.add(user.id)
    with pytest.raises(InvalidToken):
        service.authenticate_access_token(pair.access_token)


def test_access_token_expires(service: AuthService, user: User, clock: FrozenClock) -> None:
    """The access token dies after its lifetime plus skew."""
    pair = login(service)
    clock.advance(900 + 30)
    with pytest.raises(InvalidToken):
        service.authenticate_access_token(pair.access_token)


# -- the audit trail ------------------------------------------------------------------


def test_audit_records_events_without_secrets_or_pii(
    service: AuthService, user: User, audit_path: Path
) -> None:
    """Every flow leaves its event; no raw email, username, IP, password or token is written."""
    with pytest.raises(InvalidCredentials):
        login(service, USERNAME, "Wrong-Password-Guess-1")
    with pytest.raises(InvalidCredentials):
        login(service, "ghost.user@example.test", "Wrong-Password-Guess-2")
    pair = login(service, EMAIL)
    refreshed = service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    with pytest.raises(TokenReused):
        service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    second = login(service)
    principal = service.authenticate_access_token(second.access_token)
    service.change_password(
        principal=principal, current_password=PASSWORD, new_password=NEW_PASSWORD, address=ADDR
    )
    service.logout(refresh_token=second.refresh_token, address=ADDR)
    service.logout_all(user=user, address=ADDR)

    lines = events(audit_path)
    names = [e["event"] for e in lines]
    for expected in (
        "register",
        "login",
        "token.refresh",
        "token.reuse_detected",
        "password.change",
        "logout",
        "logout.all",
    ):
        assert expected in names
    outcomes = Counter((e["event"], e["outcome"]) for e in lines)
    assert outcomes[("login", "failure")] == 2
    assert outcomes[("login", "success")] == 2
    for e in lines:
        assert e["ts"].endswith("Z")
        if e.get("client") is not None:
            assert e["client"].startswith("ip_")

    text = audit_path.read_text()
    secrets = [
        EMAIL,
        EMAIL.lower(),
        "ghost.user@example.test",
        USERNAME,
        USERNAME.lower(),
        ADDR,
        PASSWORD,
        NEW_PASSWORD,
        "Wrong-Password-Guess-1",
        "Wrong-Password-Guess-2",
        pair.access_token,
        pair.refresh_token,
        refreshed.access_token,
        refreshed.refresh_token,
        second.access_token,
        second.refresh_token,
        user.password_hash,
    ]
    for secret in secrets:
        assert secret not in text, f"audit log leaks {secret[:12]}..."
    for token in (pair.access_token, second.access_token):
        assert token.split(".")[2] not in text


def test_concurrent_wrong_passwords_reach_argon2_at_most_the_budget(
    service: AuthService, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20 simultaneous guesses for one account from one address: exactly 5 are verified."""
    verified: list[int] = []
    lock = threading.Lock()
    real_verify = service.hasher.verify

    def counting_verify(password_hash: str, password: str) -> bool:
        with lock:
            verified.append(1)
        return real_verify(password_hash, password)

    monkeypatch.setattr(service.hasher, "verify", counting_verify)
    barrier = threading.Barrier(20)

    def guess(n: int) -> str:
        barrier.wait()
        try:
            service.login(identifier=USERNAME, password=f"wrong guess {n:04d}", address=ADDR)
        except AuthkitError as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(20) as pool:
        codes = list(pool.map(guess, range(20)))
    assert codes.count("invalid_credentials") == 5
    assert codes.count("too_many_attempts") == 15
    assert len(verified) == 5


def test_password_change_is_throttled_like_a_sign_in(
    service: AuthService, user: User, hasher: SpyHasher
) -> None:
    """Regression (review): the current password is a guess; 5 wrong ones, then 429 with
    no argon2 work, even for the right password."""
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    principal = service.authenticate_access_token(pair.access_token)
    for n in range(5):
        with pytest.raises(InvalidCredentials):
            service.change_password(
                principal=principal,
                current_password=f"wrong current {n:03d}",
                new_password="a completely new passphrase 42",
                address=ADDR,
            )
    verifications = hasher.calls["verify"]
    with pytest.raises(TooManyAttempts):
        service.change_password(
            principal=principal,
            current_password=PASSWORD,
            new_password="a completely new passphrase 42",
            address=ADDR,
        )
    assert hasher.calls["verify"] == verifications


def test_logout_with_a_rotated_token_revokes_the_family(service: AuthService, user: User) -> None:
    """Regression (review): a replayed token at /auth/logout is a reuse, as at refresh."""
    first = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    second = service.refresh(refresh_token=first.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        service.logout(refresh_token=first.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=second.refresh_token, address=ADDR)
