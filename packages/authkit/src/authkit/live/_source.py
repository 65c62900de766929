"""What feeds a live hub: a source of audit events shared by every process.

Each process of a service keeps its own ``Hub`` of connected admins, but an event
may happen in any process (any gunicorn worker, any host). An ``EventSource``
brings every process's events into this one: the embedded default follows the
shared audit log file, the scaled-out one subscribes to Redis pub/sub. Both run
at most one daemon thread per process, started on demand and stoppable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias

Event: TypeAlias = dict[str, Any]
"""One live event: an audit event or a user change, as JSON."""
Deliver: TypeAlias = Callable[[Event], object]
"""The callback an ``EventSource`` hands each new event to."""

_log = logging.getLogger("authkit.live")


class EventSource(Protocol):
    """Where new events come from: a followed JSONL file (one host) or Redis pub/sub (many)."""

    def start(self, deliver: Deliver) -> None:
        """Start calling ``deliver`` with each new event, from a background thread.

        Returns once the source is listening, so an event made after ``start``
        returns is delivered (or after a short wait, when the backend is down and
        the source keeps retrying in the background).
        """

    def stop(self, timeout: float | None = None) -> None:
        """Stop delivering and wait up to ``timeout`` seconds for the thread to end."""


class BackgroundLoop:
    """One named daemon thread running ``step`` until stopped; the shared plumbing.

    Daemon, so a process that exits without calling ``stop`` is never held up by
    it; ``stop`` still ends it cleanly (tests, graceful shutdown). A ``step`` that
    raises is logged and retried after ``error_delay`` rather than killing the
    thread, since a live view that silently stops is the worst outcome.
    """

    def __init__(
        self,
        name: str,
        step: Callable[[threading.Event], None],
        *,
        error_delay: float = 1.0,
    ) -> None:
        self.name = name
        self._step = step
        self._error_delay = error_delay
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def stopping(self) -> threading.Event:
        return self._stop

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step(self._stop)
            except Exception:
                _log.exception("%s failed; retrying", self.name)
                self._stop.wait(self._error_delay)


__all__ = ["BackgroundLoop", "Deliver", "Event", "EventSource"]
