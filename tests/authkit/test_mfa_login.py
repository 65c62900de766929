"""Sign-in with a second factor: AuthService on memory stores with MfaService.

The set-up of ``test_service.py`` (real policy, ``LoginThrottle("memory://")``,
JSONL audit log under ``tmp_path``, cheap argon2) plus an ``MfaService`` over a
``MemoryMfaStore`` sharing the user records. One ``FrozenClock`` drives tokens,
the service and TOTP, so codes are computed for chosen steps with pyotp.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest

from authkit import (
    AuditConfig,
    Authkit,
    AuthkitConfig,
    AuthService,
    KeyManager,
    MfaConfig,
    Principal,
    Stores,
    TokenPair,
    build,
)
from authkit._auth import MFA_ENROLMENT_SCOPE
from authkit.clock import FrozenClock
from authkit.errors import (
    ConfigurationError,
    Conflict,
    InvalidCredentials,
    InvalidOtp,
    InvalidToken,
    MfaEnrolmentRequired,
    MfaRequired,
    TokenReused,
    TooManyAttempts,
)
from authkit.keys import KeyRing, StaticKeyRingSource
from authkit.mfa import PERIOD, MfaEnrolment
from authkit.passwords import Argon2Parameters
from authkit.storage import MemoryMfaStore, MemoryRefreshTokenStore, MemoryUserStore
from authkit.tokens import AccessTokenConfig
from authkit.users import User

NOW = datetime(2026, 1, 1, 0, 0, 15, tzinfo=UTC)  # mid-step
CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024)
ADDR = "203.0.113.77"
USERNAME = "Zorblax"
EMAIL = "Zorblax.Quince@Example.Test"
PASSWORD = "Quartz-Nebula-Falcon-92"
MFA_KEY = "mfa-test-key-0123456789abcdef"


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
def users() -> MemoryUserStore:
    return MemoryUserStore()


@pytest.fixture
def make_service(
    ring: KeyRing, clock: FrozenClock, audit_path: Path, users: MemoryUserStore
) -> Iterator[Callable[..., AuthService]]:
    """``make_service(mfa_required_roles=frozenset())``: an AuthService with MFA, built."""
    kits: list[Authkit] = []

    def make(mfa_required_roles: frozenset[str] = frozenset()) -> AuthService:
        config = AuthkitConfig(
            service_name="Flight App",
            secret_key="s" * 32,
            tokens=AccessTokenConfig(issuer="https://auth.test", audience="api"),
            argon2=CHEAP,
            mfa=MfaConfig(encryption_keys=(MFA_KEY,), required_roles=mfa_required_roles),
            audit=AuditConfig(pseudonym_key="k" * 32),
        )
        stores = Stores(
            users=users, refresh_tokens=MemoryRefreshTokenStore(), mfa=MemoryMfaStore(users)
        )
        keys = KeyManager(StaticKeyRingSource(ring), window=timedelta(seconds=930), clock=clock)
        kit = build(config, audit=audit_path, stores=stores, keys=keys, clock=clock)
        kits.append(kit)
        return kit.auth

    yield make
    for kit in kits:
        kit.close()


def mfa_of(service: AuthService) -> MfaEnrolment:
    """The enrolment flows over the service's own MFA, throttle and audit sink."""
    assert service.mfa is not None
    return MfaEnrolment(
        mfa=service.mfa, throttle=service.throttle, audit=service.audit, hasher=service.hasher
    )


@pytest.fixture
def service(make_service: Callable[..., AuthService]) -> AuthService:
    return make_service()


@pytest.fixture
def user(service: AuthService) -> User:
    return service.register(username=USERNAME, email=EMAIL, password=PASSWORD, address=ADDR)


def step_of(clock: FrozenClock) -> int:
    return int(clock.now().timestamp()) // PERIOD


def code(secret: str, step: int) -> str:
    """The code an authenticator app shows for ``step`` (pyotp, independent of authkit)."""
    return str(pyotp.TOTP(secret).at(step * PERIOD))


