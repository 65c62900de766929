"""The admin log viewer's sources and the live-update fan-out, from the settings.

Embedded (no ``redis_url``): each gunicorn worker follows the shared
``auth.jsonl`` (``FileEventSource``), which every worker and the CLI append to,
so an event reaches the admins connected to any worker of this host with no extra
service. Scaled out (``redis_url`` set): each worker publishes its audit events to
``live_channel`` and subscribes to it, so events cross hosts too.

The app is built once per gunicorn worker (no ``preload_app``), after the fork,
so every worker gets its own hub and its threads; they start only when the first
admin connects (the publisher on the first event) and are daemon threads that
``shutdown_live`` stops (gunicorn's SIGTERM, see ``gunicorn_conf``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from authkit import Authkit
from authkit.audit import AuditLogger
from authkit.live import EventSource, FileEventSource, RedisEventSource, RedisPublisher
from authkit_flask import LiveUpdates
from flight_app.settings import Settings

EXTENSION_KEY = "flight_app.live"


@dataclass(kw_only=True)
class LiveWiring:
    """The admin live-update channel of one worker.

    The hub, the audit logger it follows and, with Redis, the publisher.
    """

    updates: LiveUpdates
    audit: AuditLogger
    publisher: RedisPublisher | None = None

    def close(self, timeout: float = 2.0) -> None:
        """Close every admin socket and stop the threads; idempotent."""
        self.updates.shutdown(timeout)
        if self.publisher is not None:
            self.audit.remove_listener(self.publisher)
            self.publisher.stop(timeout)


def log_sources(settings: Settings) -> dict[str, Path]:
    """What ``GET /admin/logs?source=`` may read: the audit log and the system log."""
    folder = settings.effective_log_dir
    return {"auth": folder / "auth.jsonl", "system": folder / "system.jsonl"}


def max_live_clients(settings: Settings) -> int:
    """``live_max_clients``, or half the worker's threads: the rest stay for HTTP."""
    return settings.live_max_clients or max(1, settings.threads // 2)


def build_live(settings: Settings, audit: AuditLogger) -> LiveWiring:
    """Admin live updates: over Redis pub/sub with ``redis_url``, else from ``auth.jsonl``."""
    publisher: RedisPublisher | None = None
    source: EventSource
    if settings.redis_url:
        publisher = RedisPublisher(settings.redis_url, settings.live_channel)
        audit.add_listener(publisher)
        source = RedisEventSource(settings.redis_url, settings.live_channel)
    else:
        source = FileEventSource(audit.path)
    updates = LiveUpdates(source, max_clients=max_live_clients(settings))
    return LiveWiring(updates=updates, audit=audit, publisher=publisher)


def follow_session_events(settings: Settings, kit: Authkit) -> None:
    """With Redis, let other hosts' audit events empty this worker's session cache at once.

    The hosts' workers already publish every audit event to ``live_channel``; one
    more subscription per worker feeds them to ``SessionCache.observe``. Without
    Redis there is one host, whose workers share the cache's file epoch.
    ``Authkit.close`` stops the subscription.
    """
    cache = kit.auth.session_cache
    if settings.redis_url and cache is not None:
        cache.follow(RedisEventSource(settings.redis_url, settings.live_channel))


def install_live(app: Flask, wiring: LiveWiring) -> None:
    """Keep ``wiring`` on ``app`` so shutdown hooks find it."""
    app.extensions[EXTENSION_KEY] = wiring


def shutdown_live(app: object, timeout: float = 2.0) -> None:
    """Close the live sockets of ``app`` (if it is a flight_app app); for shutdown hooks."""
    extensions = getattr(app, "extensions", None)
    wiring = extensions.get(EXTENSION_KEY) if isinstance(extensions, dict) else None
    if isinstance(wiring, LiveWiring):
        wiring.close(timeout)


__all__ = [
    "EXTENSION_KEY",
    "LiveWiring",
    "build_live",
    "follow_session_events",
    "install_live",
    "log_sources",
    "max_live_clients",
    "shutdown_live",
]
