"""The live-update service of one process: a hub of admin sockets fed by an event source.

One ``LiveUpdates`` per worker process. Its ``EventSource`` (the shared audit log
file, or Redis pub/sub) is started by the first admin that connects, so processes
nobody watches (the CLI, tests, idle workers) run no extra thread. Every event
becomes one or two ``{type, data}`` messages, serialised once and fanned out
through the hub's bounded per-client queues.

Under gunicorn's gthread worker every open WebSocket holds one worker thread for
its whole life (and simple-websocket adds a reader thread), so ``max_clients``
caps the sockets one worker serves; past it a new one is refused with 503 before
the upgrade, so sign-ins keep their threads.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Final

from authkit.live import DEFAULT_QUEUE_SIZE, Event, EventSource, Hub, Subscription

USER_CHANGE_PREFIX: Final = "admin.user"
"""Audit events whose name starts with this are also pushed as ``user_change``."""

_log = logging.getLogger("authkit_flask.live")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as sent (JSON text), and whether it may change someone's access."""

    text: str
    user_change: bool = False


def messages_for(event: Event) -> list[Outgoing]:
    """The messages an audit event becomes: ``audit``, plus ``user_change`` for user edits."""
    name = event.get("event")
    changes_users = isinstance(name, str) and name.startswith(USER_CHANGE_PREFIX)
    messages = [Outgoing(_dump({"type": "audit", "data": event}), changes_users)]
    if changes_users:
        messages.append(Outgoing(_dump({"type": "user_change", "data": event}), True))
    return messages


def _dump(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str)


class LiveUpdates:
    """A ``Hub`` of connected admins and the ``EventSource`` that feeds it.

    ``recheck_seconds``: how often an open socket re-validates its token and the
    user's admin role (also done at once on every ``user_change``);
    ``first_message_timeout``: how long a socket without ``?access_token=`` may
    take to send ``{"access_token": ...}``; ``send_timeout``: how long one send
    to a client that stopped reading may block before the client is dropped;
    ``ping_interval``: WebSocket pings that find dead connections.

    Sockets still waiting for their token are strangers until they send it, so
    they get a budget of their own inside ``max_clients``: at most
    ``max_pending_per_address`` per client address, and never the last place
    (``max_clients - 1`` in all, when there are two places or more). Anonymous
    sockets reopened in a loop can then never starve an admin who authenticates
    with ``?access_token=`` (security probe, finding 4).
    """

    def __init__(
        self,
        source: EventSource,
        *,
        max_clients: int | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        recheck_seconds: float = 5.0,
        first_message_timeout: float = 3.0,
        send_timeout: float = 5.0,
        ping_interval: float | None = 25.0,
        max_pending_per_address: int = 1,
    ) -> None:
        if recheck_seconds <= 0 or first_message_timeout <= 0 or send_timeout <= 0:
            raise ValueError("recheck_seconds, first_message_timeout and send_timeout must be > 0.")
        if max_pending_per_address < 1:
            raise ValueError("max_pending_per_address must be at least 1.")
        self.source = source
        self.hub: Hub[Outgoing] = Hub(queue_size=queue_size, max_subscribers=max_clients)
        self.recheck_seconds = recheck_seconds
        self.first_message_timeout = first_message_timeout
        self.send_timeout = send_timeout
        self.ping_interval = ping_interval
        self._lock = threading.Lock()
        self._started = False
        self._stopped = False
        self._pending = 0
        self._pending_by_address: dict[str, int] = {}
        self.max_pending_per_address = max_pending_per_address

    def __repr__(self) -> str:
        return f"LiveUpdates({self.source!r}, clients={len(self.hub)})"

    @property
    def full(self) -> bool:
        """No room for another socket.

        Subscribers and sockets still waiting for their first message both hold
        a gunicorn thread, so both count.
        """
        cap = self.hub.max_subscribers
        return self.hub.full or (cap is not None and len(self.hub) + self._pending >= cap)

    @property
    def max_pending(self) -> int | None:
        """How many sockets may wait for their token at once: all places but one."""
        cap = self.hub.max_subscribers
        return None if cap is None else max(1, cap - 1)

    def reserve_pending(self, address: str) -> bool:
        """Hold a place for a socket from ``address`` that will send its token first.

        Without this, unauthenticated upgrades could each hold a worker thread for
        ``first_message_timeout`` while the cap, which counts subscribers only, let
        more in; the per-address and total budgets keep strangers from taking
        every place.
        """
        with self._lock:
            if self._stopped or self.full:
                return False
            limit = self.max_pending
            if limit is not None and self._pending >= limit:
                return False
            if self._pending_by_address.get(address, 0) >= self.max_pending_per_address:
                return False
            self._pending += 1
            self._pending_by_address[address] = self._pending_by_address.get(address, 0) + 1
            return True

    def release_pending(self, address: str) -> None:
        with self._lock:
            self._pending = max(0, self._pending - 1)
            left = self._pending_by_address.get(address, 0) - 1
            if left > 0:
                self._pending_by_address[address] = left
            else:
                self._pending_by_address.pop(address, None)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def subscribe(self) -> Subscription[Outgoing]:
        """Start the source if needed, then join the hub (``HubFull`` when at capacity)."""
        self.ensure_started()
        return self.hub.subscribe()

    def ensure_started(self) -> None:
        with self._lock:
            if self._started or self._stopped:
                return
            self.source.start(self.dispatch)
            self._started = True

    def dispatch(self, event: Event) -> None:
        """Fan one audit event out to every connected admin (never blocks on them)."""
        for message in messages_for(event):
            self.hub.publish(message)

    def shutdown(self, timeout: float | None = 2.0) -> None:
        """Close every socket (1001, going away) and stop the source; for graceful exit."""
        with self._lock:
            self._stopped = True
        self.hub.close()
        self.source.stop(timeout)


__all__ = ["USER_CHANGE_PREFIX", "LiveUpdates", "Outgoing", "messages_for"]
