"""The core, built from the app's settings: the only wiring the app does.

The web app, the CLI and the tests all get the same object: embedded (SQLite,
``memory://``) or scaled out (PostgreSQL, Redis) depending only on URLs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine

from authkit import AuditLogger, Authkit, build
from authkit_flask import record_mail_failure, record_mail_sent
from flight_app.mail_setup import mail_retry
from flight_app.settings import Settings


@dataclass(frozen=True, kw_only=True)
class Components:
    """What the app builds from its settings: the settings and the core built from them.

    One object, so shutdown closes exactly what start-up opened.
    """

    settings: Settings
    kit: Authkit

    @property
    def engine(self) -> Engine:
        """The app always runs on a SQL database (SQLite or PostgreSQL)."""
        assert self.kit.stores.engine is not None
        return self.kit.stores.engine

    @property
    def audit(self) -> AuditLogger:
        """The core's audit logger (the app always writes a JSONL file)."""
        assert isinstance(self.kit.audit, AuditLogger)
        return self.kit.audit

    def close(self) -> None:
        """Close the core: the database, the rate-limit storage and the audit file."""
        self.kit.close()


def build_components(
    settings: Settings, *, trace_id_provider: Callable[[], str | None] | None = None
) -> Components:
    """Build the core; ``trace_id_provider`` is the adapter's ``current_trace_id``."""
    settings.instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    kit = build(
        settings.authkit_config(),
        audit=settings.effective_log_dir / "auth.jsonl",
        stores=settings.effective_database_url,
        rate_limits=settings.ratelimit_storage_url,
        keys=settings.effective_keyring_path,
        trace_id_provider=trace_id_provider,
        mail=settings.effective_mail_url,
        mail_from=settings.mail_from,
        mail_retry=mail_retry(settings.mail_retries),
        on_mail_failure=record_mail_failure,
        on_mail_sent=record_mail_sent,
        session_epoch=settings.session_epoch_path,
    )
    return Components(settings=settings, kit=kit)


__all__ = ["Components", "build_components"]
