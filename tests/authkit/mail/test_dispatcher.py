"""MailDispatcher: jobs after the response, failures logged without PII and counted."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit.errors import MailDeliveryError
from authkit.mail import MailDispatcher, MailMessage, MemoryMailer

SECRET_LINK = "https://flights.example/reset-password#token=s3cr3t-t0ken"


def reset_mail(to: str = "alice@example.com") -> MailMessage:
    return MailMessage(
        to=to,
        subject="Reset",
        text=f"open {SECRET_LINK}\n",
        html=f'<a href="{SECRET_LINK}">reset</a>',
        kind="password_reset",
    )


class FailingMailer:
    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.attempts = 0
        self.closed = False

    def send(self, message: MailMessage) -> None:
        self.attempts += 1
        raise self.error

    def close(self) -> None:
        self.closed = True


class BlockingMailer(MemoryMailer):
    """Sends only once released: lets a test fill the queue."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def send(self, message: MailMessage) -> None:
        self.release.wait(10)
        super().send(message)


class Hooks:
    def __init__(self) -> None:
        self.failures: list[tuple[str, BaseException]] = []
        self.sent: list[str] = []

    def on_failure(self, kind: str, error: BaseException) -> None:
        self.failures.append((kind, error))

    def on_sent(self, kind: str) -> None:
        self.sent.append(kind)


def assert_no_pii(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + " " + " ".join(str(v) for v in vars(record).values())
        assert "alice" not in text
        assert "s3cr3t" not in text
        assert "flights.example" not in text


def test_jobs_run_in_the_background_and_are_sent() -> None:
    mailer = MemoryMailer()
    hooks = Hooks()
    dispatcher = MailDispatcher(mailer, on_failure=hooks.on_failure, on_sent=hooks.on_sent)
    threads: list[str] = []

    def job() -> MailMessage:
        threads.append(threading.current_thread().name)
        return reset_mail()

    dispatcher.submit(job, kind="password_reset")
    dispatcher.submit_message(reset_mail("carol@example.com"))
    assert dispatcher.flush(5)
    assert [m.to for m in mailer.sent] == ["alice@example.com", "carol@example.com"]
    assert threads == ["authkit-mail"]
    assert hooks.sent == ["password_reset", "password_reset"]
    assert (dispatcher.sent, dispatcher.failures) == (2, 0)
    dispatcher.close()
    assert mailer.closed


def test_a_job_returning_none_sends_nothing() -> None:
    """Forgot-password for an unknown email: the job does its work and sends nothing."""
    mailer = MemoryMailer()
    dispatcher = MailDispatcher(mailer)
    dispatcher.submit(lambda: None)
    assert dispatcher.flush(5)
    assert mailer.sent == []
    assert (dispatcher.sent, dispatcher.failures) == (0, 0)
    dispatcher.close()


def test_a_failing_job_is_logged_without_pii_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = Hooks()
    dispatcher = MailDispatcher(MemoryMailer(), on_failure=hooks.on_failure)

    def job() -> MailMessage:
        raise LookupError(f"no account for alice@example.com with {SECRET_LINK}")

    with caplog.at_level(logging.DEBUG, logger="authkit.mail"):
        dispatcher.submit(job, kind="password_reset")
        dispatcher.submit_message(reset_mail())  # the worker survives the failure
        assert dispatcher.flush(5)
    assert dispatcher.failures == 1
    assert dispatcher.sent == 1
    assert [(kind, type(error)) for kind, error in hooks.failures] == [
        ("password_reset", LookupError)
    ]
    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert record.getMessage() == "mail password_reset failed while preparing: LookupError"
    assert "test_dispatcher.py" in record.frames  # type: ignore[attr-defined]
    assert_no_pii(caplog)
    dispatcher.close()


def test_a_delivery_failure_is_logged_with_its_safe_message(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = Hooks()
    error = MailDeliveryError("The SMTP server mail.example:587 answered 451.", transient=True)
    mailer = FailingMailer(error)
    dispatcher = MailDispatcher(mailer, on_failure=hooks.on_failure)
    with caplog.at_level(logging.WARNING, logger="authkit.mail"):
        dispatcher.submit_message(reset_mail())
        assert dispatcher.flush(5)
    assert hooks.failures == [("password_reset", error)]
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "mail_delivery_failed: The SMTP server mail.example:587 answered 451." in (
        record.getMessage()
    )
    assert_no_pii(caplog)
    dispatcher.close()
    assert mailer.closed


def test_a_full_queue_drops_and_counts_without_blocking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    mailer = BlockingMailer()
    hooks = Hooks()
    dispatcher = MailDispatcher(mailer, on_failure=hooks.on_failure, queue_size=2)
    started = threading.Event()

    def first() -> MailMessage:
        started.set()
        return reset_mail()

    dispatcher.submit(first)
    assert started.wait(5)  # the worker holds the first job (blocked in send)
    dispatcher.submit_message(reset_mail())
    dispatcher.submit_message(reset_mail())  # the queue (2) is now full
    began = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="authkit.mail"):
        for _ in range(5):
            dispatcher.submit_message(reset_mail())
    assert time.monotonic() - began < 0.5, "submit must never wait for the mailer"
    assert dispatcher.failures == 5
    assert [kind for kind, _ in hooks.failures] == ["password_reset"] * 5
    assert all(isinstance(error, OverflowError) for _, error in hooks.failures)
    assert "mail password_reset dropped: the mail queue is full" in caplog.text
    assert_no_pii(caplog)
    mailer.release.set()
    assert dispatcher.flush(5)
    assert len(mailer.sent) == 3
    dispatcher.close()


def test_flush_times_out_while_a_job_is_stuck() -> None:
    mailer = BlockingMailer()
    dispatcher = MailDispatcher(mailer)
    dispatcher.submit_message(reset_mail())
    assert not dispatcher.flush(0.1)
    mailer.release.set()
    assert dispatcher.flush(5)
    dispatcher.close()


def test_close_drains_the_queue_then_refuses_new_jobs() -> None:
    mailer = MemoryMailer()
    hooks = Hooks()
    dispatcher = MailDispatcher(mailer, on_failure=hooks.on_failure)
    for _ in range(20):
        dispatcher.submit_message(reset_mail())
    dispatcher.close(timeout=5)
    assert len(mailer.sent) == 20
    assert mailer.closed
    dispatcher.submit_message(reset_mail())
    assert dispatcher.failures == 1
    assert isinstance(hooks.failures[0][1], RuntimeError)
    dispatcher.close()  # idempotent


def test_close_gives_up_after_its_timeout(caplog: pytest.LogCaptureFixture) -> None:
    mailer = BlockingMailer()
    dispatcher = MailDispatcher(mailer)
    dispatcher.submit_message(reset_mail())
    dispatcher.submit_message(reset_mail())
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="authkit.mail"):
        dispatcher.close(timeout=0.2)
    assert time.monotonic() - began < 2
    assert "still queued" in caplog.text
    mailer.release.set()


