"""The sign-in flows, composed from the core's parts.

``AuthService`` is what an adapter calls: it takes plain values (identifier,
password, client address) and returns records or raises ``AuthkitError``s. Every
decision lives here or below, so another web framework's adapter gets the same
behaviour for free.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import NoReturn, Protocol

from authkit.audit._sink import AuditSink
from authkit.clock import Clock, SystemClock
from authkit.errors import (
    AccountDisabled,
    ConfigurationError,
    EmailUnverified,
    InvalidCredentials,
    InvalidOtp,
    InvalidToken,
    MfaEnrolmentRequired,
    MfaRequired,
    RegistrationClosed,
    TokenReused,
    TooManyAttempts,
)
from authkit.mfa._service import MfaService
from authkit.passwords._hashing import PasswordHasher
from authkit.roles import DEFAULT_ROLES
from authkit.sessions._cache import SessionCache
from authkit.tokens._access import AccessClaims, AccessTokens
from authkit.tokens._device import DeviceTokens
from authkit.tokens._refresh import IssuedRefreshToken, RefreshTokens
from authkit.users._identity import normalise_identity, validate_identity
from authkit.users._model import NewUser, User, canonical
from authkit.users._reauth import reauthenticate
from authkit.users._store import SessionUserLookup, SignInRecorder, UserStore

SECOND_FACTORS = frozenset({"otp", "mfa"})
"""``amr`` values (RFC 8176) that show a session began with a second factor."""

MFA_ENROLMENT_SCOPE = "mfa_enrolment"
"""Scope of the tokens given to accounts that must enrol a second factor first."""


class PasswordPolicyLike(Protocol):
    def enforce(
        self, password: str, *, username: str | None = None, email: str | None = None
    ) -> None: ...


class ThrottleLike(Protocol):
    """The part of ``LoginThrottle`` sign-in needs; ``device`` is a known device's id."""

    def check_login(self, address: str, username: str, *, device: str | None = None) -> None: ...

    def acquire_login(self, address: str, username: str, *, device: str | None = None) -> None: ...

    def record_failure(
        self, address: str, username: str, *, acquired: bool = False, device: str | None = None
    ) -> None: ...

    def record_success(self, address: str, username: str, *, device: str | None = None) -> None: ...

    def register_attempt(self, address: str) -> None: ...


