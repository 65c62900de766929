"""Redis pub/sub fan-out: audit events from every process on every host.

When a deployment scales past one host, the audit log file is no longer shared,
so each process publishes its events to a Redis channel (``RedisPublisher``, an
``AuditLogger`` listener) and each process subscribes to it
(``RedisEventSource``). Redis delivers a published message to every subscriber,
the publishing process included, so the subscription is the only path events
take into a process's hub and nothing arrives twice.

The ``redis`` package is imported lazily: the core does not depend on it, and
only a deployment that sets a Redis URL needs it installed.

Neither side may slow down the service: the publisher hands events to its own
daemon thread through a bounded queue (a sign-in never waits for Redis; when
Redis is down events for the live view are dropped and counted, while the audit
log itself is unaffected), and the subscriber reconnects with a capped backoff.
That backoff is exponential with full jitter (``ReconnectBackoff``): when Redis
comes back after an outage, every worker of every host was waiting for it, and
without jitter they would all reconnect in the same instant, again and again.
Pub/sub keeps no history: events published while a subscriber reconnects are
not replayed to it (the log viewer still has them, read from the audit log).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from authkit.live._source import BackgroundLoop, Deliver

if TYPE_CHECKING:
    from redis import Redis

DEFAULT_CHANNEL: Final = "authkit:audit"
"""The Redis pub/sub channel of audit events unless one is given."""
DEFAULT_PUBLISH_QUEUE: Final = 10_000
_POLL_SECONDS: Final = 0.5
_READY_WAIT: Final = 2.0
_MIN_DELAY: Final = 0.01

_log = logging.getLogger("authkit.live")


@dataclass(frozen=True, kw_only=True)
class ReconnectBackoff:
    """How long to wait before the next attempt: exponential backoff, full jitter.

    After the ``n``-th failure in a row the wait is uniform in
    ``[0, min(cap, base * 2 ** (n - 1))]`` ("full jitter", AWS Architecture Blog,
    *Exponential Backoff And Jitter*, 2015): the ceiling grows so a long outage
    costs Redis little, and the random draw spreads the workers of every host
    over the whole interval so they do not reconnect in the same instant. The
    wait never exceeds ``cap`` and never drops below 10 ms (no busy loop even if
    ``random`` returns 0). ``random`` is injectable for tests.
    """

    base: float = 0.1
    cap: float = 5.0
    random: Callable[[], float] = field(default=random.random, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.base <= self.cap:
            raise ValueError("ReconnectBackoff needs 0 < base <= cap.")

    def ceiling(self, failures: int) -> float:
        """The upper bound of the wait after ``failures`` failures in a row (>= 1)."""
        if failures < 1:
            raise ValueError("failures counts from 1.")
        return min(self.cap, self.base * 2.0 ** min(failures - 1, 64))

    def delay(self, failures: int) -> float:
        """A random wait in ``[0.01, ceiling(failures)]`` seconds."""
        drawn = self.random() * self.ceiling(failures)
        return min(self.ceiling(failures), max(_MIN_DELAY, drawn))


Wait = Callable[[threading.Event, float], object]
"""How a background thread waits: ``wait(stopping, seconds)``, cut short by ``stop``."""


def _wait(stopping: threading.Event, seconds: float) -> object:
    return stopping.wait(seconds)


def _client(url: str, *, timeout: float | None) -> Redis:
    import redis  # lazily: an optional dependency of the core

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=2.0,
        socket_timeout=timeout,
        health_check_interval=15,
    )


def _redis_errors() -> tuple[type[BaseException], ...]:
    import redis

    return (redis.RedisError, OSError)


class RedisPublisher:
    """An ``AuditLogger`` listener: publishes each event to ``channel`` as JSON.

    Called on the request's thread, so it only queues; a daemon thread (started
    on the first event, and again in a forked child) does the network call.
    ``dropped`` counts events the live view lost because the queue was full.
    """

    def __init__(
        self,
        url: str,
        channel: str = DEFAULT_CHANNEL,
        *,
        queue_size: int = DEFAULT_PUBLISH_QUEUE,
        backoff: ReconnectBackoff | None = None,
        wait: Wait = _wait,
    ) -> None:
        self.url = url
        self.channel = channel
        self.dropped = 0
        self._backoff = backoff or ReconnectBackoff()
        self._wait = wait
        self._failures = 0
        self._queue_size = queue_size
        self._queue: queue.Queue[str] = queue.Queue(queue_size)
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._redis: Redis | None = None
        self._loop = BackgroundLoop(f"authkit-live-publish[{channel}]", self._step)

    def __repr__(self) -> str:
        return f"RedisPublisher(channel={self.channel!r})"

    def __call__(self, event: dict[str, Any]) -> None:
        self._ensure_running()
        try:
            self._queue.put_nowait(json.dumps(event, separators=(",", ":")))
        except queue.Full:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                _log.warning("live-update publish queue full; %d events dropped", self.dropped)

    def flush(self, timeout: float = 2.0) -> bool:
        """Wait until every queued event was handed to Redis (tests, shutdown)."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, name="authkit-live-flush", daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout: float | None = None) -> None:
        self._loop.stop(timeout)
        if self._redis is not None:
            self._redis.close()
            self._redis = None

    def _ensure_running(self) -> None:
        if self._loop.running and self._pid == os.getpid():
            return
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's thread and queue stay behind
                self._pid = os.getpid()
                self._queue = queue.Queue(self._queue_size)
                self._redis = None
                self._loop = BackgroundLoop(self._loop.name, self._step)
            self._loop.start()

    def _step(self, stopping: threading.Event) -> None:
        try:
            payload = self._queue.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            return
        try:
            if self._redis is None:
                self._redis = _client(self.url, timeout=2.0)
            self._redis.publish(self.channel, payload)
            self._failures = 0
        except _redis_errors():
            self.dropped += 1
            self._failures += 1
            _log.warning("live-update publish to Redis failed; event dropped", exc_info=True)
            self._redis = None
            self._wait(stopping, self._backoff.delay(self._failures))
        finally:
            self._queue.task_done()


