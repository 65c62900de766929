"""``build``: the one call that turns an ``AuthkitConfig`` into working services.

An app names its config, where its data lives (store URL), where rate limits are
counted (a ``limits`` URI), where the keys are (``memory://`` or a JWK Set file)
and where audit events go, and gets back the four services an adapter needs:
``auth``, ``admin``, ``mfa`` and ``keys``. Everything else is wired here once, so
no app or test writes the same glue (structlog's ``configure``, httpx's client).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType

from authkit._auth import AuthService
from authkit._config import AuthkitConfig
from authkit.account._service import AccountService
from authkit.account._tokens import ActionTokens
from authkit.audit._logger import AuditLogger
from authkit.audit._pseudonym import Pseudonymizer
from authkit.audit._sink import AuditSink
from authkit.clock import Clock, SystemClock
from authkit.errors import ConfigurationError
from authkit.keys._file import KeyRingFile
from authkit.keys._manager import KeyManager
from authkit.mail import (
    FailureHook,
    MailComposer,
    MailDispatcher,
    Mailer,
    Retry,
    SentHook,
    open_mailer,
)
from authkit.mfa._enrolment import MfaEnrolment
from authkit.mfa._recovery import RecoveryCodeHasher
from authkit.mfa._secret_box import SecretBox
from authkit.mfa._service import MfaService
from authkit.mfa._totp import Totp, TotpConfig
from authkit.passwords._hashing import PasswordHasher
from authkit.sessions._cache import FileEpoch, SessionCache, SessionEpoch
from authkit.storage._url import MEMORY_URL, Stores, open_stores
from authkit.storage.memory._actions import MemoryActionTokenStore
from authkit.throttle import LoginThrottle
from authkit.tokens._access import AccessTokens
from authkit.tokens._device import DeviceTokens
from authkit.tokens._refresh import RefreshTokens
from authkit.users._admin import AdminService


@dataclass(kw_only=True)
class Authkit:
    """What ``build`` returns: the services, and what they were built from.

    ``auth`` signs in and out; ``admin`` manages accounts; ``mfa`` enrols and
    disables TOTP; ``keys`` serves, rotates and retires the signing keys;
    ``account`` verifies emails, resets passwords, changes emails and deletes
    accounts, sending its mail through ``mail`` (a background dispatcher; tests
    ``mail.flush()`` it). Close it (or use it as a context manager) to release the
    database, the audit file and the mail worker.
    """

    config: AuthkitConfig
    auth: AuthService
    admin: AdminService
    mfa: MfaEnrolment
    keys: KeyManager
    stores: Stores
    throttle: LoginThrottle
    audit: AuditSink
    clock: Clock
    account: AccountService
    mail: MailDispatcher
    mailer: Mailer

    def close(self) -> None:
        if self.auth.session_cache is not None:
            self.auth.session_cache.close()
        self.mail.close()
        self.mailer.close()
        close_audit = getattr(self.audit, "close", None)
        if callable(close_audit):
            close_audit()
        self.throttle.close()
        self.stores.close()

    def __enter__(self) -> Authkit:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def build(
    config: AuthkitConfig,
    *,
    audit: AuditSink | str | Path,
    stores: Stores | str = MEMORY_URL,
    rate_limits: LoginThrottle | str = MEMORY_URL,
    keys: KeyManager | str | Path = MEMORY_URL,
    clock: Clock | None = None,
    trace_id_provider: Callable[[], str | None] | None = None,
    mail: Mailer | str = MEMORY_URL,
    mail_from: str = "no-reply@localhost",
    mail_retry: Retry | None = None,
    on_mail_failure: FailureHook | None = None,
    on_mail_sent: SentHook | None = None,
    session_epoch: SessionEpoch | str | Path | None = None,
) -> Authkit:
    """Build the core from ``config``.

    ``audit``: a path for the JSONL audit log (pseudonymised with the config's
    key), or any ``AuditSink``. ``stores``: ``memory://`` or a SQLAlchemy URL (see
    ``authkit.storage.open_stores``; tables are not created: migrate, or call
    ``open_stores(url, create_tables=True)`` and pass the result). ``rate_limits``:
    a ``limits`` storage URI (``memory://`` for one process, ``redis://`` when
    several share the counters). ``keys``: ``memory://`` or the path of a JWK Set
    file, created on first use. ``trace_id_provider`` stamps audit events with
    the current request's trace id. ``mail``: a ``Mailer`` or a mail URL for
    :func:`authkit.mail.open_mailer` (``memory://``, ``file:///outbox``,
    ``smtp://...``), with ``mail_from`` as sender and ``mail_retry`` wrapping each
    send (a resilience policy); ``on_mail_failure`` hears of each message that
    could not be delivered and ``on_mail_sent`` of each one sent (metrics).
    ``session_epoch``: with ``config.session_cache`` on, what tells this process's
    cache that another process changed a session: a path for a ``FileEpoch``
    shared by every process of the host (the instance folder), or any
    ``SessionEpoch``; None: this process only.
    """
    clock = clock or SystemClock()
    token_config = config.access_tokens
    sink = _audit_sink(config, audit, clock, trace_id_provider)
    store_set = stores if isinstance(stores, Stores) else open_stores(stores)
    throttle = (
        rate_limits
        if isinstance(rate_limits, LoginThrottle)
        else LoginThrottle(rate_limits, config.throttle)
    )
    window = timedelta(seconds=token_config.ttl_seconds + token_config.clock_skew_seconds)
    key_manager = _key_manager(keys, window=window, audit=sink, clock=clock)
    mfa = MfaService(
        store=store_set.mfa,
        box=SecretBox(config.mfa_keys()),
        totp=Totp(
            TotpConfig(
                issuer=config.mfa.issuer or config.service_name,
                skew_steps=config.mfa.skew_steps,
            ),
            clock=clock,
        ),
        clock=clock,
        recovery=RecoveryCodeHasher(config.argon2),
    )
    refresh_tokens = RefreshTokens(store_set.refresh_tokens, config.refresh, clock=clock)
    hasher = PasswordHasher(config.argon2)
    session_cache = _session_cache(config, sink, session_epoch)
    auth = AuthService(
        users=store_set.users,
        hasher=hasher,
        policy=config.policy(),
        throttle=throttle,
        access_tokens=AccessTokens(key_manager, token_config, clock=clock),
        refresh_tokens=refresh_tokens,
        audit=sink,
        clock=clock,
        registration_open=config.registration_open,
        mfa=mfa,
        mfa_required_roles=config.mfa.required_roles,
        session_users=store_set.session_users,
        sign_ins=store_set.sign_ins,
        session_cache=session_cache,
        device_tokens=DeviceTokens(
            config.device_token_key(),
            ttl_seconds=config.throttle.device_token_ttl_seconds,
            clock=clock,
        ),
    )
    mailer = (
        open_mailer(mail, sender=mail_from, retry=mail_retry) if isinstance(mail, str) else mail
    )
    dispatcher = MailDispatcher(mailer, on_failure=on_mail_failure, on_sent=on_mail_sent)
    account = AccountService(
        users=store_set.users,
        tokens=ActionTokens(
            store_set.action_tokens or MemoryActionTokenStore(),
            key=config.action_token_key(),
            lifetimes=config.account.lifetimes,
            clock=clock,
        ),
        refresh_tokens=refresh_tokens,
        mfa=store_set.mfa,
        hasher=hasher,
        policy=config.policy(),
        throttle=throttle,
        audit=sink,
        clock=clock,
        config=config.account,
        composer=MailComposer(config.service_name),
        mail=dispatcher,
    )
    auth.require_verified_email = config.account.require_verified_email
    auth.on_register = account.registered
    return Authkit(
        config=config,
        auth=auth,
        admin=AdminService(
            users=store_set.users, refresh_tokens=refresh_tokens, audit=sink, mfa=store_set.mfa
        ),
        mfa=MfaEnrolment(mfa=mfa, throttle=throttle, audit=sink, hasher=hasher),
        keys=key_manager,
        stores=store_set,
        throttle=throttle,
        audit=sink,
        clock=clock,
        account=account,
        mail=dispatcher,
        mailer=mailer,
    )


def _audit_sink(
    config: AuthkitConfig,
    audit: AuditSink | str | Path,
    clock: Clock,
    trace_id_provider: Callable[[], str | None] | None,
) -> AuditSink:
    if not isinstance(audit, str | Path):
        return audit
    path = Path(audit)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return AuditLogger(
        path,
        pseudonymizer=Pseudonymizer(config.pseudonym_key()),
        rotation=config.audit.rotation,
        clock=clock,
        trace_id_provider=trace_id_provider or _no_trace_id,
    )


def _session_cache(
    config: AuthkitConfig, sink: AuditSink, epoch: SessionEpoch | str | Path | None
) -> SessionCache | None:
    """The bearer-check cache, listening to the audit events that end sessions; None when off."""
    if not config.session_cache.enabled:
        return None
    add_listener = getattr(sink, "add_listener", None)
    if not callable(add_listener):
        # Without the events the cache could serve a revoked session until its TTL.
        raise ConfigurationError(
            "session_cache needs an audit sink that takes listeners (AuditLogger).",
            field="session_cache",
        )
    if isinstance(epoch, str | Path):
        epoch = FileEpoch(epoch)
    cache = SessionCache(config.session_cache, epoch=epoch)
    add_listener(cache.observe)
    return cache


def _no_trace_id() -> str | None:
    return None


def _key_manager(
    keys: KeyManager | str | Path, *, window: timedelta, audit: AuditSink, clock: Clock
) -> KeyManager:
    if isinstance(keys, KeyManager):
        return keys
    if isinstance(keys, str) and keys == MEMORY_URL:
        return KeyManager.in_memory(window=window, audit=audit, clock=clock)
    return KeyManager.from_file(
        KeyRingFile(Path(keys), clock=clock), window=window, audit=audit, clock=clock
    )


__all__ = ["Authkit", "build"]
