"""Settings of the reference app, read in layers.

Lowest to highest, each layer overriding the ones below it:

1. built-in defaults (the field defaults of :class:`Settings`);
2. ``config/<APP_ENV>.toml`` with ``APP_ENV`` one of ``dev``, ``test``, ``prod``
   (default ``dev``); the folder is ``examples/flight_app/config`` unless
   ``FLIGHT_APP_CONFIG_DIR`` names another;
3. environment variables ``FLIGHT_APP_<NAME>`` (``APP_ENV`` itself is unprefixed);
4. secret files: ``FLIGHT_APP_<NAME>_FILE`` naming a file, or else a file named
   exactly like the field (lower case: ``secret_key``, ``pseudonym_key``,
   ``mfa_encryption_key``, ``metrics_token``, ``database_url``, ...) inside the
   directory ``FLIGHT_APP_SECRETS_DIR`` (Docker and Kubernetes secret mounts). The
   file's content is used without its trailing newline; ``_FILE`` wins over the
   directory.

Why this order: the further a layer is from the code, the closer it is to the one
deployment being started, so it wins. Defaults are safe for everyone; the TOML
file holds what differs per kind of environment and is reviewed in version
control, so it must never hold secrets; environment variables are what twelve-
factor deployments and CI set per process; and secret files are the channel made
for credentials (they do not show in ``/proc/<pid>/environ``, ``docker inspect``
or crash reports), so a value delivered that way is the most deliberate one and
beats a stale variable left in the environment.

Relative paths from any layer (including TOML) resolve against the current
working directory, not the config folder, so one ``./instance`` means the same
folder whichever layer spelled it.

``APP_ENV=prod`` refuses to start while a secret is missing or still at its
development default (CWE-798, CWE-1188); errors name settings by their
environment variable and never include a value.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Annotated, Any, Final, Literal, Self, TypeVar, get_args
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from authkit import AuditConfig, AuthkitConfig, MfaConfig
from authkit.account import AccountConfig
from authkit.audit import RotationPolicy
from authkit.errors import ConfigurationError
from authkit.passwords import Argon2Parameters, PasswordPolicyPreset
from authkit.sessions import SessionCacheConfig
from authkit.throttle import ThrottleRules
from authkit.tokens import AccessTokenConfig, RefreshLifetimes
from flight_app.resilience.policy import ResiliencePolicy

__all__ = [
    "DEV_PSEUDONYM_KEY",
    "DEV_SECRET_KEY",
    "ENV_PREFIX",
    "AppEnv",
    "Settings",
    "SettingsError",
    "load_settings",
]

AppEnv = Literal["dev", "test", "prod"]
_T = TypeVar("_T")
ENV_PREFIX: Final = "FLIGHT_APP_"
DEV_SECRET_KEY: Final = "dev-only-secret-key-do-not-use-in-production"  # noqa: S105 - refused in prod
DEV_PSEUDONYM_KEY: Final = "dev-only-pseudonym-key-do-not-use-in-production"
DEFAULT_CONFIG_DIR: Final = Path(__file__).resolve().parent / "config"

# OWASP Password Storage Cheat Sheet: argon2id with m=19 MiB, t=2, p=1 at least. The
# core's defaults are exactly these; the app refuses anything cheaper outside tests.
OWASP_ARGON2_MEMORY_COST: Final = 19456
OWASP_ARGON2_TIME_COST: Final = 2
MIN_PROD_KEY_LENGTH: Final = 32
SECONDS_PER_DAY: Final = 86_400
SERVICE_NAME: Final = "flight-app"

_SECTIONS: Final[dict[str, type[Any]]] = {
    "tokens": AccessTokenConfig,
    "refresh": RefreshLifetimes,
    "argon2": Argon2Parameters,
    "throttle": ThrottleRules,
    "rotation": RotationPolicy,
    "mfa": MfaConfig,
    "config": AuthkitConfig,
    "account": AccountConfig,
}

CORE_SETTINGS: Final[dict[str, tuple[str, str]]] = {
    "access_token_ttl": ("tokens", "ttl_seconds"),
    "clock_skew": ("tokens", "clock_skew_seconds"),
    "refresh_idle_ttl": ("refresh", "idle_seconds"),
    "refresh_absolute_ttl": ("refresh", "absolute_seconds"),
    "admin_refresh_idle_ttl": ("refresh", "admin_idle_seconds"),
    "admin_refresh_absolute_ttl": ("refresh", "admin_absolute_seconds"),
    "argon2_time_cost": ("argon2", "time_cost"),
    "argon2_memory_cost": ("argon2", "memory_cost"),
    "argon2_parallelism": ("argon2", "parallelism"),
    "throttle_pair_limit": ("throttle", "pair_failures"),
    "throttle_pair_window": ("throttle", "pair_window_seconds"),
    "throttle_address_limit": ("throttle", "address_failures"),
    "throttle_address_window": ("throttle", "address_window_seconds"),
    "throttle_account_limit": ("throttle", "account_failures"),
    "throttle_account_window": ("throttle", "account_window_seconds"),
    "throttle_register_limit": ("throttle", "registrations"),
    "throttle_register_window": ("throttle", "registration_window_seconds"),
    "throttle_ipv6_prefix": ("throttle", "ipv6_prefix_length"),
    "log_max_bytes": ("rotation", "max_bytes"),
    "log_max_age_seconds": ("rotation", "max_age_seconds"),
    "log_backup_count": ("rotation", "backup_count"),
    "log_compress": ("rotation", "compress"),
    "password_policy": ("config", "password_policy"),
    "registration_open": ("config", "registration_open"),
    "mfa_required_roles": ("mfa", "required_roles"),
    "require_verified_email": ("account", "require_verified_email"),
    "password_reset_ttl": ("account", "reset_ttl_seconds"),
    "email_verify_ttl": ("account", "verify_ttl_seconds"),
    "email_change_ttl": ("account", "email_change_ttl_seconds"),
    "throttle_forgot_address_limit": ("throttle", "forgot_password_per_address"),
    "throttle_forgot_email_limit": ("throttle", "forgot_password_per_email"),
    "throttle_forgot_window": ("throttle", "forgot_password_window_seconds"),
    "throttle_account_mail_limit": ("throttle", "account_mails"),
    "throttle_account_mail_window": ("throttle", "account_mail_window_seconds"),
}
"""Settings that set a value of ``authkit.AuthkitConfig``: (section, attribute).

