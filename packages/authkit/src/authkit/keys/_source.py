"""Where verifiers and issuers get the current key ring.

A rotated ring must reach running workers without a restart, so the file-backed
source re-reads the file when its modification time changes, checking at most
once per ``check_interval`` seconds (a ``stat`` call, not a read, per check).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from authkit.keys._file import KeyRingFile
from authkit.keys._ring import KeyRing


class KeyRingSource(Protocol):
    """Where issuers and verifiers get the current key ring."""

    def current(self) -> KeyRing: ...

    def refresh(self) -> KeyRing:
        """Reload now if the backing store may have changed (an unknown ``kid`` was seen)."""
        ...


class StaticKeyRingSource:
    """A ring that never changes (tests, one process)."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring

    def current(self) -> KeyRing:
        return self.ring

    def refresh(self) -> KeyRing:
        return self.ring


class FileKeyRingSource:
    """The ring of a ``KeyRingFile``, reloaded when the file changes.

    The file is checked at most every ``check_interval`` seconds.
    """

    def __init__(self, file: KeyRingFile, *, check_interval: float = 1.0) -> None:
        self._file = file
        self._interval = check_interval
        self._lock = threading.Lock()
        self._ring = file.load_or_create()
        self._fingerprint = file.fingerprint()
        self._checked = time.monotonic()

    def current(self) -> KeyRing:
        if time.monotonic() - self._checked >= self._interval:
            return self.refresh()
        return self._ring

    def refresh(self) -> KeyRing:
        with self._lock:
            if time.monotonic() - self._checked < min(self._interval, 0.2):
                return self._ring  # rate limit: unknown kids cannot force a read storm
            self._checked = time.monotonic()
            fingerprint = self._file.fingerprint()
            if fingerprint is not None and fingerprint != self._fingerprint:
                self._ring = self._file.load()
                self._fingerprint = fingerprint
            return self._ring


__all__ = ["FileKeyRingSource", "KeyRingSource", "StaticKeyRingSource"]
