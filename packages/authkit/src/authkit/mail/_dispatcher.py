"""Mail after the response: a bounded queue and one worker thread per process.

Why in the background: an SMTP server may take seconds (or time out after retries),
and forgot-password must answer known and unknown emails alike in the same time, so
the slow part (finding the account, issuing a token, composing, sending) runs in a
*job* after the request returned. Why bounded: a mail outage must not grow memory
without limit; when the queue is full the job is dropped, logged and counted, and the
request still never waits.

Logs name the message kind and the error class or safe ``AuthkitError`` text only:
never an address, a link or a token (exception messages from arbitrary code might
carry them, so they are not logged).
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable

from authkit.errors import AuthkitError, MailDeliveryError
from authkit.mail._message import Mailer, MailMessage

logger = logging.getLogger("authkit.mail")

Job = Callable[[], MailMessage | None]
"""Work for the mail thread: returns the message to send, or ``None`` for nothing to send."""
FailureHook = Callable[[str, BaseException], None]
"""Called with the message kind (``"unknown"`` before a job made its message) and the error."""
SentHook = Callable[[str], None]
"""Called with the message kind after each successful send."""

_STOP = object()


def describe_error(error: BaseException) -> str:
    """Safe text for a log line: an AuthkitError's code and message, else the class name."""
    if isinstance(error, AuthkitError):
        return f"{error.code}: {error.message}"
    return type(error).__name__


class MailDispatcher:
    """Runs mail jobs on a worker thread and sends what they return through ``mailer``.

    ``submit(job)``: ``job()`` runs on the worker and returns the message to send
    (or ``None``: nothing to send, e.g. forgot-password for an unknown email).
    ``submit_message(message)`` sends a ready message. Neither blocks nor raises
    for a delivery problem: failures are logged, counted in :attr:`failures` and
    passed to ``on_failure(kind, error)`` (the metrics hook); successes to
    ``on_sent(kind)``.

    The worker starts on first use and again in a forked child (gunicorn's
    pre-fork model copies the object but not the thread), so it is safe to build
    before forking.
    """

    def __init__(
        self,
        mailer: Mailer,
        *,
        on_failure: FailureHook | None = None,
        on_sent: SentHook | None = None,
        queue_size: int = 1000,
    ) -> None:
        if queue_size < 1:
            raise ValueError("The mail queue needs room for at least one job.")
        self.mailer = mailer
        self._on_failure = on_failure
        self._on_sent = on_sent
        self._queue_size = queue_size
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._closed = False
        self._pid = -1
        self._queue: queue.Queue[tuple[str, Job] | object] = queue.Queue(queue_size)
        self._worker: threading.Thread | None = None
        self.sent = 0
        """Messages handed to the mailer successfully (this process)."""
        self.failures = 0
        """Jobs or sends that failed, including jobs dropped on a full queue."""

    # -- submitting -------------------------------------------------------------

    def submit(self, job: Job, *, kind: str = "unknown") -> None:
        """Queue ``job``; ``kind`` labels failures before the job made its message."""
        with self._lock:
            if self._closed:
                self._drop_locked(kind, RuntimeError("the mail dispatcher is closed"))
                return
            self._ensure_worker_locked()
            try:
                self._queue.put_nowait((kind, job))
            except queue.Full:
                self._drop_locked(kind, OverflowError("the mail queue is full"))
                return
            self._pending += 1

    def submit_message(self, message: MailMessage) -> None:
        """Queue a ready message for sending."""
        self.submit(lambda: message, kind=message.kind)

    # -- waiting ----------------------------------------------------------------

    def flush(self, timeout: float) -> bool:
        """Wait until every queued job is done; ``False`` if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Refuse new jobs, let queued ones finish for up to ``timeout`` s, close the mailer.

        Jobs still queued after the timeout are abandoned (the worker is a daemon
        thread); they are logged as one line with their count.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker if self._pid == os.getpid() else None
        if worker is not None:
            # The sentinel goes in after the queued jobs (blocking put: room frees up).
            deadline = time.monotonic() + timeout
            with contextlib.suppress(queue.Full):
                self._queue.put(_STOP, timeout=max(0.0, timeout))
            worker.join(max(0.0, deadline - time.monotonic()))
            with self._lock:
                left = self._pending
            if left:
                logger.warning("mail dispatcher closed with %d job(s) still queued", left)
        try:
            self.mailer.close()
        except Exception as error:
            logger.warning("closing the mailer failed: %s", describe_error(error))

    # -- the worker -------------------------------------------------------------

    def _ensure_worker_locked(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._worker is not None and self._worker.is_alive():
            return
        if self._pid != pid:
            # A forked child: the parent's queue and counters are not ours.
            self._queue = queue.Queue(self._queue_size)
            self._pending = 0
            self._pid = pid
        self._worker = threading.Thread(target=self._run, name="authkit-mail", daemon=True)
        self._worker.start()

    def _run(self) -> None:
        work_queue = self._queue
        while True:
            item = work_queue.get()
            if item is _STOP:
                return
            assert isinstance(item, tuple)
            kind, job = item
            try:
                self._handle(kind, job)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _handle(self, kind: str, job: Job) -> None:
        try:
            message = job()
        except BaseException as error:
            self._record_failure(kind, error, stage="preparing")
            return
        if message is None:
            return
        try:
            self.mailer.send(message)
        except BaseException as error:
            self._record_failure(message.kind, error, stage="sending")
            return
        with self._lock:
            self.sent += 1
        self._call_hook(self._on_sent, message.kind)

    def _record_failure(self, kind: str, error: BaseException, *, stage: str) -> None:
        level = logging.WARNING if isinstance(error, MailDeliveryError) else logging.ERROR
        # Where it failed, as file:line in function: no exception text and no
        # source lines, either of which could hold an address or a link.
        frames = (
            ""
            if isinstance(error, AuthkitError)
            else " < ".join(
                f"{frame.filename}:{frame.lineno} in {frame.name}"
                for frame in reversed(traceback.extract_tb(error.__traceback__))
            )
        )
        logger.log(
            level,
            "mail %s failed while %s: %s",
            kind,
            stage,
            describe_error(error),
            extra={"mail_kind": kind, "error_type": type(error).__name__, "frames": frames},
        )
        with self._lock:
            self.failures += 1
        self._call_hook(self._on_failure, kind, error)

    def _drop_locked(self, kind: str, error: BaseException) -> None:
        """A job refused at the door (queue full, dispatcher closed): logged and counted.

        The caller holds the lock; the hook (a counter increment) runs under it, which
        keeps the request path free of any wait but the lock itself.
        """
        self.failures += 1
        logger.error("mail %s dropped: %s", kind, error, extra={"mail_kind": kind})
        self._call_hook(self._on_failure, kind, error)

    @staticmethod
    def _call_hook(hook: Callable[..., None] | None, *args: object) -> None:
        if hook is None:
            return
        try:
            hook(*args)
        except Exception as error:
            logger.warning("a mail hook failed: %s", describe_error(error))