Their defaults are read from the core's dataclasses and their values validated by
the core, so each default and each rule lives once, in the core."""


def core_default(setting: str) -> Any:
    """The core's default for a setting listed in ``CORE_SETTINGS``."""
    section, attribute = CORE_SETTINGS[setting]
    spec = {f.name: f for f in dataclass_fields(_SECTIONS[section])}[attribute]
    if spec.default is not MISSING:
        return spec.default
    assert spec.default_factory is not MISSING, f"{section}.{attribute} has no default"
    return spec.default_factory()


# --- Flight search -------------------------------------------------------------------

FLIGHT_POLICY_SETTINGS: Final[dict[str, str]] = {
    "provider_timeout": "timeout",
    "provider_retries": "retries",
    "breaker_fail_max": "breaker_fail_max",
    "breaker_reset": "breaker_reset",
    "flight_cache_ttl": "cache_ttl",
}
"""Settings that set a field of ``flight_app.resilience.ResiliencePolicy``.

Their defaults are read from the policy's dataclass, so each lives once, there."""


def policy_default(setting: str) -> Any:
    """``ResiliencePolicy``'s default for a setting listed in ``FLIGHT_POLICY_SETTINGS``."""
    attribute = FLIGHT_POLICY_SETTINGS[setting]
    spec = {f.name: f for f in dataclass_fields(ResiliencePolicy)}[attribute]
    assert spec.default is not MISSING, f"ResiliencePolicy.{attribute} has no default"
    return spec.default


def resilience_policy(settings: Settings) -> ResiliencePolicy:
    """The resilience policy of the flight provider (``ValueError`` if the policy refuses)."""
    return ResiliencePolicy(
        **{attribute: getattr(settings, name) for name, attribute in FLIGHT_POLICY_SETTINGS.items()}
    )