def test_close_without_any_job_closes_the_mailer() -> None:
    mailer = MemoryMailer()
    MailDispatcher(mailer).close()
    assert mailer.closed


def test_a_failing_hook_does_not_stop_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    def broken(kind: str) -> None:
        raise RuntimeError("hook bug")

    mailer = MemoryMailer()
    dispatcher = MailDispatcher(mailer, on_sent=broken)
    with caplog.at_level(logging.WARNING, logger="authkit.mail"):
        dispatcher.submit_message(reset_mail())
        dispatcher.submit_message(reset_mail())
        assert dispatcher.flush(5)
    assert len(mailer.sent) == 2
    assert "a mail hook failed: RuntimeError" in caplog.text
    dispatcher.close()


def test_concurrent_submits_are_all_sent_once() -> None:
    mailer = MemoryMailer()
    dispatcher = MailDispatcher(mailer)
    barrier = threading.Barrier(20)

    def submit(thread: int) -> None:
        barrier.wait()
        for index in range(10):
            dispatcher.submit_message(reset_mail(f"user{thread}-{index}@example.com"))

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert dispatcher.flush(10)
    addresses = [m.to for m in mailer.sent]
    assert len(addresses) == 200
    assert len(set(addresses)) == 200
    assert dispatcher.sent == 200
    dispatcher.close()


def test_queue_size_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least one"):
        MailDispatcher(MemoryMailer(), queue_size=0)


OUTCOMES = st.sampled_from(["sent", "nothing", "job_fails", "send_fails"])


class ScriptedMailer(MemoryMailer):
    """Fails the sends whose subject says so; keeps the others."""

    def send(self, message: MailMessage) -> None:
        if message.subject == "send_fails":
            raise MailDeliveryError("The SMTP server refused the message (554).")
        super().send(message)


@settings(max_examples=40, deadline=None)
@given(st.lists(OUTCOMES, max_size=30), st.integers(min_value=1, max_value=8))
def test_every_job_is_accounted_for(outcomes: list[str], queue_size: int) -> None:
    """Whatever happens to each job, none vanishes: each one is sent, deliberately
    empty, or counted (and reported) as a failure, a full queue included."""
    mailer = ScriptedMailer()
    hooks = Hooks()
    dispatcher = MailDispatcher(
        mailer, on_failure=hooks.on_failure, on_sent=hooks.on_sent, queue_size=queue_size
    )

    def job(outcome: str) -> MailMessage | None:
        if outcome == "job_fails":
            raise LookupError("no such account")
        if outcome == "nothing":
            return None
        return MailMessage(
            to="alice@example.com",
            subject=outcome,
            text="t\n",
            html="<p>t</p>",
            kind="verify_email",
        )

    for outcome in outcomes:
        dispatcher.submit(lambda outcome=outcome: job(outcome), kind="verify_email")  # type: ignore[misc]
    assert dispatcher.flush(10)
    dispatcher.close()
    dropped = sum(1 for _, error in hooks.failures if isinstance(error, OverflowError))
    ran = len(outcomes) - dropped
    assert dispatcher.sent == len(mailer.sent) == len(hooks.sent)
    assert dispatcher.failures == len(hooks.failures)
    assert len(mailer.sent) + dispatcher.failures <= len(outcomes)
    if dropped == 0:
        assert len(mailer.sent) == outcomes.count("sent")
        assert dispatcher.failures == outcomes.count("job_fails") + outcomes.count("send_fails")
    assert ran >= min(len(outcomes), queue_size), "the queue holds at least queue_size jobs"
