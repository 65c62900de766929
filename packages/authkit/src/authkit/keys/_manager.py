"""``KeyManager``: the key ring as a service, for issuers, verifiers and operators.

It is the ``KeyRingSource`` that access tokens sign and verify with, and it owns
the operations on the ring: rotation (a new active key; the old one verifies
through the dual-key window) and retirement (keys whose window has passed, or a
named one), each written atomically under the ring's lock and audited. Keeping
them here, not in an app's CLI, means every adapter and tool rotates the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from authkit.audit._sink import AuditSink
from authkit.clock import Clock, SystemClock
from authkit.errors import KeyRingError
from authkit.keys._file import KeyRingFile
from authkit.keys._ring import DEFAULT_ALGORITHM, KeyRing
from authkit.keys._signing_key import Algorithm, SigningKey
from authkit.keys._source import FileKeyRingSource, KeyRingSource, StaticKeyRingSource

ROTATE_EVENT = "keys.rotate"
"""The audit event of a rotation (fields ``kid``, ``demoted``)."""
RETIRE_EVENT = "keys.retire"
"""The audit event of a retirement (fields ``kids``, and ``compromised``, ``activated`` for a leaked
key).
"""


class KeyManager:
    """The current ring (reloaded when its file changes), JWKS, rotate and retire.

    ``window`` is how long a demoted key must keep verifying: the longest
    access-token lifetime plus clock skew, after which no unexpired token can need
    it. Build one with ``in_memory`` or ``from_file``.
    """

    def __init__(
        self,
        source: KeyRingSource,
        *,
        window: timedelta,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
        file: KeyRingFile | None = None,
        reopen: Callable[[], KeyRingSource] | None = None,
    ) -> None:
        self._source = source
        self._file = file
        self._reopen = reopen
        self._window = window
        self._audit = audit
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()

    @classmethod
    def in_memory(
        cls,
        *,
        window: timedelta,
        alg: Algorithm = DEFAULT_ALGORITHM,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
    ) -> KeyManager:
        """A ring generated now and kept in this process (tests, one-process apps)."""
        clock = clock or SystemClock()
        source = StaticKeyRingSource(KeyRing.generate(alg, now=clock.now()))
        return cls(source, window=window, audit=audit, clock=clock)

    @classmethod
    def from_file(
        cls,
        file: KeyRingFile,
        *,
        window: timedelta,
        audit: AuditSink | None = None,
        clock: Clock | None = None,
        check_interval: float = 1.0,
    ) -> KeyManager:
        """The ring in a JWK Set file, created on first use; every process sees changes."""

        def reopen() -> KeyRingSource:
            return FileKeyRingSource(file, check_interval=check_interval)

        return cls(reopen(), window=window, audit=audit, clock=clock, file=file, reopen=reopen)

    # -- KeyRingSource -------------------------------------------------------------

    def current(self) -> KeyRing:
        return self._source.current()

    def refresh(self) -> KeyRing:
        return self._source.refresh()

    # -- reading -------------------------------------------------------------------

    @property
    def window(self) -> timedelta:
        return self._window

    def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The public JWK Set (RFC 7517) of every key that may still verify."""
        return self.current().jwks()

    def retirable(self) -> list[SigningKey]:
        """Non-active keys whose dual-key window has passed since their demotion."""
        return self.current().retirable(now=self._clock.now(), window=self._window)

    # -- operations ----------------------------------------------------------------

    def rotate(self, alg: Algorithm | None = None) -> KeyRing:
        """Add a new active key and demote the current one to verify-only; audited."""

        def change(ring: KeyRing) -> tuple[KeyRing, dict[str, Any]]:
            rotated = ring.rotate(alg, now=self._clock.now())
            return rotated, {"kid": rotated.active.kid, "demoted": ring.active.kid}

        return self._change(ROTATE_EVENT, change)

    def retire(self, kid: str | None = None, *, compromised: bool = False) -> list[str]:
        """Remove the keys whose window has passed (or only ``kid``); returns their kids.

        Raises ``KeyRingError`` for the active key, an unknown ``kid`` or a key
        still inside its window.

        ``compromised=True`` (with a ``kid``) is the emergency retirement of a
        leaked key: it goes at once, inside its window or not, so every token it
        signed stops verifying on every worker at their next reload of the ring
        (about a second for a ring file). If it is the active key, a new active key
        replaces it in the same locked write. Audited as ``keys.retire`` with
        ``compromised: true`` (and ``activated``, the new kid, when one was made).
        Clients keep their sessions: refresh tokens do not depend on the ring.
        """
        if compromised and kid is None:
            raise KeyRingError("Name the compromised key (kid) to retire.")
        removed: list[str] = []

        def change(ring: KeyRing) -> tuple[KeyRing, dict[str, Any]]:
            if compromised:
                assert kid is not None
                kept, gone = ring.retire_compromised(kid, now=self._clock.now())
                fields: dict[str, Any] = {"kids": gone, "compromised": True}
                if kept.active.kid != ring.active.kid:
                    fields["activated"] = kept.active.kid
            else:
                kept, gone = ring.retire(now=self._clock.now(), window=self._window, kid=kid)
                fields = {"kids": gone}
            removed.extend(gone)
            return kept, fields

        self._change(RETIRE_EVENT, change)
        return removed

    def _change(
        self, event: str, change: Callable[[KeyRing], tuple[KeyRing, dict[str, Any]]]
    ) -> KeyRing:
        with self._lock:
            if self._file is not None and self._reopen is not None:
                with self._file.locked():
                    ring, fields = change(self._file.load_or_create())
                    self._file.save(ring)
                self._source = self._reopen()
            else:
                ring, fields = change(self._source.current())
                self._source = StaticKeyRingSource(ring)
        if self._audit is not None:
            self._audit.log(event, outcome="success", **fields)
        return ring

    def __repr__(self) -> str:
        where = str(self._file.path) if self._file is not None else "memory"
        return f"KeyManager({where}, window={int(self._window.total_seconds())}s)"


__all__ = ["RETIRE_EVENT", "ROTATE_EVENT", "KeyManager"]