_APP_ENVS: Final[tuple[str, ...]] = get_args(AppEnv)
_LOG_LEVELS: Final = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class SettingsError(ValueError):
    """The settings cannot be used; ``variables`` names each offending setting.

    The message names settings by their environment variable and never carries a
    value, so it is safe to log.
    """

    def __init__(self, message: str, *, variables: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.variables = variables


def env_var_name(field_name: str) -> str:
    """The environment variable that sets ``field_name``."""
    return "APP_ENV" if field_name == "app_env" else f"{ENV_PREFIX}{field_name.upper()}"


def _environ() -> dict[str, str]:
    # Case-insensitive, like pydantic-settings' own environment source.
    return {key.lower(): value for key, value in os.environ.items()}


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def _problems_error(header: str, problems: list[tuple[str, str]]) -> SettingsError:
    lines = "\n".join(f"  - {variable}: {reason}" for variable, reason in problems)
    return SettingsError(
        f"{header}:\n{lines}", variables=tuple(variable for variable, _ in problems)
    )


class _ConfigFileSource(TomlConfigSettingsSource):
    """``config/<APP_ENV>.toml``: must exist and may only hold known settings."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        if not path.is_file():
            raise SettingsError(
                f"config file {path} not found (set FLIGHT_APP_CONFIG_DIR to the folder "
                "holding dev.toml, test.toml and prod.toml)",
                variables=("FLIGHT_APP_CONFIG_DIR",),
            )
        try:
            super().__init__(settings_cls, toml_file=path)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        if "app_env" in self.toml_data:
            raise SettingsError(f"config file {path}: app_env is chosen by APP_ENV, not in a file")
        unknown = sorted(set(self.toml_data) - set(settings_cls.model_fields))
        if unknown:
            raise SettingsError(
                f"config file {path} has unknown settings: {', '.join(unknown)}",
                variables=tuple(unknown),
            )


class _SecretFilesSource(PydanticBaseSettingsSource):
    """``FLIGHT_APP_<NAME>_FILE`` files, then files of ``FLIGHT_APP_SECRETS_DIR``.

    pydantic-settings' ``SecretsSettingsSource`` is not used: it names files with
    the env prefix, strips every surrounding space (a password may end in one),
    only warns about a missing directory, and has no ``_FILE`` variables.
    """

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self._environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # every value is read in __call__

    def _secrets_dir(self) -> Path | None:
        raw = self._environ.get("flight_app_secrets_dir")
        if raw is None:
            return None
        path = Path(raw).expanduser()
        if not path.is_dir():
            raise SettingsError(
                f"FLIGHT_APP_SECRETS_DIR names {path}, which is not a directory",
                variables=("FLIGHT_APP_SECRETS_DIR",),
            )
        return path

    @staticmethod
    def _read(path: Path, variable: str) -> str:
        if not path.is_file():
            raise SettingsError(
                f"{variable} names {path}, which is not an existing file", variables=(variable,)
            )
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsError(
                f"{variable}: cannot read {path} ({type(exc).__name__})", variables=(variable,)
            ) from None

    def __call__(self) -> dict[str, Any]:
        secrets_dir = self._secrets_dir()
        values: dict[str, Any] = {}
        for name in self.settings_cls.model_fields:
            if name == "app_env":
                continue
            variable = f"{env_var_name(name)}_FILE"
            pointer = self._environ.get(variable.lower())
            if pointer is not None:
                values[name] = self._read(Path(pointer).expanduser(), variable)
            elif secrets_dir is not None and (secrets_dir / name).exists():
                values[name] = self._read(secrets_dir / name, "FLIGHT_APP_SECRETS_DIR")
        return values


class Settings(BaseSettings):
    """Every setting of the reference app; see the module docstring for the layers.

    Construct with :func:`load_settings`. Invalid settings raise
    :class:`SettingsError` (never pydantic's ``ValidationError``), naming each
    offending ``FLIGHT_APP_*`` variable.
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        hide_input_in_errors=True,
    )

    app_env: AppEnv = Field(default="dev", validation_alias="APP_ENV")
    """Which `config/<APP_ENV>.toml` is read and which rules apply; read from `APP_ENV`, never from
    a TOML file.
    """

    # Storage and paths
    instance_path: Path = Path("instance")
    """The instance folder, created on start; the embedded defaults of the database, key ring and
    logs live in it.
    """
    database_url: str | None = None
    """SQLAlchemy URL of users and tokens; unset means a SQLite file `<instance>/flight_app.db`.
    `postgresql+psycopg://...` when scaled out.
    """
    ratelimit_storage_url: str = "memory://"
    """`limits` storage URI of the throttling counters; `redis://host:6379/0` when several processes
    or hosts share them.
    """
    redis_url: str | None = None
    """Redis for the admin live-update fan-out, the flight circuit and cache. Set, every worker
    publishes its audit events to `FLIGHT_APP_LIVE_CHANNEL` and subscribes to it; unset, each
    worker follows the shared `auth.jsonl` (one host).
    """
    session_cache_ttl: float = Field(default=0.5, ge=0, le=1.0)  # the core's upper bound
    """Seconds a worker may reuse the database's answer to "is this user active and this session
    live?" for a bearer token; `0` asks the database on every request. A logout, revocation or
    deactivation still ends the token at once on every worker of the host (a shared epoch in the
    instance folder) and, with `FLIGHT_APP_REDIS_URL`, on other hosts as fast as Redis delivers
    the event; this bounds the rest (at most 1 s).
    """
    keyring_path: Path | None = None
    """The key ring file (a JWK Set), created on first start; unset means `<instance>/keyring.json`.
    """
    log_dir: Path | None = None
    """Where `auth.jsonl` and `system.jsonl` are written (and read by `GET /admin/logs`); unset
    means the instance folder.
    """

    # Seeded accounts (a None password is generated at seed and printed once)
    admin_username: str = "admin"
    """The seeded admin account (roles `admin`, `user`)."""
    admin_password: SecretStr | None = None
    """Password of the seeded admin; unset, one is generated and printed once. Must satisfy the
    password policy.
    """
    demo_user: bool = False
    """Seed a demo user as well; only ever in `dev`."""
    demo_username: str = "demo"
    """Username of the seeded demo user."""
    demo_password: SecretStr | None = None
    """Password of the demo user; unset, one is generated and printed once."""

    # Serving
    metrics: Literal["off", "public", "token"] = "token"
    """Who may read `GET /metrics`: nobody (`off`, 404), anyone (`public`), or holders of the
    metrics token (`token`).
    """
    metrics_token: SecretStr | None = None
    """Bearer token for `/metrics` in `token` mode; required in `prod` whenever the mode is `token`.
    """
    trusted_proxies: int = Field(default=0, ge=0)
    """Reverse-proxy hops whose `X-Forwarded-For` / `X-Forwarded-Proto` are trusted; 0 trusts none.
    """
    host: str = "127.0.0.1"
    """Bind address of `flight-app serve` (`--host`)."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port of `flight-app serve` (`--port`)."""
    workers: int = Field(default=1, ge=1)
    """gunicorn worker processes (`--workers`); more than one needs shared (`redis://`) rate-limit
    storage in `prod`.
    """
    threads: int = Field(default=4, ge=1)
    """Threads per gunicorn worker (`--threads`)."""
    max_content_length: int = Field(default=1048576, gt=0)
    """Largest request body in bytes; larger ones get 413."""
    registration_open: bool = core_default("registration_open")
    """`false` makes `POST /auth/register` answer 403 `registration_closed`."""
    log_level: str = "INFO"
    """Level of the system log (`CRITICAL` ... `DEBUG`)."""
    access_log_flush_interval: float = Field(default=1.0, ge=0, le=60)
    """Seconds the per-request access lines may wait in memory before they are appended to
    `system.jsonl` in one write (as nginx's `access_log ... flush=`); a worker killed with SIGKILL
    loses at most that much of them. `0` writes each line as its request ends. Other lines are
    never held back.
    """

    # Log rotation and retention, for the audit log and the system log alike.
    # A rule is switched off with None (in TOML leave it out; from the environment
    # "off" or "none"): size and age start a new file, count and age purge archives.
    log_max_bytes: int | None = core_default("log_max_bytes")
    """Rotate a log before a line would take it past this size (bytes); `off` for no size limit."""
    log_max_age_seconds: int | None = core_default("log_max_age_seconds")
    """Also rotate a non-empty log this long after it was started (`86400` for daily files); `off`
    for no age limit.
    """
    log_backup_count: int | None = core_default("log_backup_count")
    """Archives kept per log; `0` deletes the old file at rotation instead of archiving it; `off`
    keeps any number.
    """
    log_retention_days: int | None = Field(default=None, gt=0)
    """At each rotation, delete archives rotated more than this many days ago; `off` keeps them."""
    log_compress: bool = core_default("log_compress")
    """gzip the archives (`auth.<UTC time>.jsonl.gz`)."""

    # Admin live updates (GET /admin/ws): the Redis channel used when redis_url is
    # set, and how many WebSockets one worker serves at once (each holds one of its
    # threads for as long as it is open; None means half the threads, at least 1).
    live_channel: str = Field(default="flight-app:audit", min_length=1, max_length=200)
    """The Redis pub/sub channel of admin live updates, when `FLIGHT_APP_REDIS_URL` is set;
    deployments sharing one Redis need different channels.
    """
    live_max_clients: int | None = Field(default=None, ge=1)
    """Admin WebSockets one worker serves at once (each holds one of its threads while open); past
    it `GET /admin/ws` answers 503. `off`: half of `FLIGHT_APP_THREADS`, at least 1.
    """

    # Keys
    secret_key: SecretStr = SecretStr(DEV_SECRET_KEY)
    """Flask's `SECRET_KEY`; the development default is refused in `prod`."""
    pseudonym_key: SecretStr = SecretStr(DEV_PSEUDONYM_KEY)
    """HMAC key of the audit log's pseudonyms (at least 16 bytes; 32 characters in `prod`). Changing
    it breaks the link with older audit lines.
    """
    mfa_encryption_key: SecretStr | None = None
    """Encrypts TOTP secrets at rest (Fernet, key derived by HKDF); comma-separated keys rotate it
    (the first encrypts, all decrypt), each at least 16 characters. Unset outside `prod`: derived
    from `FLIGHT_APP_SECRET_KEY`; required in `prod`.
    """

    # Tokens (seconds); admin lifetimes follow NIST SP 800-63B AAL2
    jwt_issuer: str = SERVICE_NAME
    """`iss` of access tokens, checked on verification."""
    jwt_audience: str = SERVICE_NAME
    """`aud` of access tokens, checked on verification."""
    access_token_ttl: int = core_default("access_token_ttl")
    """Access-token lifetime in seconds."""
    refresh_idle_ttl: int = core_default("refresh_idle_ttl")
    """Seconds after which an unused refresh token expires (7 days by default)."""
    refresh_absolute_ttl: int = core_default("refresh_absolute_ttl")
    """Seconds after sign-in at which a sign-in's refresh family ends however often it is refreshed
    (30 days by default); not below the idle lifetime.
    """
    admin_refresh_idle_ttl: int = core_default("admin_refresh_idle_ttl")
    """Idle lifetime for accounts with the `admin` role (NIST SP 800-63B AAL2: 1 hour)."""
    admin_refresh_absolute_ttl: int = core_default("admin_refresh_absolute_ttl")
    """Absolute lifetime for `admin` accounts (NIST SP 800-63B AAL2: 24 hours)."""
    clock_skew: int = core_default("clock_skew")
    """Seconds of tolerance on `exp`, `iat`, `nbf`; also part of the key retirement window."""

    # Passwords
    argon2_time_cost: int = core_default("argon2_time_cost")
    """argon2id iterations; below 2 (the OWASP minimum) only with `APP_ENV=test`."""
    argon2_memory_cost: int = core_default("argon2_memory_cost")
    """argon2id memory in KiB; below 19456 (the OWASP minimum) only with `APP_ENV=test`, never below
    8 per lane.
    """
    argon2_parallelism: int = core_default("argon2_parallelism")
    """argon2id lanes."""
    password_policy: PasswordPolicyPreset = core_default("password_policy")
    """The password policy preset: `nist`, `pci` or `classic` (see Security, Password policy)."""
    # Accounts with any of these roles must enrol TOTP before they get full tokens.
    # From the environment as a comma-separated list: FLIGHT_APP_MFA_REQUIRED_ROLES=admin,ops
    mfa_required_roles: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: sorted(core_default("mfa_required_roles"))
    )
    """Accounts with any of these roles must enrol TOTP; until they do, their tokens only open
    `/auth/me`, `/auth/logout-all` and `/auth/mfa/totp/*`. From the environment comma-separated:
    `admin,ops`.
    """

    # Brute-force throttling: limit attempts per window seconds
    throttle_pair_limit: int = core_default("throttle_pair_limit")
    """Failed sign-ins per (client address, username) within the pair window before 429."""
    throttle_pair_window: int = core_default("throttle_pair_window")
    """Seconds of the (client address, username) window."""
    throttle_address_limit: int = core_default("throttle_address_limit")
    """Failed sign-ins per client address, across usernames, within the address window."""
    throttle_address_window: int = core_default("throttle_address_window")
    """Seconds of the per-address window."""
    throttle_account_limit: int = core_default("throttle_account_limit")
    """Failed sign-ins per account across all addresses within the account window (NIST SP 800-63B:
    at most 100).
    """
    throttle_account_window: int = core_default("throttle_account_window")
    """Seconds of the per-account window."""
    throttle_register_limit: int = core_default("throttle_register_limit")
    """Registrations per client address within the registration window."""
    throttle_register_window: int = core_default("throttle_register_window")
    """Seconds of the registration window."""
    # IPv6 clients are counted per network of this many bits (a subscriber holds a /64).
    throttle_ipv6_prefix: int = core_default("throttle_ipv6_prefix")
    """IPv6 clients are counted per network of this many bits (`128` counts single addresses)."""
    # Forgot-password requests per client address and per email as typed (known or
    # not), and mails one signed-in account may ask for (verification, email change).
    throttle_forgot_address_limit: int = core_default("throttle_forgot_address_limit")
    """Forgot-password requests per client address within the forgot window."""
    throttle_forgot_email_limit: int = core_default("throttle_forgot_email_limit")
    """Forgot-password requests per email as typed (known or not) within the forgot window."""
    throttle_forgot_window: int = core_default("throttle_forgot_window")
    """Seconds of the forgot-password windows."""
    throttle_account_mail_limit: int = core_default("throttle_account_mail_limit")
    """Mails (verification, email change) one signed-in account may ask for per window."""
    throttle_account_mail_window: int = core_default("throttle_account_mail_window")
    """Seconds of the per-account mail window."""

    # --- Mail and emailed links (docs/configuration.md#mail) ---------------------------
    # mail_url: file:///dir (an .eml per message), smtp://user:pass@host:port?starttls=1
    # or smtps://...; None: the instance folder's outbox/. public_url: the base of the
    # links mailed (None: http://<host>:<port>). Lifetimes in seconds.
    mail_url: str | None = None
    """Outgoing mail: `file:///dir`, `smtp://user:pass@host:port?starttls=1` or `smtps://...`
    (unset: `.eml` files in the instance folder's `outbox/`). Secret: it may hold a password.
    """
    mail_from: str = Field(default="no-reply@localhost", min_length=3, max_length=320)
    """Sender address of every mail."""
    mail_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a transient SMTP failure, with the resilience policy's backoff."""
    public_url: str | None = None
    """Base URL of the links sent by mail (unset: `http://<host>:<port>`)."""
    require_verified_email: bool = core_default("require_verified_email")
    """Sign-in answers 403 `email_unverified` until the account's email is verified."""
    password_reset_ttl: int = core_default("password_reset_ttl")
    """Seconds a password-reset link stays valid."""
    email_verify_ttl: int = core_default("email_verify_ttl")
    """Seconds an email-verification link stays valid."""
    email_change_ttl: int = core_default("email_change_ttl")
    """Seconds an email-change confirmation link stays valid."""

    # --- Flight search (docs/flights.md) ----------------------------------------------
    # The provider behind GET /api/flights/search, and the resilience policy around
    # it; the policy's defaults are ResiliencePolicy's own (policy_default). Upper
    # bounds keep one search from holding a request thread for long: a search waits
    # at most about timeout * (retries + 1) plus the backoff waits.
    flight_provider: Literal["builtin", "duffel"] = "builtin"
    """The flight provider: `builtin` (offline, deterministic) or `duffel` (the Duffel flights API).
    """
    duffel_url: str = "https://api.duffel.com"
    """Duffel's base URL: http(s), no credentials, query or fragment; https in `prod`."""
    duffel_token: SecretStr | None = None
    """Duffel access token (a secret); required with `FLIGHT_APP_FLIGHT_PROVIDER=duffel`."""
    provider_timeout: float = Field(
        default=policy_default("provider_timeout"), gt=0, le=120, allow_inf_nan=False
    )
    """Seconds per provider attempt."""
    provider_retries: int = Field(default=policy_default("provider_retries"), ge=0, le=10)
    """Extra attempts after a transient provider failure (timeout, connection error, 429, 5xx)."""
    breaker_fail_max: int = Field(default=policy_default("breaker_fail_max"), ge=1, le=1000)
    """Consecutive failed searches that open the circuit."""
    breaker_reset: float = Field(
        default=policy_default("breaker_reset"), gt=0, le=3600, allow_inf_nan=False
    )
    """Seconds an open circuit waits before it lets one trial call through."""
    flight_cache_ttl: float = Field(
        default=policy_default("flight_cache_ttl"), gt=0, le=SECONDS_PER_DAY, allow_inf_nan=False
    )
    """Seconds a successful provider result is kept for the stale fallback."""
    # Redis key prefix of the shared circuit and cache (None: the app's own,
    # "flight_app:flight_provider"); deployments sharing one Redis need different ones.
    flight_redis_namespace: str | None = Field(
        default=None, min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$"
    )
    """Redis key prefix of the shared circuit and cache; unset means `flight_app:flight_provider`.
    Deployments sharing one Redis need different ones.
    """

    @field_validator("duffel_token", "flight_redis_namespace", mode="before")
    @classmethod
    def _flight_blank_is_unset(cls, value: object) -> object:
        """A blank value means unset."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("duffel_url")
    @classmethod
    def _duffel_url(cls, value: str) -> str:
        """An http(s) base URL without credentials, query or fragment."""
        url = value.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://api.duffel.com")
        if parts.username is not None or parts.password is not None:
            raise ValueError("must not hold credentials; the token is FLIGHT_APP_DUFFEL_TOKEN")
        if parts.query or parts.fragment:
            raise ValueError("must be a base URL, without a query or fragment")
        return url.rstrip("/")

    @model_validator(mode="after")
    def _check_flight_search(self) -> Self:
        problems: list[tuple[str, str]] = []
        if self.flight_provider == "duffel":
            token = self.duffel_token.get_secret_value() if self.duffel_token else ""
            if not token:
                problems.append(
                    (
                        "FLIGHT_APP_DUFFEL_TOKEN",
                        "missing, and FLIGHT_APP_FLIGHT_PROVIDER=duffel needs it; set it "
                        "or FLIGHT_APP_DUFFEL_TOKEN_FILE",
                    )
                )
            if self.app_env == "prod" and urlsplit(self.duffel_url).scheme != "https":
                problems.append(
                    ("FLIGHT_APP_DUFFEL_URL", "must be https in prod: the token goes with it")
                )
        try:
            resilience_policy(self)
        except ValueError as exc:  # the policy's own rules, should they outgrow ours
            by_attribute = {a: n for n, a in FLIGHT_POLICY_SETTINGS.items()}
            field = str(exc).split(" ", 1)[0]
            problems.append((env_var_name(by_attribute.get(field, "provider_timeout")), str(exc)))
        if problems:
            raise _problems_error(f"invalid settings for APP_ENV={self.app_env}", problems)
        return self

    # --- end of flight search -------------------------------------------------------

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _translate(exc) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The layers, lowest last: init values, secret files, environment, the TOML file."""
        environ = _environ()
        init_values = init_settings()
        app_env = init_values.get("APP_ENV", init_values.get("app_env", environ.get("app_env")))
        if app_env is None:
            app_env = "dev"
        if app_env not in _APP_ENVS:
            raise SettingsError(
                f"APP_ENV={app_env!r} is not a known environment; use one of "
                f"{', '.join(_APP_ENVS)}",
                variables=("APP_ENV",),
            )
        config_dir = Path(environ.get("flight_app_config_dir") or DEFAULT_CONFIG_DIR).expanduser()
        return (
            init_settings,
            _SecretFilesSource(settings_cls, environ),
            env_settings,
            _ConfigFileSource(settings_cls, config_dir / f"{app_env}.toml"),
        )

    @field_validator("mfa_required_roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        """A string is a comma-separated list of roles."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "database_url",
        "redis_url",
        "keyring_path",
        "log_dir",
        "mail_url",
        "public_url",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """A blank value means unset (the default applies)."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator(
        "log_max_bytes",
        "log_max_age_seconds",
        "log_backup_count",
        "log_retention_days",
        "live_max_clients",
        mode="before",
    )
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        """`off` or `none` (any case) switch the rule off."""
        if isinstance(value, str) and value.strip().lower() in {"off", "none"}:
            return None
        return value

    @field_validator("instance_path", "keyring_path", "log_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        """`~` expanded; a relative path resolved against the working directory."""
        return None if value is None else Path(os.path.abspath(value.expanduser()))

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        """One of `CRITICAL`, `ERROR`, `WARNING`, `INFO`, `DEBUG`, in any case."""
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(_LOG_LEVELS)}")
        return level

    @model_validator(mode="after")
    def _check_policy(self) -> Self:
        problems = self._argon2_problems()
        if self.app_env == "prod":
            problems += self._production_problems()
        if problems:
            raise _problems_error(f"invalid settings for APP_ENV={self.app_env}", problems)
        self.authkit_config()  # the core validates its own values, naming the field
        return self

    def authkit_config(self) -> AuthkitConfig:
        """The core's configuration from these settings (``SettingsError`` if it refuses)."""
        secret = self.secret_key.get_secret_value()
        mfa_keys = self.mfa_encryption_key.get_secret_value() if self.mfa_encryption_key else ""
        days = self.log_retention_days
        try:
            return self._authkit_config(secret, mfa_keys, days)
        except ConfigurationError as exc:
            variable = env_var_name(_TOP_LEVEL_SETTINGS.get(exc.field or "", "settings"))
            raise SettingsError(
                f"invalid settings:\n  - {variable}: {exc.message}", variables=(variable,)
            ) from None

    def _authkit_config(self, secret: str, mfa_keys: str, days: int | None) -> AuthkitConfig:
        return AuthkitConfig(
            service_name=SERVICE_NAME,
            secret_key=secret,
            # "flight", not "flight-app": the policy splits names at punctuation, and
            # "app" alone would ban ordinary words such as "happy".
            password_context_word="flight",  # noqa: S106 - a word passwords must avoid
            tokens=_section(
                self,
                "tokens",
                AccessTokenConfig,
                issuer=self.jwt_issuer,
                audience=self.jwt_audience,
            ),
            refresh=_section(self, "refresh", RefreshLifetimes),
            argon2=_section(self, "argon2", Argon2Parameters),
            throttle=_section(self, "throttle", ThrottleRules),
            password_policy=self.password_policy,
            registration_open=self.registration_open,
            mfa=_section(
                self,
                "mfa",
                MfaConfig,
                encryption_keys=tuple(k.strip() for k in mfa_keys.split(",") if k.strip()),
                required_roles=frozenset(self.mfa_required_roles),
                issuer=SERVICE_NAME,
            ),
            account=_section(self, "account", AccountConfig, public_url=self.effective_public_url),
            session_cache=SessionCacheConfig(ttl_seconds=self.session_cache_ttl),
            audit=AuditConfig(
                pseudonym_key=self.pseudonym_key.get_secret_value(),
                rotation=_section(
                    self,
                    "rotation",
                    RotationPolicy,
                    retention_seconds=None if days is None else days * SECONDS_PER_DAY,
                ),
            ),
        )

    def _argon2_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self.app_env == "test":
            return problems
        if self.argon2_time_cost < OWASP_ARGON2_TIME_COST:
            problems.append(
                (
                    "FLIGHT_APP_ARGON2_TIME_COST",
                    f"below the OWASP minimum of {OWASP_ARGON2_TIME_COST} "
                    "(lower costs are only allowed with APP_ENV=test)",
                )
            )
        if self.argon2_memory_cost < OWASP_ARGON2_MEMORY_COST:
            problems.append(
                (
                    "FLIGHT_APP_ARGON2_MEMORY_COST",
                    f"below the OWASP minimum of {OWASP_ARGON2_MEMORY_COST} KiB "
                    "(lower costs are only allowed with APP_ENV=test)",
                )
            )
        return problems

    def _production_problems(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        required: list[tuple[str, SecretStr | None, str | None, int]] = [
            ("secret_key", self.secret_key, DEV_SECRET_KEY, 1),
            ("pseudonym_key", self.pseudonym_key, DEV_PSEUDONYM_KEY, MIN_PROD_KEY_LENGTH),
            ("mfa_encryption_key", self.mfa_encryption_key, None, 1),
        ]
        if self.metrics == "token":
            required.append(("metrics_token", self.metrics_token, None, 1))
        for name, secret, dev_default, min_length in required:
            value = None if secret is None else secret.get_secret_value()
            if not value:
                reason = "missing"
            elif value == dev_default:
                reason = "left at the development default"
            elif len(value) < min_length:
                reason = f"shorter than {min_length} characters"
            else:
                continue
            problems.append((env_var_name(name), f"{reason}; set it or {env_var_name(name)}_FILE"))
        if self.limits_per_process:
            problems.append(
                (
                    env_var_name("ratelimit_storage_url"),
                    f"memory:// counts per process, so {self.workers} workers would each "
                    "allow the whole budget; use redis:// (or one worker)",
                )
            )
        return problems

    @property
    def limits_per_process(self) -> bool:
        """Rate limits counted in each worker's memory while several workers serve.

        Every worker would then grant the whole budget (with 4 workers, 15 of 20
        wrong passwords reached argon2 instead of 5): refused in prod, a warning
        elsewhere (security probe, finding 8).
        """
        return self.workers > 1 and self.ratelimit_storage_url.startswith("memory://")

    @property
    def effective_database_url(self) -> str:
        """``database_url``, or a SQLite file in the instance folder."""
        if self.database_url is not None:
            return self.database_url
        return f"sqlite:///{(self.instance_path / 'flight_app.db').as_posix()}"

    @property
    def session_epoch_path(self) -> Path:
        """The epoch every process of this host bumps when a session may have ended."""
        return self.instance_path / "session.epoch"

    @property
    def effective_keyring_path(self) -> Path:
        """``keyring_path``, or ``keyring.json`` in the instance folder."""
        return self.keyring_path or self.instance_path / "keyring.json"

    @property
    def effective_mail_url(self) -> str:
        """``mail_url``, or ``file://`` the instance folder's ``outbox/`` (absolute)."""
        if self.mail_url is not None:
            return self.mail_url
        return f"file://{(self.instance_path / 'outbox').resolve().as_posix()}"

    @property
    def effective_public_url(self) -> str:
        """``public_url``, or ``http://<host>:<port>`` (brackets around an IPv6 host)."""
        if self.public_url is not None:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def effective_log_dir(self) -> Path:
        """``log_dir``, or the instance folder."""
        return self.log_dir or self.instance_path

    def __repr_args__(self) -> Any:
        # URLs may embed a password; SecretStr fields already mask themselves.
        for name, value in super().__repr_args__():
            if name in {"database_url", "redis_url", "ratelimit_storage_url", "mail_url"} and value:
                yield name, _redact_url(value)
            else:
                yield name, value


def _translate(exc: ValidationError) -> SettingsError:
    """A ``SettingsError`` naming each invalid setting by its variable, without values."""
    problems: list[tuple[str, str]] = []
    for error in exc.errors(include_input=False, include_url=False):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, SettingsError):
            return cause
        field = str(error["loc"][0]) if error["loc"] else "settings"
        name = "app_env" if field == "APP_ENV" else field
        problems.append((env_var_name(name), error["msg"]))
    return _problems_error("invalid settings", problems)


def _section(settings: Settings, section: str, cls: type[_T], **extra: Any) -> _T:
    """Build one nested core config from the settings mapped to it in ``CORE_SETTINGS``.

    A value the core refuses becomes a ``SettingsError`` naming the variable that set it.
    """
    values = {
        attribute: getattr(settings, name)
        for name, (owner, attribute) in CORE_SETTINGS.items()
        if owner == section
    }
    values.update(extra)
    try:
        return cls(**values)
    except ConfigurationError as exc:
        by_attribute = {a: n for n, (o, a) in CORE_SETTINGS.items() if o == section}
        name = by_attribute.get(exc.field or "", "")
        variable = env_var_name(name) if name else _extra_variable(section, exc.field)
        raise SettingsError(
            f"invalid settings:\n  - {variable}: {exc.message}", variables=(variable,)
        ) from None


_TOP_LEVEL_SETTINGS: Final = {
    "secret_key": "secret_key",
    "password_policy": "password_policy",
    "pseudonym_key": "pseudonym_key",
}
"""Settings behind the fields of ``AuthkitConfig`` itself and of its ``AuditConfig``."""


def _extra_variable(section: str, field: str | None) -> str:
    """The variable behind a core field set from a setting of another name."""
    names = {
        ("tokens", "issuer"): "jwt_issuer",
        ("tokens", "audience"): "jwt_audience",
        ("mfa", "encryption_keys"): "mfa_encryption_key",
        ("rotation", "retention_seconds"): "log_retention_days",
        ("account", "public_url"): "public_url",
    }
    return env_var_name(names.get((section, field or ""), "settings"))


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from every layer; ``overrides`` (by field name) win over all."""
    return Settings(**overrides)
