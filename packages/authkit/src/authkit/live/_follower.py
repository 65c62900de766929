r"""Following a JSONL log as it grows, across rotation: the embedded fan-out.

Without Redis, the gunicorn workers of one host still share one thing: the audit
log file that ``RotatingFileWriter`` appends to. Each worker follows it the way
``tail -F`` does, so an event written by any worker reaches the admins connected
to every worker within one poll interval, with no extra service to run.

Rotation is detected by identity: when ``path`` names another inode than the open
descriptor, the old file is read to its end first (writers switch files under the
rotation lock, so the old one can no longer grow) and then the new one from its
start. The descriptor stays valid after the old file is renamed, compressed or
purged, so no line is lost across a rotation. A line is only handed out once its
``\n`` has arrived; a file that shrinks in place (truncated) is read again from
its start. A file started and rotated away again between two polls is never
opened (that takes more than ``max_bytes`` of events within one poll interval,
50 MB/s at the defaults); its events stay in the archive for the log viewer.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Final

from authkit.audit._reader import parse_line
from authkit.live._source import BackgroundLoop, Deliver

DEFAULT_POLL_INTERVAL: Final = 0.2
"""Seconds between polls: well inside the one-second delivery promise, cheap (one stat)."""

_CHUNK: Final = 64 * 1024
_MAX_READ_PER_POLL: Final = 4 * 1024 * 1024

_log = logging.getLogger("authkit.live")


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


class JsonlFollower:
    """Returns the complete lines appended to ``path`` since the last ``poll``.

    ``from_start=False`` (the default) skips what the file holds when first
    opened: a live view starts now. A file that does not exist yet is read from
    its start once it appears. Not thread-safe: one poller per follower.
    """

    def __init__(self, path: Path, *, from_start: bool = False) -> None:
        self.path = Path(path)
        self._skip_existing = not from_start
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._position = 0
        self._partial = b""

    def __enter__(self) -> JsonlFollower:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._fd = None
        self._identity = None

    def poll(self) -> list[str]:
        """New complete lines (without their line break), oldest first."""
        lines: list[str] = []
        if self._fd is None:
            self._open()
            if self._fd is None:
                return lines
        lines += self._drain(_MAX_READ_PER_POLL)
        current = _identity(self.path)
        if current != self._identity:
            # Rotated or deleted: the old file is complete, finish it, then switch.
            lines += self._drain(None)
            if self._partial:
                lines.append(_decode(self._partial))  # a torn last line: still shown
                self._partial = b""
            self.close()
            self._skip_existing = False
            self._open()
            if self._fd is not None:
                lines += self._drain(_MAX_READ_PER_POLL)
        elif self._fd is not None and os.fstat(self._fd).st_size < self._position:
            self._position, self._partial = 0, b""  # truncated in place
            lines += self._drain(_MAX_READ_PER_POLL)
        return lines

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._skip_existing = False  # whatever appears later is new
            return
        st = os.fstat(fd)
        self._fd, self._identity = fd, (st.st_dev, st.st_ino)
        self._position = st.st_size if self._skip_existing else 0
        self._partial = b""
        self._skip_existing = False

    def _drain(self, budget: int | None) -> list[str]:
        assert self._fd is not None
        chunks = [self._partial]
        read = 0
        while budget is None or read < budget:
            chunk = os.pread(self._fd, _CHUNK, self._position)
            if not chunk:
                break
            self._position += len(chunk)
            read += len(chunk)
            chunks.append(chunk)
        data = b"".join(chunks)
        *complete, self._partial = data.split(b"\n")
        return [_decode(raw) for raw in complete if raw.strip()]


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


class FileEventSource:
    """An ``EventSource`` following a JSONL audit log from one daemon thread.

    Lines that are not JSON objects (a torn or foreign line) are skipped: the live
    view pushes events, and the log viewer still shows such lines marked.
    """

    def __init__(self, path: Path, *, interval: float = DEFAULT_POLL_INTERVAL) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive.")
        self.path = Path(path)
        self.interval = interval
        self._lock = threading.Lock()
        self._follower: JsonlFollower | None = None
        self._deliver: Deliver | None = None
        self._loop = BackgroundLoop(f"authkit-live-follow[{self.path.name}]", self._step)

    def __repr__(self) -> str:
        return f"FileEventSource({str(self.path)!r})"

    def start(self, deliver: Deliver) -> None:
        with self._lock:
            if self._loop.running:
                return
            self._deliver = deliver
            self._follower = JsonlFollower(self.path)
            self._follower.poll()  # opens at the current end: later events are delivered
            self._loop.start()

    def stop(self, timeout: float | None = None) -> None:
        with self._lock:
            self._loop.stop(timeout)
            if self._follower is not None and not self._loop.running:
                self._follower.close()
                self._follower = None

    def _step(self, stopping: threading.Event) -> None:
        follower, deliver = self._follower, self._deliver
        if follower is None or deliver is None or stopping.wait(self.interval):
            return
        for line in follower.poll():
            event = parse_line(line)
            if event.get("parse_error"):
                _log.debug("skipped a line that is not a JSON object in %s", self.path)
                continue
            try:
                deliver(event)
            except Exception:  # one bad delivery must not lose the events after it
                _log.exception("live-update delivery failed for one event")


__all__ = ["DEFAULT_POLL_INTERVAL", "FileEventSource", "JsonlFollower"]
