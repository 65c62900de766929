"""A per-process view of "this user, this session: still good?" for bearer checks.

Every authenticated request must know that its user is active (with its current
roles) and that its session (the refresh family, claim ``sid``) is still live.
Asking the database costs one query per request, most of a request's time once
the rest is lean. ``SessionCache`` keeps the answer for a short time instead,
and drops it the moment anything may have changed it:

* **At once on this host.** Every change that can end or alter a session is an
  audit event (logout, logout-all, token reuse, password change or reset, a
  deactivation, a role or MFA change, a deletion). The cache listens to its
  process's audit logger and, on such an event, *bumps an epoch*. With a
  ``FileEpoch`` the epoch is 8 bytes of a file in the instance folder that
  every worker of the host reads on every bearer check: one worker's bump is
  seen by every other worker's next request, so a logout answered by one worker
  ends the token on all of them before the client can send another request.
  Reading it costs one ``pread`` of 8 bytes, not a query.
* **Across hosts, as fast as the event bus.** ``follow`` subscribes the cache to
  an ``authkit.live`` event source (Redis pub/sub when hosts share one), so an
  event made on another host bumps this host's epoch too.
* **Within ``ttl_seconds`` in any case.** Each entry expires (default 0.5 s,
  at most 1 s), so a lost message or an out-of-band change (SQL by hand, a
  process without the cache) is seen within that bound. ``ttl_seconds=0``
  turns the cache off: every request reads the database.

Only good answers are kept (an active user and a live session): a refusal is
always read again, so a revoked token costs what it cost before. An entry
carries the epoch it was read under and counts only while that epoch is
current, so a read that raced a change can never be served after it.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any, Final, Protocol

from authkit.errors import ConfigurationError
from authkit.users._model import User

MAX_TTL_SECONDS: Final = 1.0
"""The longest an entry may live: the contract ends a revoked session within a second."""

HARMLESS_EVENTS: Final = frozenset(
    {
        "login",
        "login.throttled",
        "register",
        "register.throttled",
        "mfa.verify",
        "password.forgot",
        "password.reset_link",
        "email.verify_request",
        "email.change_request",
    }
)
"""Audit events that never end or alter an existing session, whatever their outcome.

Sign-ins, registrations and the requests for emailed links are the frequent
events, and anyone can cause them: letting them bump the epoch would let an
anonymous client empty every worker's cache at will. Every event not listed
here or in ``HARMLESS_OUTCOMES`` bumps, so an event added later is safe by default.
"""

HARMLESS_OUTCOMES: Final[dict[str, frozenset[str]]] = {
    "token.refresh": frozenset({"success", "failure"}),
    "password.reset": frozenset({"failure"}),
    "email.verify": frozenset({"failure"}),
    "email.change": frozenset({"failure"}),
}
"""Outcomes of other events that change nothing: a rotation, or a refused link or token.

