r"""Following a JSONL log as it grows, across rotation: the embedded fan-out.

Without Redis, the gunicorn workers of one host still share one thing: the audit
log file that ``RotatingFileWriter`` appends to. Each worker follows it the way
``tail -F`` does, so an event written by any worker reaches the admins connected
to every worker within one poll interval, with no extra service to run.

Rotation is detected by identity: when ``path`` names another inode than the open
descriptor, the old file is read to its end first (writers switch files under the
rotation lock, so the old one can no longer grow). The descriptor stays valid after
the old file is renamed, compressed or purged, so nothing written to it is lost.

Several rotations can happen between two polls (a small ``max_bytes``, a burst of
lines): the files started and rotated away meanwhile were never open here. So on
each switch the follower lists the archives (``list_archives``) and reads, oldest
first, every archive that was not there at the previous switch and is not the old
file itself (recognised by inode, or by its first bytes once compressed), and only
then opens the new file from its start. The listing and the open happen under a
shared lock on ``<path>.lock``, the writers' rotation lock, so no rotation can slip
between them. Only archives purged before the follower looks (more than
``backup_count`` rotations within one poll) are gone; they are gone for everyone.

A line is only handed out once its ``\n`` has arrived; a file that shrinks in
place (truncated) is read again from its start.
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from authkit.audit._reader import parse_line
from authkit.audit._rotation import list_archives
from authkit.live._source import BackgroundLoop, Deliver

DEFAULT_POLL_INTERVAL: Final = 0.2
"""Seconds between polls: well inside the one-second delivery promise, cheap (one stat)."""

_CHUNK: Final = 64 * 1024
_MAX_READ_PER_POLL: Final = 4 * 1024 * 1024
_HEAD_BYTES: Final = 4096
"""How much of a file's start identifies it once its archive is compressed (new inode)."""

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
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._skip_existing = not from_start
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._position = 0
        self._partial = b""
        self._archives: frozenset[str] | None = None  # archive names at the last switch

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
            lines += self._switch(previous=None)
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
            previous = self._fingerprint()
            self.close()
            self._skip_existing = False
            lines += self._switch(previous=previous)
            if self._fd is not None:
                lines += self._drain(_MAX_READ_PER_POLL)
        elif self._fd is not None and os.fstat(self._fd).st_size < self._position:
            self._position, self._partial = 0, b""  # truncated in place
            lines += self._drain(_MAX_READ_PER_POLL)
        return lines

    def _fingerprint(self) -> tuple[tuple[int, int], bytes] | None:
        """The open file's identity and first bytes, to find it among the archives."""
        if self._fd is None or self._identity is None:
            return None
        return self._identity, os.pread(self._fd, _HEAD_BYTES, 0)

    def _switch(self, previous: tuple[tuple[int, int], bytes] | None) -> list[str]:
        """Read the archives started since the last switch, then open ``path``.

        ``previous`` is the file just finished (already read to its end): it and
        any archive older than it are skipped.
        """
        with self._rotation_lock():
            archives = list_archives(self.path)
            names = [_plain_name(archive) for archive in archives]
            lines: list[str] = []
            known = self._archives
            if known is not None:
                unseen = [a for a, n in zip(archives, names, strict=True) if n not in known]
                if previous is not None:
                    for index, archive in enumerate(unseen):
                        if _is_same_file(archive, previous):
                            unseen = unseen[index + 1 :]
                            break
                for archive in unseen:
                    lines += _read_archive(archive)
            self._archives = frozenset(names)
            self._open()
        return lines

    @contextlib.contextmanager
    def _rotation_lock(self) -> Iterator[None]:
        """Hold the writers' lock shared, when there is one: no rotation meanwhile.

        A log written by something other than ``RotatingFileWriter`` has no lock
        file; it is followed the same way, without that guarantee.
        """
        try:
            fd = os.open(self.lock_path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

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


def _plain_name(archive: Path) -> str:
    """An archive's name without ``.gz``: compressing it does not make it new."""
    return archive.name.removesuffix(".gz")


def _is_same_file(archive: Path, previous: tuple[tuple[int, int], bytes]) -> bool:
    identity, head = previous
    try:
        if archive.suffix != ".gz":
            st = os.stat(archive)
            return (st.st_dev, st.st_ino) == identity
        if not head:
            return False
        with gzip.open(archive, "rb") as handle:
            return handle.read(len(head)) == head
    except (OSError, EOFError):
        return False


def _read_archive(archive: Path) -> list[str]:
    """The lines of a whole archive, plain or gzip; one purged meanwhile reads as empty."""
    try:
        if archive.suffix == ".gz":
            with gzip.open(archive, "rb") as handle:
                data = handle.read()
        else:
            data = archive.read_bytes()
    except FileNotFoundError:
        _log.warning("an archive was purged before it could be followed: %s", archive.name)
        return []
    except (OSError, EOFError) as exc:  # a torn gzip: what it holds is in the log viewer
        _log.warning("could not follow the archive %s: %s", archive.name, exc)
        return []
    return [_decode(raw) for raw in data.split(b"\n") if raw.strip()]


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
