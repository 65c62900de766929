"""A per-process fan-out hub with one bounded queue per subscriber.

The admin live view pushes every audit event to every connected admin. One
slow or dead client must never hold up the others or the request that caused the
event, so publishing never blocks: each subscriber has its own bounded queue,
``publish`` only appends, and a subscriber whose queue is full is dropped on the
spot (its reader is woken and told why) rather than slowing everyone else down or
silently missing events. A client that was dropped reconnects and catches up
from the log viewer.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Final, Generic, TypeVar

T = TypeVar("T")

DEFAULT_QUEUE_SIZE: Final = 256
"""Messages a subscriber may fall behind by before it is dropped."""

OVERFLOW: Final = "overflow"
"""The reason a subscription closes when its consumer fell too far behind."""
SHUTDOWN: Final = "shutdown"
"""The reason a subscription closes when the hub shuts down."""
UNSUBSCRIBED: Final = "unsubscribed"


class SubscriptionClosed(Exception):
    """The subscription ended; ``reason`` is ``overflow``, ``shutdown`` or ``unsubscribed``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HubFull(Exception):
    """The hub already has ``max_subscribers`` subscribers."""


class Subscription(Generic[T]):
    """One subscriber's bounded queue; ``get`` is called by that subscriber alone."""

    def __init__(self, hub: Hub[T], queue_size: int) -> None:
        self._hub = hub
        self._queue_size = queue_size
        self._items: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._closed: str | None = None

    def __enter__(self) -> Subscription[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def closed_reason(self) -> str | None:
        return self._closed

    def offer(self, item: T) -> bool:
        """Queue ``item`` without waiting; a full queue closes the subscription (overflow)."""
        with self._cond:
            if self._closed is not None:
                return False
            if len(self._items) >= self._queue_size:
                self._close_locked(OVERFLOW)
                return False
            self._items.append(item)
            self._cond.notify()
            return True

    def get(self, timeout: float | None = None) -> T | None:
        """The next item, or ``None`` after ``timeout`` seconds.

        Raises ``SubscriptionClosed`` as soon as the subscription is closed, even
        with items still queued: a subscriber that was dropped for falling behind
        is not helped by a burst of stale events.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._items or self._closed is not None, timeout)
            if self._closed is not None:
                raise SubscriptionClosed(self._closed)
            return self._items.popleft() if self._items else None

    def close(self, reason: str = UNSUBSCRIBED) -> None:
        """End the subscription and leave the hub; idempotent."""
        with self._cond:
            self._close_locked(reason)
        self._hub._discard(self)

    def _close_locked(self, reason: str) -> None:
        if self._closed is None:
            self._closed = reason
            self._items.clear()
            self._cond.notify_all()


class Hub(Generic[T]):
    """Fans items out to subscribers; thread-safe, and ``publish`` never blocks on them."""

    def __init__(
        self, *, queue_size: int = DEFAULT_QUEUE_SIZE, max_subscribers: int | None = None
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1.")
        if max_subscribers is not None and max_subscribers < 1:
            raise ValueError("max_subscribers must be at least 1 or None.")
        self.queue_size = queue_size
        self.max_subscribers = max_subscribers
        self._lock = threading.Lock()
        self._subscribers: tuple[Subscription[T], ...] = ()
        self._closed = False
        self.dropped = 0
        """Subscribers dropped for falling behind, since the hub was made."""

    def __len__(self) -> int:
        return len(self._subscribers)

    @property
    def full(self) -> bool:
        return self.max_subscribers is not None and len(self) >= self.max_subscribers

    def subscribe(self) -> Subscription[T]:
        """A new subscription; ``HubFull`` past ``max_subscribers``, or if the hub is closed."""
        with self._lock:
            if self._closed:
                raise HubFull("the hub is shut down")
            if self.max_subscribers is not None and len(self._subscribers) >= self.max_subscribers:
                raise HubFull(f"at most {self.max_subscribers} subscribers")
            subscription = Subscription(self, self.queue_size)
            self._subscribers = (*self._subscribers, subscription)
            return subscription

    def publish(self, item: T) -> int:
        """Offer ``item`` to every subscriber; the number that took it.

        Subscribers that overflow are closed and removed here, so the cost of a
        publish is one short lock per subscriber and nothing else.
        """
        delivered = 0
        for subscription in self._subscribers:  # a tuple: a snapshot, no lock needed
            if subscription.offer(item):
                delivered += 1
            elif subscription.closed_reason == OVERFLOW:
                self._discard(subscription, overflowed=True)
        return delivered

    def close(self, reason: str = SHUTDOWN) -> None:
        """Close every subscription (waking their readers) and refuse new ones."""
        with self._lock:
            self._closed = True
            subscribers, self._subscribers = self._subscribers, ()
        for subscription in subscribers:
            subscription.close(reason)

    def _discard(self, subscription: Subscription[T], *, overflowed: bool = False) -> None:
        with self._lock:
            if overflowed and subscription in self._subscribers:
                self.dropped += 1
            self._subscribers = tuple(s for s in self._subscribers if s is not subscription)


__all__ = [
    "DEFAULT_QUEUE_SIZE",
    "OVERFLOW",
    "SHUTDOWN",
    "UNSUBSCRIBED",
    "Hub",
    "HubFull",
    "Subscription",
    "SubscriptionClosed",
]
