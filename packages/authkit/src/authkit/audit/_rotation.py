"""An append-only line writer that several processes can share, with rotation.

Gunicorn runs several worker processes that all write the same audit and system
log. Python's ``logging.handlers.RotatingFileHandler`` is not safe there: each
process rotates on its own and keeps writing into the renamed file, so lines end
up in the wrong archive or vanish when it is compressed. This writer fixes that:

* every line goes out in one ``os.write`` on a descriptor opened with
  ``O_APPEND``, so the kernel places it at the current end of file and concurrent
  writers never overwrite each other. POSIX promises atomicity only for pipes up
  to ``PIPE_BUF`` bytes; for regular files Linux holds the inode lock for the whole
  write, so in practice a single write of any size is not interleaved on a local
  file system (ext4, xfs, btrfs, tmpfs). NFS gives no such promise: keep logs local.
* writers hold a shared ``fcntl.flock`` on ``<path>.lock`` while they check that
  their descriptor still refers to ``<path>`` (same device and inode) and write;
  rotation takes the lock exclusively. So no write can land in a file after it has
  been renamed, compressed or purged, and a process whose file was rotated by
  another reopens ``<path>`` before writing.
* threads of one process are serialised by a ``threading.Lock``; descriptors are
  reopened in a forked child, because ``flock`` locks belong to the open file
  description, which a fork shares.

External rotators (logrotate) do not take the lock: let this writer rotate.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import re
import shutil
import threading
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from authkit.clock import Clock, SystemClock
from authkit.errors import ConfigurationError

_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
_FILE_MODE = 0o640


@dataclass(frozen=True, kw_only=True)
class RotationPolicy:
    """When to start a new file and which archives to keep.

    ``None`` switches a rule off. Sizes are checked before each line, so a file
    stops growing at ``max_bytes`` (give or take lines written concurrently by other
    processes); one line larger than ``max_bytes`` still goes out whole. Age is the
    time since the file was started, by the injected clock. ``backup_count=0``
    purges at once instead of archiving.
    """

    max_bytes: int | None = 10 * 1024 * 1024
    max_age_seconds: int | None = None
    backup_count: int | None = 10
    retention_seconds: int | None = None
    compress: bool = True

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_age_seconds", "retention_seconds"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or value <= 0):
                raise ConfigurationError(f"{name} must be a positive integer or None.", field=name)
        if self.backup_count is not None and (
            isinstance(self.backup_count, bool) or self.backup_count < 0
        ):
            raise ConfigurationError(
                "backup_count must be a non-negative integer or None.", field="backup_count"
            )


_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


def _archive_pattern(path: Path) -> re.Pattern[str]:
    stem, suffix = re.escape(path.stem), re.escape(path.suffix)
    return re.compile(rf"{stem}\.(\d{{8}}T\d{{6}}Z)(?:\.(\d+))?{suffix}(\.gz)?")


def _scan(path: Path) -> list[tuple[str, int, Path]]:
    pattern = _archive_pattern(path)
    try:
        matches = [(pattern.fullmatch(e.name), e.path) for e in os.scandir(path.parent)]
    except FileNotFoundError:
        return []
    return sorted((m[1], int(m[2] or 0), Path(p)) for m, p in matches if m)


def list_archives(path: Path) -> list[Path]:
    """The archives of ``path``, oldest first.

    Names are ``<stem>.<UTC time>[.<n>]<suffix>[.gz]`` (``auth.20260101T120000Z.jsonl.gz``),
    where ``n`` counts rotations within one second; ordering is by the parsed
    (time, n), not by the raw name, which would put ``.1`` before the bare name.
    """
    return [archive for _, _, archive in _scan(path)]


def _archive_path(path: Path, now: datetime) -> Path:
    """The next archive name: this second's stamp, counted past the newest archive of it.

    The counter continues from the highest one still on disk rather than taking
    the first free one: with ``backup_count`` purging the oldest archives of the
    same second, a free low counter would give a newer file an older name, so the
    reader, the purge and ``JsonlFollower`` would all see the archives out of order.
    """
    stamp = now.astimezone(UTC).strftime(_STAMP_FORMAT)
    taken = [n for when, n, _ in _scan(path) if when == stamp]
    n = max(taken) + 1 if taken else 0
    while True:
        name = f"{path.stem}.{stamp}{f'.{n}' if n else ''}{path.suffix}"
        candidate = path.with_name(name)
        if not candidate.exists() and not candidate.with_name(name + ".gz").exists():
            return candidate
        n += 1


def _compress(archive: Path) -> Path:
    """Gzip ``archive``; on failure (disk full) the plain archive stays, still readable."""
    target = archive.with_name(archive.name + ".gz")
    partial = archive.with_name(archive.name + ".gz.partial")
    try:
        with archive.open("rb") as source, gzip.open(partial, "wb", compresslevel=6) as sink:
            shutil.copyfileobj(source, sink)
        os.replace(partial, target)
    except OSError:
        partial.unlink(missing_ok=True)
        return archive
    archive.unlink()
    return target


def _purge(path: Path, policy: RotationPolicy, now: datetime) -> list[Path]:
    """Delete archives beyond ``backup_count`` or older than ``retention_seconds``."""
    archives = _scan(path)
    excess = 0 if policy.backup_count is None else max(len(archives) - policy.backup_count, 0)
    doomed = [archive for _, _, archive in archives[:excess]]
    if policy.retention_seconds is not None:
        horizon = now - timedelta(seconds=policy.retention_seconds)
        stamp = horizon.astimezone(UTC).strftime(_STAMP_FORMAT)  # fixed width: sorts as text
        doomed += [archive for when, _, archive in archives[excess:] if when < stamp]
    for archive in doomed:
        archive.unlink(missing_ok=True)
    return doomed


_SYSTEM_CLOCK = SystemClock()
_live_writers: weakref.WeakSet[RotatingFileWriter] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A lock held by another thread at fork time would stay locked forever.
    for writer in list(_live_writers):
        writer._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


class RotatingFileWriter:
    """Appends whole lines to ``path``, rotating by ``policy``; shared by any processes."""

    def __init__(
        self, path: Path, *, rotation: RotationPolicy | None = None, clock: Clock = _SYSTEM_CLOCK
    ) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.rotation = rotation
        self._clock = clock
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._pid = 0
        self._identity: tuple[int, int] | None = None
        self._started: tuple[tuple[int, int], float] | None = None
        _live_writers.add(self)

    def __repr__(self) -> str:
        return f"RotatingFileWriter({str(self.path)!r}, rotation={self.rotation!r})"

    def __enter__(self) -> RotatingFileWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the descriptors; a later ``write`` opens them again."""
        with self._lock:
            self._close_fds()

    def write(self, line: bytes) -> None:
        r"""Append one line (it should end with ``\n``) in a single write.

        ``OSError`` (disk full, permissions) propagates: an audit trail that
        silently stops is worse than a visible failure.
        """
        with self._lock:
            lock_fd = self._lock_fd_for_this_process()
            fcntl.flock(lock_fd, fcntl.LOCK_SH)
            try:
                self._follow_path()
                if self._due(len(line), self._clock.now()):
                    # flock cannot upgrade atomically: decide again under LOCK_EX.
                    fcntl.flock(lock_fd, fcntl.LOCK_EX)
                    self._follow_path()
                    self._started = None  # another process may have restarted this file
                    now = self._clock.now()
                    action = self._due(len(line), now)
                    if action == "rotate":
                        self._rotate()
                    elif action == "restart":
                        self._record_start(now)
                self._write_all(line)
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    def rotate(self) -> Path | None:
        """Rotate now if the file is not empty; the archive path, or None if purged/empty."""
        with self._lock:
            lock_fd = self._lock_fd_for_this_process()
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            try:
                self._follow_path()
                return self._rotate() if self._size() > 0 else None
            finally:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

    # -- under the flock ------------------------------------------------------------

    def _lock_fd_for_this_process(self) -> int:
        """The lock file descriptor, opened anew after a fork (see the module docstring)."""
        if self._lock_fd is None or self._pid != os.getpid():
            self._close_fds()
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._lock_fd = os.open(
                self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE
            )
            self._pid = os.getpid()
        return self._lock_fd

    def _close_fds(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock_fd = None
        self._identity = None

    def _follow_path(self) -> None:
        """Reopen ``path`` if it was renamed or deleted since this process opened it."""
        try:
            st = os.stat(self.path)
            current: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            current = None
        if self._fd is not None and current is not None and current == self._identity:
            return
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self.path, _OPEN_FLAGS, _FILE_MODE)
        st = os.fstat(self._fd)
        self._identity = (st.st_dev, st.st_ino)

    def _size(self) -> int:
        assert self._fd is not None
        return os.fstat(self._fd).st_size

    def _write_all(self, line: bytes) -> None:
        assert self._fd is not None
        written = os.write(self._fd, line)
        # A regular file only writes short on ENOSPC-like conditions; finish the line.
        while written < len(line):
            written += os.write(self._fd, line[written:])

    def _started_at(self) -> float | None:
        """When the current file was started, as recorded in the lock file (by the clock)."""
        if self._started is not None and self._started[0] == self._identity:
            return self._started[1]
        assert self._lock_fd is not None
        raw = os.pread(self._lock_fd, 64, 0).decode("ascii", "replace").split()
        try:
            dev, ino, started = int(raw[0]), int(raw[1]), float(raw[2])
        except (IndexError, ValueError):
            return None
        if (dev, ino) != self._identity:
            return None
        self._started = ((dev, ino), started)
        return started

    def _record_start(self, now: datetime) -> None:
        assert self._lock_fd is not None
        assert self._identity is not None
        stamp = now.timestamp()
        os.ftruncate(self._lock_fd, 0)
        os.pwrite(self._lock_fd, f"{self._identity[0]} {self._identity[1]} {stamp!r}\n".encode(), 0)
        self._started = (self._identity, stamp)

    def _due(self, incoming: int, now: datetime) -> Literal["rotate", "restart", None]:
        """What a line of ``incoming`` bytes needs first: a rotation, a new start time, nothing.

        An empty file is never archived when it ages: its start time is reset instead.
        """
        policy = self.rotation
        if policy is None:
            return None
        size = self._size()
        if policy.max_bytes is not None and size > 0 and size + incoming > policy.max_bytes:
            return "rotate"
        if policy.max_age_seconds is None:
            return None
        started = self._started_at()
        if started is None:
            return "restart"
        if now.timestamp() - started < policy.max_age_seconds:
            return None
        return "rotate" if size > 0 else "restart"

    def _rotate(self) -> Path | None:
        policy = self.rotation or _KEEP_EVERYTHING
        now = self._clock.now()
        target = _archive_path(self.path, now)
        os.rename(self.path, target)
        self._follow_path()
        if policy.max_age_seconds is not None:
            self._record_start(now)
        if policy.compress:
            target = _compress(target)
        removed = _purge(self.path, policy, now)
        return None if target in removed else target


_KEEP_EVERYTHING = RotationPolicy(max_bytes=None, backup_count=None, compress=False)

__all__ = ["RotatingFileWriter", "RotationPolicy", "list_archives"]