def wrong_code(secret: str, clock: FrozenClock) -> str:
    """A well-formed code valid for none of the steps in the skew window."""
    window = {code(secret, step_of(clock) + d) for d in (-1, 0, 1)}
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)


def principal_of(service: AuthService, pair: TokenPair, *, enrolment: bool = False) -> Principal:
    return service.authenticate_access_token(pair.access_token, allow_mfa_enrolment=enrolment)


def enable_mfa(
    service: AuthService, clock: FrozenClock, *, identifier: str = USERNAME
) -> tuple[str, list[str]]:
    """Sign in, set up and enable TOTP; the clock then moves 10 steps on. Secret and codes."""
    pair = service.login(identifier=identifier, password=PASSWORD, address=ADDR)
    principal = principal_of(service, pair, enrolment=True)
    secret = mfa_of(service).setup(user=principal.user, password=PASSWORD, address=ADDR).secret
    recovery = mfa_of(service).enable(
        user=principal.user, otp=code(secret, step_of(clock)), address=ADDR
    )
    clock.advance(10 * PERIOD)
    return secret, recovery


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def named(path: Path, name: str) -> list[dict[str, Any]]:
    return [e for e in events(path) if e["event"] == name]


# -- sign-in with a second factor ------------------------------------------------------


def test_login_without_a_code_is_mfa_required_and_spends_an_attempt(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    """mfa_required is not a failure, but it is an attempt: it uses the pair's budget
    until a complete sign-in clears it, so a known password cannot be used to reset
    the budget between guessed codes."""
    secret, _ = enable_mfa(service, clock)
    for _ in range(4):
        with pytest.raises(MfaRequired):
            service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock))
    )
    assert pair.user.id == user.id
    for _ in range(5):  # the success cleared the budget: five more attempts are admitted
        with pytest.raises(MfaRequired):
            service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    with pytest.raises(TooManyAttempts):
        service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    pending = [e for e in named(audit_path, "login") if e["outcome"] == "pending"]
    assert len(pending) == 9
    assert {e["reason"] for e in pending} == {"mfa_required"}


def test_a_wrong_password_with_a_valid_code_is_invalid_credentials_and_spends_no_code(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    secret, _ = enable_mfa(service, clock)
    otp = code(secret, step_of(clock))
    with pytest.raises(InvalidCredentials):
        service.login(identifier=USERNAME, password="Wrong-Password-000", address=ADDR, otp=otp)
    assert service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp=otp)


def test_a_wrong_code_is_invalid_otp(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    secret, _ = enable_mfa(service, clock)
    with pytest.raises(InvalidOtp):
        service.login(
            identifier=USERNAME, password=PASSWORD, address=ADDR, otp=wrong_code(secret, clock)
        )
    failures = named(audit_path, "mfa.verify")
    assert [(e["outcome"], e["reason"]) for e in failures] == [("failure", "invalid_otp")]


def test_wrong_codes_count_toward_the_throttle_even_against_a_right_code(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    secret, _ = enable_mfa(service, clock)
    bad = wrong_code(secret, clock)
    for _ in range(5):
        with pytest.raises(InvalidOtp):
            service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp=bad)
    with pytest.raises(TooManyAttempts) as caught:
        service.login(
            identifier=USERNAME,
            password=PASSWORD,
            address=ADDR,
            otp=code(secret, step_of(clock)),
        )
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1
    # The email shares the account's counters.
    with pytest.raises(TooManyAttempts):
        service.login(
            identifier=EMAIL.upper(),
            password=PASSWORD,
            address=ADDR,
            otp=code(secret, step_of(clock)),
        )
    # Another address is not throttled by the pair rule, and its right code works.
    pair = service.login(
        identifier=USERNAME,
        password=PASSWORD,
        address="198.51.100.9",
        otp=code(secret, step_of(clock)),
    )
    assert pair.user.id == user.id


def test_a_replayed_code_is_refused_at_login(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    secret, _ = enable_mfa(service, clock)
    otp = code(secret, step_of(clock))
    service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp=otp)
    with pytest.raises(InvalidOtp):
        service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp=otp)


