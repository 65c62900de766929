"""The key ring file: a JWK Set on disk, written atomically with mode 0600.

Several workers may start at once; creation happens under an exclusive lock so
exactly one ring is made, and every write goes through a temporary file and
``os.replace`` so a reader never sees half a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from authkit.clock import Clock, SystemClock
from authkit.errors import KeyRingError
from authkit.keys._ring import DEFAULT_ALGORITHM, KeyRing
from authkit.keys._signing_key import Algorithm


class KeyRingFile:
    """The key ring's JWK Set file: read, written atomically (mode 0600) under a lock."""

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock = clock or SystemClock()

    def load(self) -> KeyRing:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise KeyRingError(f"Key ring file {self.path} does not exist.") from exc
        except UnicodeDecodeError as exc:
            raise KeyRingError(f"Key ring file {self.path} is not UTF-8 text.") from exc
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise KeyRingError(f"Key ring file {self.path} is not valid JSON.") from exc
        return KeyRing.from_jwk_set(data)

    def fingerprint(self) -> tuple[int, int, int] | None:
        """The file's (inode, mtime, size).

        Every save replaces the file, so the inode changes even when two saves
        land within one timestamp tick.
        """
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def save(self, ring: KeyRing) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = json.dumps(ring.to_jwk_set(), indent=2).encode()
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                os.fchmod(handle.fileno(), 0o600)
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load_or_create(self, alg: Algorithm = DEFAULT_ALGORITHM) -> KeyRing:
        """Load the ring, creating one with a single active key when the file is absent.

        An existing ring is read without the lock, so a ring mounted read-only as a
        secret works (no lock file can be made beside it).
        """
        if self.path.exists():
            return self.load()
        with self.locked():
            if self.path.exists():
                return self.load()
            ring = KeyRing.generate(alg, now=self._clock.now())
            self.save(ring)
            return ring

    @contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive inter-process lock for read-modify-write of the ring."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        # 0600 like the ring: the lock file holds nothing, but nobody else needs it.
        with os.fdopen(
            os.open(lock_path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600), "a"
        ) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


__all__ = ["KeyRingFile"]
