"""Lines gathered in memory and appended in one write: for the per-request access log.

A request's access line is the one log line every request writes. Written one
by one, each costs a lock, an ``fstat`` and a ``write`` on the shared log file:
a large part of a fast request. ``BufferedLineWriter`` does what nginx's
``access_log ... buffer=64k flush=1s`` does: it keeps lines in memory and hands
them to the underlying writer (a ``RotatingFileWriter``, which keeps them whole
and rotates safely across processes) in one write when the buffer is full, when
``flush_interval`` has passed since the oldest buffered line, at exit and
before the process forks.

The trade is nginx's too: a process killed with SIGKILL loses at most
``flush_interval`` of access lines. Never buffer the audit log or error lines:
those must be on disk when the call returns.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import weakref
from typing import Final, Protocol

DEFAULT_BUFFER_BYTES: Final = 64 * 1024
"""Flush once this many bytes are buffered (nginx's ``buffer=64k``)."""
DEFAULT_FLUSH_INTERVAL: Final = 1.0
"""Flush at the latest this many seconds after a line was buffered (nginx's ``flush=1s``)."""

_log = logging.getLogger("authkit.audit")


class LineWriter(Protocol):
    """Where buffered lines end up: anything with ``write(bytes)`` (a ``RotatingFileWriter``)."""

    def write(self, line: bytes) -> None:
        """Append whole lines, in one write."""


class BufferedLineWriter:
    """Buffers lines for ``writer``; ``write`` is a list append until a flush is due."""

    def __init__(
        self,
        writer: LineWriter,
        *,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
    ) -> None:
        if type(buffer_bytes) is not int or buffer_bytes < 1:
            raise ValueError("buffer_bytes must be an integer >= 1.")
        if not 0 < flush_interval <= 60:
            raise ValueError("flush_interval must be in (0, 60] seconds.")
        self.writer = writer
        self.buffer_bytes = buffer_bytes
        self.flush_interval = flush_interval
        self._lines: list[bytes] = []
        self._size = 0
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        _live.add(self)

    def __repr__(self) -> str:
        return f"BufferedLineWriter({self.writer!r}, flush_interval={self.flush_interval:g})"

    def write(self, line: bytes) -> None:
        r"""Buffer one line (ending in ``\n``); written at the latest ``flush_interval`` later."""
        if self._closed:
            self.writer.write(line)
            return
        if self._thread is None or self._pid != os.getpid():
            self._start_flusher()
        with self._lock:
            self._lines.append(line)
            self._size += len(line)
            full = self._size >= self.buffer_bytes
        if full:
            self.flush()

    def flush(self) -> None:
        """Write every buffered line now, in one write.

        The buffer is swapped out under the short lock that ``write`` takes, and
        written under a second one: requests keep appending while a flush waits
        for the disk (under gunicorn's threads, holding the append lock across
        the write made every request of the worker queue behind it, and doubled
        the CPU a request cost). Flushes are serialised, so batches reach the
        file in the order they were buffered.
        """
        with self._write_lock:
            with self._lock:
                if not self._lines:
                    return
                data = b"".join(self._lines)
                self._lines = []
                self._size = 0
            try:
                self.writer.write(data)
            except OSError:
                # Disk full, permissions: say so on the system log's other handlers
                # (stderr) rather than raise into whichever request filled the buffer.
                _log.exception("could not write %d bytes of buffered log lines", len(data))

    def close(self) -> None:
        """Flush and stop the flusher thread; later writes go straight through."""
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2.0)
        self.flush()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._thread is not None and self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, name="authkit-log-flush", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._wake.wait(self.flush_interval):
            self.flush()

    def _forget_parent_lines(self) -> None:
        """In a forked child: the parent writes its own lines; start empty and unlocked."""
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._lines = []
        self._size = 0
        self._thread = None


_live: weakref.WeakSet[BufferedLineWriter] = weakref.WeakSet()


def flush_buffered_lines() -> None:
    """Flush every ``BufferedLineWriter`` of this process (at exit, before a fork, on demand)."""
    for writer in list(_live):
        writer.flush()


def _after_fork_in_child() -> None:
    for writer in list(_live):
        writer._forget_parent_lines()


atexit.register(flush_buffered_lines)
os.register_at_fork(before=flush_buffered_lines, after_in_child=_after_fork_in_child)

__all__ = [
    "DEFAULT_BUFFER_BYTES",
    "DEFAULT_FLUSH_INTERVAL",
    "BufferedLineWriter",
    "LineWriter",
    "flush_buffered_lines",
]
