"""Builds authkit's core services from the app's settings.

One place turns settings into objects, so the web app, the CLI and the tests all
get the same wiring: embedded (SQLite, ``memory://``) or scaled out (PostgreSQL,
Redis) depending only on URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from authkit import (
    AccessTokenConfig,
    AccessTokens,
    AdminService,
    Argon2Parameters,
    AuthService,
    FileKeyRingSource,
    KeyRingFile,
    PasswordHasher,
    RefreshLifetimes,
    RefreshTokens,
)
from authkit.audit import AuditLogger, Pseudonymizer
from authkit.mfa import MfaService, SecretBox, Totp, TotpConfig
from authkit.passwords.policy import PasswordPolicy
from authkit.storage import SqlMfaStore, SqlRefreshTokenStore, SqlUserStore, create_engine
from authkit.throttle import LoginThrottle, ThrottleRules
from flight_app.log_policy import log_rotation_policy
from flight_app.settings import Settings

SERVICE_NAME = "flight-app"


@dataclass(kw_only=True)
class Components:
    settings: Settings
    engine: Engine
    users: SqlUserStore
    keys: FileKeyRingSource
    throttle: LoginThrottle
    audit: AuditLogger
    service: AuthService
    admin: AdminService

    def close(self) -> None:
        self.audit.close()
        self.engine.dispose()


def password_policy(settings: Settings) -> PasswordPolicy:
    if settings.password_policy == "pci":  # noqa: S105 - a preset name
        return PasswordPolicy.pci()
    if settings.password_policy == "classic":  # noqa: S105 - a preset name
        return PasswordPolicy.classic()
    # "flight", not "flight-app": the policy splits names at punctuation, and "app"
    # alone would ban ordinary words such as "happy".
    return PasswordPolicy.nist(service_name="flight")


def audit_logger(
    settings: Settings, *, trace_id_provider: Callable[[], str | None] = lambda: None
) -> AuditLogger:
    """The audit log, ``<log_dir>/auth.jsonl``, shared by every worker and the CLI."""
    settings.effective_log_dir.mkdir(parents=True, exist_ok=True)
    return AuditLogger(
        settings.effective_log_dir / "auth.jsonl",
        pseudonymizer=Pseudonymizer(settings.pseudonym_key.get_secret_value().encode()),
        rotation=log_rotation_policy(settings),
        trace_id_provider=trace_id_provider,
    )


def mfa_service(settings: Settings, engine: Engine) -> MfaService:
    """TOTP with secrets encrypted at rest.

    ``mfa_encryption_key`` may list several comma-separated keys (the first
    encrypts, all decrypt) for rotation. Outside prod, where the key is optional,
    one is derived from ``secret_key`` so development needs no extra setting.
    """
    if settings.mfa_encryption_key is not None:
        keys = [k.strip() for k in settings.mfa_encryption_key.get_secret_value().split(",")]
    else:
        keys = ["mfa:" + settings.secret_key.get_secret_value()]
    return MfaService(
        store=SqlMfaStore(engine),
        box=SecretBox([k for k in keys if k]),
        totp=Totp(TotpConfig(issuer=SERVICE_NAME)),
    )


def build_components(
    settings: Settings, *, trace_id_provider: Callable[[], str | None] = lambda: None
) -> Components:
    """Wire the core; ``trace_id_provider`` is the adapter's ``current_trace_id``."""
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    log_dir = settings.effective_log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.effective_database_url)
    users = SqlUserStore(engine)
    keys = FileKeyRingSource(KeyRingFile(settings.effective_keyring_path))
    throttle = LoginThrottle(
        settings.ratelimit_storage_url,
        ThrottleRules(
            pair_failures=settings.throttle_pair_limit,
            pair_window_seconds=settings.throttle_pair_window,
            address_failures=settings.throttle_address_limit,
            address_window_seconds=settings.throttle_address_window,
            account_failures=settings.throttle_account_limit,
            account_window_seconds=settings.throttle_account_window,
            registrations=settings.throttle_register_limit,
            registration_window_seconds=settings.throttle_register_window,
        ),
    )
    audit = audit_logger(settings, trace_id_provider=trace_id_provider)
    service = AuthService(
        users=users,
        hasher=PasswordHasher(
            Argon2Parameters(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_cost,
                parallelism=settings.argon2_parallelism,
            )
        ),
        policy=password_policy(settings),
        throttle=throttle,
        access_tokens=AccessTokens(
            keys,
            AccessTokenConfig(
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                ttl_seconds=settings.access_token_ttl,
                clock_skew_seconds=settings.clock_skew,
            ),
        ),
        refresh_tokens=RefreshTokens(
            SqlRefreshTokenStore(engine),
            RefreshLifetimes(
                idle_seconds=settings.refresh_idle_ttl,
                absolute_seconds=settings.refresh_absolute_ttl,
                admin_idle_seconds=settings.admin_refresh_idle_ttl,
                admin_absolute_seconds=settings.admin_refresh_absolute_ttl,
            ),
        ),
        audit=audit,
        registration_open=settings.registration_open,
        mfa=mfa_service(settings, engine),
        mfa_required_roles=frozenset(settings.mfa_required_roles),
    )
    return Components(
        settings=settings,
        engine=engine,
        users=users,
        keys=keys,
        throttle=throttle,
        audit=audit,
        service=service,
        admin=AdminService(users=users, refresh_tokens=service.refresh_tokens, audit=audit),
    )


__all__ = [
    "SERVICE_NAME",
    "Components",
    "audit_logger",
    "build_components",
    "mfa_service",
    "password_policy",
]