Not ``token.refresh`` ``denied`` (a password-only session revoked once the
account gained MFA), nor ``token.reuse_detected`` (the family is revoked).
"""

_EPOCH_BYTES: Final = 8


class SessionEpoch(Protocol):
    """A value that changes whenever a cached session answer may have become wrong."""

    def read(self) -> bytes:
        """The current value (compared for equality only)."""

    def bump(self) -> None:
        """Change the value: every cached answer read before now stops counting."""


class MemoryEpoch:
    """An epoch for one process (tests, a single-process server)."""

    def __init__(self) -> None:
        self._counter = count(1)
        self._value = b"\0" * _EPOCH_BYTES

    def read(self) -> bytes:
        return self._value

    def bump(self) -> None:
        self._value = next(self._counter).to_bytes(_EPOCH_BYTES, "big")


class FileEpoch:
    """An epoch shared by every process of a host: the first 8 bytes of ``path``.

    Each bump writes fresh random bytes, so concurrent bumps from several
    processes need no lock: any write makes the value differ from what a reader
    saw, which is all a reader asks. A read is one ``pread`` on a descriptor kept
    open (no ``mmap``: a file truncated under it cannot crash the process). The
    file is created with mode 0600; a symbolic link or anything but a regular
    file of this user is refused. At most every ``check_interval`` seconds the
    path is compared with the open file: if it was deleted or replaced, it is
    opened (or created) anew, and that change counts as a bump, so processes
    never go on reading different files.
    """

    def __init__(self, path: Path | str, *, check_interval: float = 1.0) -> None:
        self.path = Path(path).absolute()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._check_interval = check_interval
        self._lock = threading.Lock()
        self._fd = self._open()
        self._checked = time.monotonic()

    def __repr__(self) -> str:
        return f"FileEpoch({str(self.path)!r})"

    def read(self) -> bytes:
        if time.monotonic() - self._checked >= self._check_interval:
            self._follow_path()
        return os.pread(self._fd, _EPOCH_BYTES, 0)

    def bump(self) -> None:
        os.pwrite(self._fd, os.urandom(_EPOCH_BYTES), 0)

    def close(self) -> None:
        """Close the file; later reads and bumps fail."""
        os.close(self._fd)

    def _open(self) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
                raise ConfigurationError(
                    f"{self.path} must be a regular file owned by this user.",
                    field="session_epoch",
                )
            if info.st_mode & 0o077:
                os.fchmod(fd, 0o600)
            if info.st_size < _EPOCH_BYTES:
                os.pwrite(fd, os.urandom(_EPOCH_BYTES), 0)
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _follow_path(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked < self._check_interval:
                return
            self._checked = time.monotonic()
            try:
                on_disk = os.stat(self.path, follow_symlinks=False)
                current = os.fstat(self._fd)
                same = (on_disk.st_dev, on_disk.st_ino) == (current.st_dev, current.st_ino)
            except FileNotFoundError:
                same = False
            if same:
                return
            old, self._fd = self._fd, self._open()
            os.close(old)


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionCacheConfig:
    """How long a bearer check may reuse a database answer; ``ttl_seconds=0``: never.

    ``max_entries`` bounds the memory (each entry is one user object, ~1 KB):
    when full, the oldest entry goes.
    """

    ttl_seconds: float = 0.0
    max_entries: int = 10_000

    def __post_init__(self) -> None:
        ttl = self.ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, int | float):
            raise ConfigurationError("ttl_seconds must be a number.", field="ttl_seconds")
        if not 0 <= ttl <= MAX_TTL_SECONDS:
            raise ConfigurationError(
                f"ttl_seconds must be between 0 (off) and {MAX_TTL_SECONDS:g}: a revoked "
                "session must end within a second.",
                field="ttl_seconds",
            )
        if type(self.max_entries) is not int or self.max_entries < 1:
            raise ConfigurationError("max_entries must be an integer >= 1.", field="max_entries")

    @property
    def enabled(self) -> bool:
        """Whether answers are kept at all."""
        return self.ttl_seconds > 0


class _Source(Protocol):
    def start(self, deliver: Callable[[dict[str, Any]], object]) -> None: ...

    def stop(self, timeout: float | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class SessionMark:
    """What ``SessionCache.mark`` saw before a database read: the epoch and the time."""

    epoch: bytes
    at: float


_Key = tuple[str, str | None]
_Entry = tuple[float, bytes, User]


class SessionCache:
    """Good bearer-check answers, per ``(user id, session id)``, for up to ``ttl_seconds``.

    ``mark()`` before reading the database, ``put(..., mark)`` after: an answer
    read while the epoch changed is never stored. ``observe`` is an audit-event
    listener (``AuditLogger.add_listener``) and an event-source callback.
    """

    def __init__(
        self,
        config: SessionCacheConfig,
        *,
        epoch: SessionEpoch | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.epoch: SessionEpoch = epoch or MemoryEpoch()
        self._ttl = float(config.ttl_seconds)
        self._max = config.max_entries
        self._monotonic = monotonic
        self._entries: dict[_Key, _Entry] = {}
        self._lock = threading.Lock()
        self._sources: list[_Source] = []

    def __repr__(self) -> str:
        return f"SessionCache(ttl_seconds={self._ttl:g}, entries={len(self._entries)})"

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def enabled(self) -> bool:
        """Whether answers are kept at all (``ttl_seconds > 0``)."""
        return self._ttl > 0

    def get(self, user_id: str, session_id: str | None) -> User | None:
        """The cached user of a good answer still current, else None (read the database)."""
        entry = self._entries.get((user_id, session_id))
        if entry is None:
            return None
        expires, epoch, user = entry
        if epoch != self.epoch.read() or self._monotonic() >= expires:
            self._entries.pop((user_id, session_id), None)
            return None
        return user

    def mark(self) -> SessionMark:
        """The epoch and the time now: take it before reading the database, give it to ``put``."""
        return SessionMark(epoch=self.epoch.read(), at=self._monotonic())

    def put(self, user_id: str, session_id: str | None, user: User, mark: SessionMark) -> None:
        """Keep a good answer read after ``mark`` (dropped if the epoch moved since).

        Its life counts from the mark, not from now: the answer is the database's
        as of the read, so a slow read does not stretch it past ``ttl_seconds``.
        """
        if not self._ttl or mark.epoch != self.epoch.read():
            return
        entry = (mark.at + self._ttl, mark.epoch, user)
        with self._lock:
            entries = self._entries
            if len(entries) >= self._max and (user_id, session_id) not in entries:
                self._evict(entries)
            entries[(user_id, session_id)] = entry

    def invalidate(self) -> None:
        """Drop every answer, on every process sharing the epoch."""
        self.epoch.bump()
        with self._lock:
            self._entries = {}

    def observe(self, event: Mapping[str, Any]) -> None:
        """An audit event happened (here or, through ``follow``, anywhere): bump if it matters."""
        name = event.get("event")
        if name in HARMLESS_EVENTS:
            return
        harmless = HARMLESS_OUTCOMES.get(name) if isinstance(name, str) else None
        if harmless is not None and event.get("outcome") in harmless:
            return
        self.invalidate()

    def follow(self, source: _Source) -> None:
        """Observe every event of ``source`` (an ``authkit.live`` event source) until ``close``."""
        source.start(self.observe)
        self._sources.append(source)

    def close(self, timeout: float | None = 2.0) -> None:
        """Stop the followed sources."""
        sources, self._sources = self._sources, []
        for source in sources:
            source.stop(timeout)

    def _evict(self, entries: dict[_Key, _Entry]) -> None:
        """Make room: expired entries first, else the oldest tenth (insertion order)."""
        now = self._monotonic()
        # A snapshot (one C-level copy): ``get`` removes entries without the lock.
        stale = [key for key, (expires, _e, _u) in list(entries.items()) if expires <= now]
        if not stale:
            stale = list(entries)[: max(1, self._max // 10)]
        for key in stale:
            entries.pop(key, None)


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
