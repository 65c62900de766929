"""The mail metrics hooks: sent and failed account mail, by kind, in /metrics."""

from __future__ import annotations

from flask import Flask
from prometheus_client import REGISTRY

from authkit.errors import MailDeliveryError
from authkit.mail import KINDS, MailDispatcher, MailMessage, MemoryMailer
from authkit_flask import record_mail_failure, record_mail_sent
from authkit_flask._metrics import metrics_blueprint


def sample(name: str, kind: str) -> float:
    value = REGISTRY.get_sample_value(name, {"kind": kind})
    assert value is not None, f"{name}{{kind={kind!r}}} is not exported"
    return value


def reset_mail() -> MailMessage:
    return MailMessage(
        to="alice@example.com",
        subject="Reset",
        text="body\n",
        html="<p>body</p>",
        kind="password_reset",
    )


class DownMailer:
    def send(self, message: MailMessage) -> None:
        raise MailDeliveryError(
            "The SMTP server 127.0.0.1:25 could not be reached.", transient=True
        )

    def close(self) -> None:
        pass


def test_every_kind_is_exported_from_the_start() -> None:
    for kind in (*KINDS, "other"):
        assert sample("authkit_mail_sent_total", kind) >= 0
        assert sample("authkit_mail_failures_total", kind) >= 0


def test_hooks_count_by_kind_and_fold_unknown_kinds() -> None:
    sent = sample("authkit_mail_sent_total", "verify_email")
    failed = sample("authkit_mail_failures_total", "other")
    record_mail_sent("verify_email")
    record_mail_failure("made-up kind", RuntimeError("x"))
    assert sample("authkit_mail_sent_total", "verify_email") == sent + 1
    assert sample("authkit_mail_failures_total", "other") == failed + 1


def test_dispatcher_wired_to_the_hooks_counts_sends_and_failures() -> None:
    sent = sample("authkit_mail_sent_total", "password_reset")
    failed = sample("authkit_mail_failures_total", "password_reset")
    ok = MailDispatcher(MemoryMailer(), on_failure=record_mail_failure, on_sent=record_mail_sent)
    down = MailDispatcher(DownMailer(), on_failure=record_mail_failure, on_sent=record_mail_sent)
    ok.submit_message(reset_mail())
    down.submit_message(reset_mail())
    down.submit_message(reset_mail())
    assert ok.flush(5)
    assert down.flush(5)
    ok.close()
    down.close()
    assert sample("authkit_mail_sent_total", "password_reset") == sent + 1
    assert sample("authkit_mail_failures_total", "password_reset") == failed + 2


def test_metrics_endpoint_shows_mail_failures() -> None:
    app = Flask(__name__)
    app.register_blueprint(metrics_blueprint(mode="public", token=None, active_users=None))
    record_mail_failure("password_reset", MailDeliveryError())
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'authkit_mail_failures_total{kind="password_reset"}' in text
    assert 'authkit_mail_sent_total{kind="account_deleted"}' in text
