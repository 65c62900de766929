"""Live updates: fan audit events out to connected admins, from every process.

``Hub`` gives each subscriber a bounded queue and drops the slow ones;
``FileEventSource`` (one host, no extra service: follows the shared audit log)
and ``RedisEventSource`` with ``RedisPublisher`` (many hosts: Redis pub/sub)
bring every process's events into each process's hub. No web framework here:
the adapter owns the WebSocket.
"""

from authkit.live._follower import DEFAULT_POLL_INTERVAL, FileEventSource, JsonlFollower
from authkit.live._hub import (
    DEFAULT_QUEUE_SIZE,
    OVERFLOW,
    SHUTDOWN,
    Hub,
    HubFull,
    Subscription,
    SubscriptionClosed,
)
from authkit.live._redis import (
    DEFAULT_CHANNEL,
    ReconnectBackoff,
    RedisEventSource,
    RedisPublisher,
)
from authkit.live._source import BackgroundLoop, Deliver, Event, EventSource

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_QUEUE_SIZE",
    "OVERFLOW",
    "SHUTDOWN",
    "BackgroundLoop",
    "Deliver",
    "Event",
    "EventSource",
    "FileEventSource",
    "Hub",
    "HubFull",
    "JsonlFollower",
    "ReconnectBackoff",
    "RedisEventSource",
    "RedisPublisher",
    "Subscription",
    "SubscriptionClosed",
]
