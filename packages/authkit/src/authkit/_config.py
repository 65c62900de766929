"""``AuthkitConfig``: every choice of the core in one frozen object.

It nests the parts' own frozen configs (throttle rules, token lifetimes, argon2
parameters, ...), so each default and each validation rule lives exactly once,
beside the code that uses it; an app's settings build this object rather than
re-declaring its values. Invalid values raise ``ConfigurationError`` whose
``field`` names the offending attribute, so a settings layer can point at the
variable that set it.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from authkit.account._config import AccountConfig
from authkit.audit._rotation import RotationPolicy
from authkit.errors import ConfigurationError
from authkit.passwords._hashing import Argon2Parameters
from authkit.passwords._policy import PASSWORD_POLICY_PRESETS, PasswordPolicy, PasswordPolicyPreset
from authkit.sessions._cache import SessionCacheConfig
from authkit.throttle import ThrottleRules
from authkit.tokens._access import AccessTokenConfig
from authkit.tokens._refresh import RefreshLifetimes

MIN_SECRET_KEY_CHARS = 16


@dataclass(frozen=True, kw_only=True, slots=True)
class MfaConfig:
    """TOTP (RFC 6238) settings.

    ``encryption_keys`` encrypt the TOTP secrets at rest: the first encrypts, all
    decrypt, which is how a key is rotated. Empty: one key derived from the
    config's ``secret_key``. ``required_roles``: accounts with any of these roles
    get enrolment-only tokens until they enrol. ``issuer``: the label authenticator
    apps show; None means the config's ``service_name``.
    """

    encryption_keys: tuple[str, ...] = field(default=(), repr=False)
    required_roles: frozenset[str] = frozenset()
    skew_steps: int = 1
    issuer: str | None = None

    def __post_init__(self) -> None:
        if type(self.skew_steps) is not int or not 0 <= self.skew_steps <= 2:
            raise ConfigurationError(
                "MFA skew_steps must be 0, 1 or 2 (RFC 6238 §5.2).", field="skew_steps"
            )
        if any(len(k) < MIN_SECRET_KEY_CHARS for k in self.encryption_keys):
            raise ConfigurationError(
                f"Every MFA encryption key must be at least {MIN_SECRET_KEY_CHARS} characters.",
                field="encryption_keys",
            )


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditConfig:
    """The audit log: pseudonym key and rotation / retention.

    ``pseudonym_key`` keys the HMAC that replaces usernames, emails and addresses
    in events; keep it stable, or old and new events stop matching. None: derived
    from the config's ``secret_key``.
    """

    pseudonym_key: str | None = field(default=None, repr=False)
    rotation: RotationPolicy = field(default_factory=RotationPolicy)

    def __post_init__(self) -> None:
        if self.pseudonym_key is not None and len(self.pseudonym_key) < MIN_SECRET_KEY_CHARS:
            raise ConfigurationError(
                f"The pseudonym key must be at least {MIN_SECRET_KEY_CHARS} characters.",
                field="pseudonym_key",
            )


@dataclass(frozen=True, kw_only=True)
class AuthkitConfig:
    """The whole core's configuration; every nested part has safe defaults.

    ``service_name`` labels the service: the issuer and audience of access tokens
    unless ``tokens`` says otherwise, the TOTP issuer, and a word passwords may not
    contain. ``secret_key`` is the one secret the core needs; the MFA and
    pseudonym keys are derived from it unless given.
    """

    service_name: str
    secret_key: str = field(repr=False)
    tokens: AccessTokenConfig | None = None
    refresh: RefreshLifetimes = field(default_factory=RefreshLifetimes)
    throttle: ThrottleRules = field(default_factory=ThrottleRules)
    argon2: Argon2Parameters = field(default_factory=Argon2Parameters)
    password_policy: PasswordPolicyPreset | PasswordPolicy = "nist"  # noqa: S105 - a preset
    password_context_word: str | None = None
    """A word passwords may not contain; None: ``service_name``."""
    mfa: MfaConfig = field(default_factory=MfaConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    registration_open: bool = True
    account: AccountConfig = field(default_factory=AccountConfig)
    """Emailed links (where they point, how long they live) and the verified-email gate."""
    session_cache: SessionCacheConfig = field(default_factory=SessionCacheConfig)
    """How long a bearer check may reuse the database's answer; off (0 s) by default."""

    def __post_init__(self) -> None:
        if not self.service_name.strip():
            raise ConfigurationError("service_name must not be empty.", field="service_name")
        if len(self.secret_key) < MIN_SECRET_KEY_CHARS:
            raise ConfigurationError(
                f"secret_key must be at least {MIN_SECRET_KEY_CHARS} characters.",
                field="secret_key",
            )
        if (
            not isinstance(self.password_policy, PasswordPolicy)
            and self.password_policy not in PASSWORD_POLICY_PRESETS
        ):
            raise ConfigurationError(
                f"password_policy must be one of {', '.join(PASSWORD_POLICY_PRESETS)} "
                "or a PasswordPolicy.",
                field="password_policy",
            )

    @property
    def access_tokens(self) -> AccessTokenConfig:
        """``tokens``, or the defaults with ``service_name`` as issuer and audience."""
        return self.tokens or AccessTokenConfig(
            issuer=self.service_name, audience=self.service_name
        )

    def policy(self) -> PasswordPolicy:
        """The password policy: the given one, or the named preset."""
        if isinstance(self.password_policy, PasswordPolicy):
            return self.password_policy
        if self.password_policy == "pci":  # noqa: S105 - a preset name
            return PasswordPolicy.pci()
        if self.password_policy == "classic":  # noqa: S105 - a preset name
            return PasswordPolicy.classic()
        return PasswordPolicy.nist(service_name=self.password_context_word or self.service_name)

    def mfa_keys(self) -> tuple[str, ...]:
        """The MFA encryption keys, or the one derived from ``secret_key``."""
        return self.mfa.encryption_keys or ("mfa:" + self.secret_key,)

    def device_token_key(self) -> bytes:
        """The HMAC key of device tokens, derived from ``secret_key`` (HMAC-SHA256).

        Rotating ``secret_key`` therefore voids every device token: known devices
        count as strangers (the account budget) until their next sign-in.
        """
        return hmac.new(
            self.secret_key.encode(), b"authkit-device-token-v1", hashlib.sha256
        ).digest()

    def action_token_key(self) -> bytes:
        """The HMAC key binding emailed links to account state, derived from ``secret_key``."""
        return hmac.new(
            self.secret_key.encode(), b"authkit-action-token-v1", hashlib.sha256
        ).digest()

    def pseudonym_key(self) -> bytes:
        """The audit pseudonym key, or one derived from ``secret_key`` (HMAC-SHA256)."""
        if self.audit.pseudonym_key is not None:
            return self.audit.pseudonym_key.encode()
        return hmac.new(self.secret_key.encode(), b"authkit-pseudonym-v1", hashlib.sha256).digest()

    def __repr__(self) -> str:
        return (
            f"AuthkitConfig(service_name={self.service_name!r}, "
            f"password_policy={self.password_policy!r}, <secrets hidden>)"
        )


__all__ = ["AuditConfig", "AuthkitConfig", "MfaConfig"]