def test_a_right_code_gives_tokens_with_amr_pwd_otp(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    secret, _ = enable_mfa(service, clock)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock) - 1)
    )
    claims = service.access_tokens.verify(pair.access_token)
    assert list(claims.amr) == ["pwd", "otp"]
    assert claims.scope is None
    assert principal_of(service, pair).user.id == user.id


def test_a_password_only_login_has_amr_pwd(service: AuthService, user: User) -> None:
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    assert list(service.access_tokens.verify(pair.access_token).amr) == ["pwd"]


def test_a_recovery_code_signs_in_once_with_amr_mfa(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    _, recovery = enable_mfa(service, clock)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, recovery_code=recovery[0].upper()
    )
    amr = service.access_tokens.verify(pair.access_token).amr
    assert "mfa" in amr
    assert "pwd" in amr
    used = named(audit_path, "mfa.recovery_used")
    assert [(e["outcome"], e["remaining"]) for e in used] == [("success", 9)]
    with pytest.raises(InvalidOtp):
        service.login(
            identifier=USERNAME, password=PASSWORD, address=ADDR, recovery_code=recovery[0]
        )


def test_an_account_without_mfa_ignores_a_code(service: AuthService, user: User) -> None:
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp="000000")
    assert list(service.access_tokens.verify(pair.access_token).amr) == ["pwd"]


# -- enrolment, disable and their throttling ---------------------------------------------


def test_setup_when_enabled_is_a_conflict(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    secret, _ = enable_mfa(service, clock)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock))
    )
    with pytest.raises(Conflict):
        mfa_of(service).setup(
            user=principal_of(service, pair).user, password=PASSWORD, address=ADDR
        )


def test_wrong_codes_at_enable_and_disable_count_toward_the_throttle(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    principal = principal_of(service, pair)
    secret = mfa_of(service).setup(user=principal.user, password=PASSWORD, address=ADDR).secret
    for _ in range(5):
        with pytest.raises(InvalidOtp):
            mfa_of(service).enable(user=principal.user, otp=wrong_code(secret, clock), address=ADDR)
    with pytest.raises(TooManyAttempts):
        mfa_of(service).enable(user=principal.user, otp=code(secret, step_of(clock)), address=ADDR)
    with pytest.raises(TooManyAttempts):
        service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)


def test_disable_needs_a_valid_code_or_recovery_code(
    service: AuthService, user: User, clock: FrozenClock, users: MemoryUserStore
) -> None:
    secret, recovery = enable_mfa(service, clock)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, recovery_code=recovery[0]
    )
    principal = principal_of(service, pair)
    with pytest.raises(InvalidOtp):
        mfa_of(service).disable(
            user=principal.user, otp=wrong_code(secret, clock), recovery_code=None, address=ADDR
        )
    with pytest.raises(InvalidOtp):  # neither given: a failure too, not a crash
        mfa_of(service).disable(user=principal.user, otp=None, recovery_code=None, address=ADDR)
    mfa_of(service).disable(user=principal.user, otp=None, recovery_code=recovery[1], address=ADDR)
    found = users.get(user.id)
    assert found is not None
    assert not found.mfa_enabled
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    assert list(service.access_tokens.verify(pair.access_token).amr) == ["pwd"]


# -- roles that must enrol ----------------------------------------------------------------


@pytest.fixture
def strict_service(make_service: Callable[..., AuthService]) -> AuthService:
    return make_service(frozenset({"admin"}))


@pytest.fixture
def admin(strict_service: AuthService) -> User:
    return strict_service.create_user(
        username="Admiral", email="admiral@example.test", password=PASSWORD, roles=("admin",)
    )