@dataclass(frozen=True, kw_only=True)
class TokenPair:
    """What a sign-in or refresh returns; lifetimes in seconds.

    ``device_token`` (a sign-in's only) is a fresh device token for the client to
    present at its next sign-in (see ``authkit.tokens.DeviceTokens``).
    """

    access_token: str = field(repr=False)
    expires_in: int
    refresh_token: str = field(repr=False)
    refresh_expires_in: int
    user: User
    device_token: str | None = field(default=None, repr=False)
    device_token_expires_in: int | None = None


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The authenticated caller of a request: the fresh user record and its token."""

    user: User
    claims: AccessClaims


@dataclass(frozen=True, kw_only=True)
class _Attempt:
    """One sign-in attempt as the throttle counts it."""

    address: str
    account_key: str
    device: str | None


class AuthService:
    """Accounts and sessions: registration, sign-in, refresh, sign-out, password change.

    Takes plain values (username, password, client address) and returns results or raises
    ``AuthkitError`` subclasses. Built by ``authkit.build``; an adapter calls it, never the stores
    directly.
    """

    def __init__(
        self,
        *,
        users: UserStore,
        hasher: PasswordHasher,
        policy: PasswordPolicyLike,
        throttle: ThrottleLike,
        access_tokens: AccessTokens,
        refresh_tokens: RefreshTokens,
        audit: AuditSink,
        clock: Clock | None = None,
        registration_open: bool = True,
        mfa: MfaService | None = None,
        mfa_required_roles: frozenset[str] = frozenset(),
        device_tokens: DeviceTokens | None = None,
        require_verified_email: bool = False,
        on_register: Callable[[User, str], None] | None = None,
        session_users: SessionUserLookup | None = None,
        sign_ins: SignInRecorder | None = None,
        session_cache: SessionCache | None = None,
    ) -> None:
        self.users = users
        self.session_users = session_users
        self.session_cache = (
            session_cache if session_cache is not None and session_cache.enabled else None
        )
        """Good bearer-check answers kept for a bounded time (``SessionCache``); None: off."""
        self.sign_ins = sign_ins
        self.hasher = hasher
        self.policy = policy
        self.throttle = throttle
        self.access_tokens = access_tokens
        self.refresh_tokens = refresh_tokens
        self.audit = audit
        self.clock = clock or SystemClock()
        self.registration_open = registration_open
        self.mfa = mfa
        self.mfa_required_roles = mfa_required_roles
        self.device_tokens = device_tokens
        self.require_verified_email = require_verified_email
        self.on_register = on_register
        """Called with each new account and the client address after registration
        (``authkit.build`` sends the verification mail from here)."""
        if mfa_required_roles and mfa is None:
            raise ConfigurationError("mfa_required_roles needs an MfaService.")

    # -- accounts ---------------------------------------------------------------

    def register(
        self,
        *,
        username: str,
        email: str,
        password: str,
        address: str,
        roles: tuple[str, ...] = DEFAULT_ROLES,
    ) -> User:
        if not self.registration_open:
            raise RegistrationClosed()
        try:
            self.throttle.register_attempt(address)
        except TooManyAttempts:
            self.audit.log("register.throttled", outcome="denied", client_address=address)
            raise
        user = self.create_user(username=username, email=email, password=password, roles=roles)
        self.audit.log("register", outcome="success", actor=user.id, client_address=address)
        if self.on_register is not None:
            self.on_register(user, address)
        return user

    def create_user(
        self,
        *,
        username: str,
        email: str,
        password: str,
        roles: tuple[str, ...] = DEFAULT_ROLES,
        is_active: bool = True,
    ) -> User:
        """Validate and store a user (registration, seeding, admin tooling)."""
        username, email = normalise_identity(username, email)
        validate_identity(username, email)
        self.policy.enforce(password, username=username, email=email)
        return self.users.create(
            NewUser(
                id=str(uuid.uuid4()),
                username=username,
                email=email,
                password_hash=self.hasher.hash(password),
                roles=tuple(sorted(set(roles))),
                is_active=is_active,
                created_at=self.clock.now(),
            )
        )

    # -- sign-in ----------------------------------------------------------------

    def login(
        self,
        *,
        identifier: str,
        password: str,
        address: str,
        otp: str | None = None,
        recovery_code: str | None = None,
        device_token: str | None = None,
    ) -> TokenPair:
        """Authenticate and start a new session (refresh-token family).

        Order matters: the throttle is checked before any argon2 work, unknown
        users still cost one verification, and "disabled" is only revealed after
        a correct password, so neither messages nor timing enumerate accounts.

        ``device_token``, from an earlier successful sign-in of this account,
        makes the attempt spend that device's budget instead of the account's
        (OWASP device cookies), so a stranger who spends the account's budget
        cannot lock the owner out of a known device. Success returns a fresh one.
        """
        user = self.users.find_by_login(identifier)
        account_key = canonical(user.username) if user else canonical(identifier)
        device = (
            self.device_tokens.verify(device_token, user.id)
            if user is not None and self.device_tokens is not None
            else None
        )
        attempt = _Attempt(address=address, account_key=account_key, device=device)
        try:
            self.throttle.acquire_login(address, account_key, device=device)
        except TooManyAttempts:
            self.audit.log(
                "login.throttled",
                outcome="denied",
                actor=user.id if user else account_key,
                client_address=address,
                known_device=device is not None,
            )
            raise
        if user is None:
            self.hasher.dummy_verify(password)
            self._login_failed(attempt, actor=account_key, reason="unknown_user")
        if not self.hasher.verify(user.password_hash, password):
            self._login_failed(attempt, actor=user.id, reason="bad_password")
        if not user.is_active:
            self.audit.log(
                "login",
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="account_disabled",
            )
            raise AccountDisabled()
        if self.require_verified_email and not user.email_verified:
            self.audit.log(
                "login",
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="email_unverified",
            )
            raise EmailUnverified()
        amr: tuple[str, ...] = ("pwd",)
        if user.mfa_enabled:
            amr = ("pwd", self._second_factor(user, otp, recovery_code, attempt))
        new_hash = (
            self.hasher.hash(password) if self.hasher.needs_rehash(user.password_hash) else None
        )
        refresh = self.refresh_tokens.new_family(user.id, user.roles, amr=amr)
        if self.sign_ins is not None:  # one transaction: one commit, one fsync
            self.sign_ins.record_sign_in(
                user.id, at=self.clock.now(), new_hash=new_hash, family=refresh.record
            )
        else:
            self.users.record_login(user.id, at=self.clock.now(), new_hash=new_hash)
            self.refresh_tokens.store_family(refresh)
        self.throttle.record_success(address, account_key, device=device)
        pair = self._pair(user, refresh, amr)
        if self.device_tokens is not None:
            issued = self.device_tokens.issue(user.id)
            pair = replace(
                pair, device_token=issued.token, device_token_expires_in=issued.expires_in
            )
        self.audit.log(
            "login",
            outcome="success",
            actor=user.id,
            client_address=address,
            kdf_upgraded=new_hash is not None,
            known_device=device is not None,
        )
        return pair

    def _login_failed(self, attempt: _Attempt, *, actor: str, reason: str) -> NoReturn:
        self.throttle.record_failure(
            attempt.address, attempt.account_key, acquired=True, device=attempt.device
        )
        self.audit.log(
            "login",
            outcome="failure",
            actor=actor,
            client_address=attempt.address,
            reason=reason,
            known_device=attempt.device is not None,
        )
        raise InvalidCredentials()

    def _second_factor(
        self,
        user: User,
        otp: str | None,
        recovery_code: str | None,
        attempt: _Attempt,
    ) -> str:
        """Check the second factor after a correct password; wrong codes count as failures.

        Returns the RFC 8176 ``amr`` value for the factor used.
        """
        if self.mfa is None:
            raise ConfigurationError("An account has MFA enabled but no MfaService is set.")
        address = attempt.address
        try:
            method = self.mfa.verify(user, otp=otp, recovery_code=recovery_code)
        except MfaRequired:
            self.audit.log(
                "login",
                outcome="pending",
                actor=user.id,
                client_address=address,
                reason="mfa_required",
            )
            raise
        except InvalidOtp:
            self.throttle.record_failure(
                address, attempt.account_key, acquired=True, device=attempt.device
            )
            self.audit.log(
                "mfa.verify",
                outcome="failure",
                actor=user.id,
                client_address=address,
                reason="invalid_otp",
            )
            raise
        if method == "recovery_code":
            self.audit.log(
                "mfa.recovery_used",
                outcome="success",
                actor=user.id,
                client_address=address,
                remaining=self.mfa.store.remaining_recovery_codes(user.id),
            )
            return "mfa"  # RFC 8176 has no value for recovery codes; "mfa" is the closest
        return "otp"

    def needs_mfa_enrolment(self, user: User) -> bool:
        return not user.mfa_enabled and bool(self.mfa_required_roles & set(user.roles))

    def _start_session(self, user: User, amr: tuple[str, ...] = ("pwd",)) -> TokenPair:
        refresh = self.refresh_tokens.start_family(user.id, user.roles, amr=amr)
        return self._pair(user, refresh, amr)

    def _pair(
        self, user: User, refresh: IssuedRefreshToken, amr: tuple[str, ...] = ()
    ) -> TokenPair:
        access = self.access_tokens.issue(
            subject=user.id,
            roles=user.roles,
            session_id=refresh.record.family_id,
            scope=MFA_ENROLMENT_SCOPE if self.needs_mfa_enrolment(user) else None,
            amr=amr,
        )
        return TokenPair(
            access_token=access.token,
            expires_in=access.expires_in,
            refresh_token=refresh.token,
            refresh_expires_in=refresh.expires_in(self.clock.now()),
            user=user,
        )

    # -- sessions ---------------------------------------------------------------

    def refresh(self, *, refresh_token: str, address: str) -> TokenPair:
        def roles_of(user_id: str) -> tuple[str, ...] | None:
            found = self.users.get(user_id)
            return found.roles if found is not None and found.is_active else None

        try:
            issued = self.refresh_tokens.rotate(refresh_token, roles_of)
        except TokenReused:
            record = self.refresh_tokens.find(refresh_token)
            self.audit.log(
                "token.reuse_detected",
                outcome="denied",
                actor=record.user_id if record else None,
                client_address=address,
                family=record.family_id if record else None,
            )
            raise
        except InvalidToken:
            self.audit.log(
                "token.refresh", outcome="failure", client_address=address, reason="invalid"
            )
            raise
        user = self.users.get(issued.record.user_id)
        if user is None:  # deleted between the rotation and now
            raise InvalidToken()
        if user.mfa_enabled and not SECOND_FACTORS & set(issued.record.amr):
            # A session that began with the password alone must not outlive the
            # account gaining a second factor: sign in again, with a code.
            self.refresh_tokens.revoke_family_of_record(issued.record)
            self.audit.log(
                "token.refresh",
                outcome="denied",
                actor=user.id,
                client_address=address,
                reason="mfa_session_required",
            )
            raise InvalidToken()
        self.audit.log("token.refresh", outcome="success", actor=user.id, client_address=address)
        return self._pair(user, issued, issued.record.amr)

    def logout(self, *, refresh_token: str, address: str) -> None:
        record = self.refresh_tokens.revoke_family_of(refresh_token)
        self.audit.log("logout", outcome="success", actor=record.user_id, client_address=address)

    def logout_all(self, *, user: User, address: str) -> None:
        revoked = self.refresh_tokens.revoke_user(user.id)
        self.audit.log(
            "logout.all", outcome="success", actor=user.id, client_address=address, revoked=revoked
        )

    def authenticate_access_token(
        self, token: str, *, allow_mfa_enrolment: bool = False
    ) -> Principal:
        """Verify a bearer token and load its user; inactive or deleted users are refused.

        Tokens of accounts that must still enrol a second factor only pass where
        ``allow_mfa_enrolment`` is set (the enrolment endpoints).
        """
        claims = self.access_tokens.verify(token)
        cache = self.session_cache
        user = cache.get(claims.subject, claims.session_id) if cache is not None else None
        if user is None:
            user = self._load_session_user(claims, cache)
        if not allow_mfa_enrolment and (
            claims.scope == MFA_ENROLMENT_SCOPE or self.needs_mfa_enrolment(user)
        ):
            raise MfaEnrolmentRequired()
        return Principal(user=user, claims=claims)

    def _load_session_user(self, claims: AccessClaims, cache: SessionCache | None) -> User:
        """The database's answer: the user if active and the session live, else ``InvalidToken``.

        Without a cache this runs on every request, so a deactivation or a revoked
        session ends the token on the next request, whichever worker or host made
        the change; with one, within its bounds (see ``SessionCache``).
        """
        mark = cache.mark() if cache is not None else None
        if self.session_users is not None:
            user, live = self.session_users.load(
                claims.subject, claims.session_id, now=self.clock.now()
            )
        else:
            user = self.users.get(claims.subject)
            live = user is not None and (
                claims.session_id is None or self.refresh_tokens.session_is_live(claims.session_id)
            )
        if user is None or not user.is_active:
            raise InvalidToken()
        if claims.session_id is not None and not live:
            # Logged out, revoked by a password change or logout-all, or killed by
            # refresh-token reuse: the session's access tokens end with it.
            raise InvalidToken()
        if cache is not None and mark is not None:
            cache.put(claims.subject, claims.session_id, user, mark)
        return user

    def change_password(
        self, *, principal: Principal, current_password: str, new_password: str, address: str
    ) -> None:
        """Change a password; every other session of the user is revoked."""
        user = principal.user
        reauthenticate(
            user=user,
            password=current_password,
            address=address,
            event="password.change",
            message="The current password is incorrect.",
            throttle=self.throttle,
            hasher=self.hasher,
            audit=self.audit,
        )
        self.policy.enforce(new_password, username=user.username, email=user.email)
        self.users.set_password(user.id, self.hasher.hash(new_password), at=self.clock.now())
        revoked = self.refresh_tokens.revoke_user(
            user.id, except_family=principal.claims.session_id
        )
        self.audit.log(
            "password.change",
            outcome="success",
            actor=user.id,
            client_address=address,
            revoked=revoked,
        )


__all__ = [
    "MFA_ENROLMENT_SCOPE",
    "AuthService",
    "PasswordPolicyLike",
    "Principal",
    "ThrottleLike",
    "TokenPair",
]
