"""The one rotation policy of the app's logs, from the ``log_*`` settings.

The audit log (``auth.jsonl``) and the system log (``system.jsonl``) rotate and
are retained by the same rules, so an operator sets them once and both logs of
one moment are kept (or purged) together.
"""

from __future__ import annotations

from typing import Final

from authkit.audit import RotationPolicy
from flight_app.settings import Settings

SECONDS_PER_DAY: Final = 86_400


def log_rotation_policy(settings: Settings) -> RotationPolicy:
    """``RotationPolicy`` from ``log_max_bytes``, ``log_max_age_seconds``, ``log_backup_count``,
    ``log_retention_days`` and ``log_compress``."""
    days = settings.log_retention_days
    return RotationPolicy(
        max_bytes=settings.log_max_bytes,
        max_age_seconds=settings.log_max_age_seconds,
        backup_count=settings.log_backup_count,
        retention_seconds=None if days is None else days * SECONDS_PER_DAY,
        compress=settings.log_compress,
    )


__all__ = ["SECONDS_PER_DAY", "log_rotation_policy"]
