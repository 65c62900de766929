"""Bearer checks without a query per request: a bounded, invalidated session cache.

``SessionCache`` keeps the database's answer to "is this user active and this
session live?" for at most ``SessionCacheConfig.ttl_seconds`` (off by default)
and drops it when an audit event says a session may have ended, in this process
and, through a shared ``SessionEpoch`` (``FileEpoch``), in every process of the
host. ``authkit.build`` wires it from ``AuthkitConfig.session_cache``.
"""

from authkit.sessions._cache import (
    HARMLESS_EVENTS,
    HARMLESS_OUTCOMES,
    MAX_TTL_SECONDS,
    FileEpoch,
    MemoryEpoch,
    SessionCache,
    SessionCacheConfig,
    SessionEpoch,
    SessionMark,
)

__all__ = [
    "HARMLESS_EVENTS",
    "HARMLESS_OUTCOMES",
    "MAX_TTL_SECONDS",
    "FileEpoch",
    "MemoryEpoch",
    "SessionCache",
    "SessionCacheConfig",
    "SessionEpoch",
    "SessionMark",
]
