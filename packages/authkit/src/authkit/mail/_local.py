"""Mailers that need no mail server: in memory (tests) and an ``.eml`` outbox folder."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import threading
import time
from pathlib import Path

from authkit.errors import ConfigurationError, MailDeliveryError
from authkit.mail._message import MailMessage, parse_address


class MemoryMailer:
    """Keeps every message in :attr:`sent`, in order; for tests and demos."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sent: list[MailMessage] = []
        self.closed = False

    @property
    def sent(self) -> list[MailMessage]:
        """A copy of the messages sent so far (safe to read while others send)."""
        with self._lock:
            return list(self._sent)

    def send(self, message: MailMessage) -> None:
        with self._lock:
            self._sent.append(message)

    def close(self) -> None:
        self.closed = True


_sequence = itertools.count()
"""Per-process tie-breaker: two messages in the same nanosecond still sort in order."""


class FileOutboxMailer:
    """Writes each message as one ``.eml`` file in ``directory``: the laptop default.

    A developer opens the file in a mail client (or reads it: it is plain text), and
    tests read the link from it. Files are written atomically (a hidden temporary
    file renamed into place), so a reader never sees half a message; names start with
    a UTC timestamp, so ``sorted(directory.glob("*.eml"))`` is oldest first. Messages
    carry single-use links, so the folder is ``0700`` and each file ``0600``.
    """

    def __init__(self, directory: Path, *, sender: str) -> None:
        if not directory.is_absolute():
            raise ConfigurationError(
                "The mail outbox folder must be an absolute path.", field="mail_url"
            )
        try:
            parse_address(sender, what="sender")
        except ValueError as error:
            raise ConfigurationError(str(error), field="mail_from") from None
        self.directory = directory
        self.sender = sender

    def _ensure_directory(self) -> None:
        if self.directory.is_dir():
            return
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(self.directory, 0o700)  # mkdir's mode is filtered by the umask
        except OSError as error:
            raise MailDeliveryError(
                f"The mail outbox folder cannot be created ({error.strerror})."
            ) from None

    def send(self, message: MailMessage) -> None:
        self._ensure_directory()
        data = message.to_email_message(self.sender).as_bytes()
        now = time.time_ns()
        seconds, nanos = divmod(now, 1_000_000_000)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(seconds))
        name = f"{stamp}.{nanos:09d}Z-{os.getpid()}-{next(_sequence):06d}-{secrets.token_hex(4)}"
        final = self.directory / f"{name}.eml"
        temporary = self.directory / f".{name}.tmp"
        try:
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
            except BaseException:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise
            os.replace(temporary, final)
        except OSError as error:
            raise MailDeliveryError(
                f"The message could not be written to the mail outbox ({error.strerror})."
            ) from None

    def close(self) -> None:
        """Nothing to release: each message opens and closes its own file."""
