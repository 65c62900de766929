"""The audit logger: one JSON object per line for every security-relevant event.

Every line carries the same envelope, so the log can be searched and shipped
without knowing each event: ``ts`` (RFC 3339 UTC, milliseconds, ``Z``), ``event``,
``outcome``, ``trace_id`` (ties the line to the request's other log lines),
``actor`` and ``client`` (keyed pseudonyms, never the raw username, email or IP
address), then the event's own fields.

PII and secrets are kept out by construction (GDPR Art. 5(1)(c), data
minimisation; OWASP Logging Cheat Sheet, "data to exclude"):

* a field whose *name* suggests a secret or raw personal data (``password``,
  ``token``, ``secret``, ``otp``, ``code``, ``hash``, ``email``, ``ip``, ...) is
  refused with ``ValueError``. Field names are literals in the calling code, so
  the first test that runs the call finds the mistake; silently dropping the field
  would hide it. Use a neutral name for what is safe (``reason=`` rather than
  ``error_code=``).
* a string *value* that looks like an email address or an IP address is replaced
  by its pseudonym (kind ``user`` or ``ip``), in case a username field receives
  what a person typed into the email box.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC
from pathlib import Path
from typing import Final, TypeAlias

from authkit.audit._pseudonym import Pseudonymizer
from authkit.audit._rotation import RotatingFileWriter, RotationPolicy
from authkit.clock import Clock, SystemClock

FieldValue: TypeAlias = str | int | bool | list[str] | None
"""A value an audit event field may hold (JSON-safe by construction)."""
AuditEvent: TypeAlias = dict[str, FieldValue]
"""One audit event, as written to the log and given to listeners."""
Listener: TypeAlias = Callable[[AuditEvent], object]
"""Called with each event after it is written (the live-update fan-out listens this way)."""

ENVELOPE: Final = ("ts", "event", "outcome", "trace_id", "actor", "client")

SENSITIVE_WORDS: Final = frozenset(
    {
        "password", "passwd", "pwd", "passphrase", "token", "secret", "otp", "totp",
        "code", "hash", "email", "mail", "ip", "ipv4", "ipv6", "addr", "address",
        "cookie", "authorization", "credential", "credentials", "apikey", "private",
        "pin", "salt", "jwt", "bearer", "username", "phone",
    }
)  # fmt: skip
"""Name parts that refuse a field; ``user_email`` and ``refreshToken`` both match."""

_SENSITIVE_SUBSTRINGS: Final = ("password", "passwd", "secret", "token", "email", "hash")
_WORD_RE: Final = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_EMAIL_RE: Final = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")

_log = logging.getLogger("authkit.audit")
_SYSTEM_CLOCK = SystemClock()


def _no_trace_id() -> str | None:
    return None


def is_sensitive_name(name: str) -> bool:
    """Whether a field name suggests a secret or raw personal data."""
    lowered = name.casefold()
    if any(part in lowered for part in _SENSITIVE_SUBSTRINGS):
        return True
    return any(word.casefold() in SENSITIVE_WORDS for word in _WORD_RE.findall(name))


def _looks_like_ip(value: str) -> bool:
    if not 2 <= len(value) <= 45 or not any(c in value for c in ".:"):
        return False
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


class AuditLogger:
    """Writes audit events as JSON lines to ``path``, shared safely by processes.

    ``listeners`` are called with each event after it has been written (the live
    admin view subscribes here); a failing listener is logged and skipped, never
    allowed to lose the event or break the caller. ``OSError`` from the file
    itself propagates: an audit trail must not fail silently.
    """

    def __init__(
        self,
        path: Path,
        *,
        pseudonymizer: Pseudonymizer,
        clock: Clock = _SYSTEM_CLOCK,
        trace_id_provider: Callable[[], str | None] = _no_trace_id,
        rotation: RotationPolicy | None = None,
        listeners: Iterable[Listener] = (),
    ) -> None:
        self.path = Path(path)
        self._pseudonymizer = pseudonymizer
        self._clock = clock
        self._trace_id = trace_id_provider
        self._writer = RotatingFileWriter(self.path, rotation=rotation, clock=clock)
        self._listeners: tuple[Listener, ...] = tuple(listeners)
        self._listeners_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AuditLogger({str(self.path)!r})"

    def __enter__(self) -> AuditLogger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def writer(self) -> RotatingFileWriter:
        return self._writer

    def add_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._listeners_lock:
            self._listeners = tuple(x for x in self._listeners if x is not listener)

    def close(self) -> None:
        self._writer.close()

    def log(
        self,
        event: str,
        *,
        outcome: str,
        actor: str | None = None,
        client_address: str | None = None,
        **fields: FieldValue,
    ) -> AuditEvent:
        """Write one event and return it as written.

        ``actor`` is the username or email the event is about (as typed: it is
        normalised before pseudonymising); ``client_address`` the client's IP.
        Raises ``ValueError`` for a reserved or sensitive field name and
        ``TypeError`` for a value that is not a string, int, bool, None or list of
        strings.
        """
        if not event or not isinstance(event, str):
            raise ValueError("event must be a non-empty string.")
        if not outcome or not isinstance(outcome, str):
            raise ValueError("outcome must be a non-empty string.")
        record: AuditEvent = {
            "ts": self._timestamp(),
            "event": event,
            "outcome": outcome,
            "trace_id": self._trace_id(),
            "actor": self._pseudonym(actor, "user"),
            "client": self._pseudonym(client_address, "ip"),
        }
        for name, value in fields.items():
            if name in ENVELOPE:
                raise ValueError(f"Field {name!r} is reserved for the audit envelope.")
            if is_sensitive_name(name):
                raise ValueError(
                    f"Field {name!r} looks like a secret or raw personal data and is never "
                    "written to the audit log; pass it as actor/client_address or rename it."
                )
            record[name] = self._clean(name, value)
        line = json.dumps(record, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
        try:
            self._writer.write(line.encode("ascii") + b"\n")
        finally:
            # Also when the write failed (disk full): the change the event reports has
            # happened, and a listener such as a session cache must hear of it.
            self._notify(record)
        return record

    def _timestamp(self) -> str:
        now = self._clock.now().astimezone(UTC)
        return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _pseudonym(self, value: str | None, kind: str) -> str | None:
        if value is None or not value.strip():
            return None
        return self._pseudonymizer.pseudonymize(value, kind=kind)

    def _clean(self, name: str, value: object) -> FieldValue:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, str):
            return self._scrub(value)
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [self._scrub(item) for item in value]
        raise TypeError(
            f"Field {name!r} must be str, int, bool, None or list[str], not {type(value).__name__}."
        )

    def _scrub(self, value: str) -> str:
        """Pseudonymise a value that is an email or IP address whatever its field is called."""
        if _EMAIL_RE.fullmatch(value.strip()):
            return self._pseudonymizer.pseudonymize(value, kind="user")
        if _looks_like_ip(value):
            return self._pseudonymizer.pseudonymize(value, kind="ip")
        return value

    def _notify(self, record: AuditEvent) -> None:
        for listener in self._listeners:
            try:
                listener({k: list(v) if isinstance(v, list) else v for k, v in record.items()})
            except Exception:
                _log.exception("audit listener %r failed; the event was written", listener)


__all__ = [
    "ENVELOPE",
    "SENSITIVE_WORDS",
    "AuditEvent",
    "AuditLogger",
    "FieldValue",
    "Listener",
    "is_sensitive_name",
]