def test_required_roles_need_an_mfa_service(make_service: Callable[..., AuthService]) -> None:
    service = make_service()
    with pytest.raises(ConfigurationError):
        AuthService(
            users=service.users,
            hasher=service.hasher,
            policy=service.policy,
            throttle=service.throttle,
            access_tokens=service.access_tokens,
            refresh_tokens=service.refresh_tokens,
            audit=service.audit,
            mfa=None,
            mfa_required_roles=frozenset({"admin"}),
        )


def test_an_admin_without_mfa_gets_an_enrolment_only_token(
    strict_service: AuthService, admin: User
) -> None:
    pair = strict_service.login(identifier="admiral", password=PASSWORD, address=ADDR)
    assert strict_service.access_tokens.verify(pair.access_token).scope == MFA_ENROLMENT_SCOPE
    with pytest.raises(MfaEnrolmentRequired):
        strict_service.authenticate_access_token(pair.access_token)
    principal = strict_service.authenticate_access_token(
        pair.access_token, allow_mfa_enrolment=True
    )
    assert principal.user.id == admin.id
    # Refreshing does not escape enrolment either.
    refreshed = strict_service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    assert strict_service.access_tokens.verify(refreshed.access_token).scope == MFA_ENROLMENT_SCOPE
    with pytest.raises(MfaEnrolmentRequired):
        strict_service.authenticate_access_token(refreshed.access_token)


def test_other_roles_get_full_tokens_without_mfa(strict_service: AuthService) -> None:
    strict_service.register(username=USERNAME, email=EMAIL, password=PASSWORD, address=ADDR)
    pair = strict_service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    assert strict_service.access_tokens.verify(pair.access_token).scope is None
    assert strict_service.authenticate_access_token(pair.access_token).user.username == USERNAME


def test_after_enrolling_a_new_login_gives_a_full_token(
    strict_service: AuthService, admin: User, clock: FrozenClock
) -> None:
    pair = strict_service.login(identifier="admiral", password=PASSWORD, address=ADDR)
    enrolment = principal_of(strict_service, pair, enrolment=True)
    secret = (
        mfa_of(strict_service).setup(user=enrolment.user, password=PASSWORD, address=ADDR).secret
    )
    mfa_of(strict_service).enable(
        user=enrolment.user, otp=code(secret, step_of(clock)), address=ADDR
    )
    # The enrolment token stays an enrolment token.
    with pytest.raises(MfaEnrolmentRequired):
        strict_service.authenticate_access_token(pair.access_token)
    clock.advance(PERIOD)
    with pytest.raises(MfaRequired):
        strict_service.login(identifier="admiral", password=PASSWORD, address=ADDR)
    full = strict_service.login(
        identifier="admiral", password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock))
    )
    claims = strict_service.access_tokens.verify(full.access_token)
    assert claims.scope is None
    assert list(claims.amr) == ["pwd", "otp"]
    assert strict_service.authenticate_access_token(full.access_token).user.id == admin.id


def test_an_admin_who_disables_mfa_is_back_to_enrolment(
    strict_service: AuthService, admin: User, clock: FrozenClock
) -> None:
    secret, _ = enable_mfa(strict_service, clock, identifier="admiral")
    full = strict_service.login(
        identifier="admiral", password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock))
    )
    principal = principal_of(strict_service, full)
    clock.advance(PERIOD)
    mfa_of(strict_service).disable(
        user=principal.user, otp=code(secret, step_of(clock)), recovery_code=None, address=ADDR
    )
    with pytest.raises(MfaEnrolmentRequired):
        strict_service.authenticate_access_token(full.access_token)