class RedisEventSource:
    """An ``EventSource`` subscribed to ``channel``; reconnects with a jittered backoff.

    ``backoff`` (a ``ReconnectBackoff``) sets the waits between attempts, ``wait``
    how they are waited (tests inject both); the count of failures in a row goes
    back to zero once a subscription is confirmed.
    """

    def __init__(
        self,
        url: str,
        channel: str = DEFAULT_CHANNEL,
        *,
        backoff: ReconnectBackoff | None = None,
        wait: Wait = _wait,
    ) -> None:
        self.url = url
        self.channel = channel
        self._deliver: Deliver | None = None
        self._subscribed = threading.Event()
        self._lock = threading.Lock()
        self._backoff = backoff or ReconnectBackoff()
        self._wait = wait
        self._failures = 0
        self._loop = BackgroundLoop(f"authkit-live-subscribe[{channel}]", self._step)

    def __repr__(self) -> str:
        return f"RedisEventSource(channel={self.channel!r})"

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    def start(self, deliver: Deliver) -> None:
        with self._lock:
            if self._loop.running:
                return
            self._deliver = deliver
            self._loop.start()
        self._subscribed.wait(_READY_WAIT)

    def stop(self, timeout: float | None = None) -> None:
        self._loop.stop(timeout)

    def _step(self, stopping: threading.Event) -> None:
        """One connection's life: subscribe, deliver until an error or ``stop``."""
        client = _client(self.url, timeout=None)
        pubsub = client.pubsub()  # type: ignore[no-untyped-call]
        try:
            pubsub.subscribe(self.channel)
            while not stopping.is_set():
                message = pubsub.get_message(timeout=_POLL_SECONDS)
                if message is not None:
                    self._handle(message)
        except _redis_errors():
            self._subscribed.clear()
            self._failures += 1
            delay = self._backoff.delay(self._failures)
            _log.warning("live-update subscription to Redis lost; retrying in %.2fs", delay)
            self._wait(stopping, delay)
        finally:
            self._subscribed.clear()
            pubsub.close()
            client.close()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            self._failures = 0
            self._subscribed.set()
            return
        if kind != "message" or self._deliver is None:
            return
        try:
            event = json.loads(message["data"])
        except (TypeError, ValueError):
            _log.debug("skipped a live-update message that is not JSON")
            return
        if isinstance(event, dict):
            try:
                self._deliver(event)
            except Exception:  # a delivery bug must not cost the subscription
                _log.exception("live-update delivery failed for one event")


__all__ = ["DEFAULT_CHANNEL", "ReconnectBackoff", "RedisEventSource", "RedisPublisher", "Wait"]