# -- audit ---------------------------------------------------------------------------------


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_mfa_events_are_audited_without_codes_or_secrets(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    pair = service.login(identifier=USERNAME, password=PASSWORD, address=ADDR)
    principal = principal_of(service, pair)
    secret = mfa_of(service).setup(user=principal.user, password=PASSWORD, address=ADDR).secret
    bad = wrong_code(secret, clock)
    with pytest.raises(InvalidOtp):
        mfa_of(service).enable(user=principal.user, otp=bad, address=ADDR)
    enable_otp = code(secret, step_of(clock))
    recovery = mfa_of(service).enable(user=principal.user, otp=enable_otp, address=ADDR)
    clock.advance(PERIOD)
    with pytest.raises(InvalidOtp):
        service.login(identifier=USERNAME, password=PASSWORD, address=ADDR, otp=bad)
    signed = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, recovery_code=recovery[0]
    )
    principal = principal_of(service, signed)
    with pytest.raises(InvalidOtp):
        mfa_of(service).disable(user=principal.user, otp=bad, recovery_code=None, address=ADDR)
    disable_otp = code(secret, step_of(clock))
    mfa_of(service).disable(user=principal.user, otp=disable_otp, recovery_code=None, address=ADDR)

    seen = [(e["event"], e["outcome"]) for e in events(audit_path) if e["event"].startswith("mfa.")]
    assert seen == [
        ("mfa.setup", "success"),
        ("mfa.enable", "failure"),
        ("mfa.enable", "success"),
        ("mfa.verify", "failure"),
        ("mfa.recovery_used", "success"),
        ("mfa.disable", "failure"),
        ("mfa.disable", "success"),
    ]
    assert named(audit_path, "mfa.disable")[-1]["method"] == "otp"

    raw = audit_path.read_text()
    assert secret not in raw
    assert secret.lower() not in raw.lower()
    for plain in recovery:
        assert plain not in raw
        assert plain.replace("-", "") not in raw
        assert plain.upper() not in raw
    assert PASSWORD not in raw
    assert USERNAME not in raw
    for event in events(audit_path):
        for value in event.values():
            for text in _strings(value):
                assert text not in {bad, enable_otp, disable_otp}, event


def test_refreshed_access_tokens_keep_the_sign_in_amr(
    service: AuthService, user: User, clock: FrozenClock
) -> None:
    """A token from /auth/refresh still says the session began with a second factor."""
    secret, _ = enable_mfa(service, clock)
    pair = service.login(
        identifier=USERNAME, password=PASSWORD, address=ADDR, otp=code(secret, step_of(clock))
    )
    refreshed = service.refresh(refresh_token=pair.refresh_token, address=ADDR)
    claims = service.access_tokens.verify(refreshed.access_token)
    assert claims.amr == ("pwd", "otp")


def test_a_password_only_session_cannot_refresh_once_mfa_is_enabled(
    service: AuthService, user: User, clock: FrozenClock, audit_path: Path
) -> None:
    """Regression (review, high): a session started before TOTP was enabled, with the
    password alone, must not turn into a full session through /auth/refresh."""
    stolen = service.login(identifier=USERNAME, password=PASSWORD, address="198.51.100.66")
    enable_mfa(service, clock)  # the owner secures the account in their own session
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=stolen.refresh_token, address="198.51.100.66")
    with pytest.raises(TokenReused):  # the token was spent and its family revoked
        service.refresh(refresh_token=stolen.refresh_token, address="198.51.100.66")
    denied = [e for e in named(audit_path, "token.refresh") if e["outcome"] == "denied"]
    assert [e["reason"] for e in denied] == ["mfa_session_required"]


def test_a_password_only_enrolment_session_does_not_become_a_full_one(
    make_service: Callable[..., AuthService], clock: FrozenClock
) -> None:
    """With mfa_required_roles, an attacker's enrolment-only session stays useless after
    the real admin enrols: its refresh is refused."""
    service = make_service(mfa_required_roles=frozenset({"admin"}))
    service.create_user(
        username="boss", email="boss@example.com", password=PASSWORD, roles=("admin",)
    )
    attacker = service.login(identifier="boss", password=PASSWORD, address="198.51.100.66")
    enable_mfa(service, clock, identifier="boss")
    with pytest.raises(InvalidToken):
        service.refresh(refresh_token=attacker.refresh_token, address="198.51.100.66")
