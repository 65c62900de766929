"""The mailers without a server: memory (tests) and the .eml outbox folder (laptops)."""

from __future__ import annotations

import email
import email.policy
import errno
import os
import stat
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest

from authkit.errors import ConfigurationError, MailDeliveryError
from authkit.mail import FileOutboxMailer, MailMessage, MemoryMailer


def make(index: int = 0, to: str = "bob@example.com") -> MailMessage:
    return MailMessage(
        to=to,
        subject=f"Message {index}",
        text=f"body {index}\n",
        html=f"<p>body {index}</p>",
        kind="password_reset",
    )


def test_memory_mailer_keeps_messages_in_order() -> None:
    mailer = MemoryMailer()
    mailer.send(make(1))
    mailer.send(make(2))
    assert [m.subject for m in mailer.sent] == ["Message 1", "Message 2"]
    mailer.sent.clear()  # a copy: the mailer's own list is untouched
    assert len(mailer.sent) == 2
    mailer.close()
    assert mailer.closed


def test_outbox_writes_one_private_eml_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "instance" / "outbox"
    mailer = FileOutboxMailer(outbox, sender="Flight App <no-reply@localhost>")
    mailer.send(make(1))
    files = list(outbox.iterdir())
    assert len(files) == 1
    assert files[0].suffix == ".eml"
    assert stat.S_IMODE(outbox.stat().st_mode) == 0o700
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "bob@example.com"
    assert parsed["From"] == "Flight App <no-reply@localhost>"
    assert isinstance(parsed, EmailMessage)
    plain = parsed.get_body(("plain",))
    assert plain is not None
    assert plain.get_content() == "body 1\n"


def test_outbox_names_sort_oldest_first(tmp_path: Path) -> None:
    mailer = FileOutboxMailer(tmp_path, sender="no-reply@localhost")
    for index in range(30):
        mailer.send(make(index))
    names = sorted(tmp_path.glob("*.eml"))
    subjects = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"]
        for p in names
    ]
    assert subjects == [f"Message {i}" for i in range(30)]


def test_outbox_concurrent_sends_never_collide(tmp_path: Path) -> None:
    """20 threads, 10 messages each: 200 distinct complete files, no temporary left."""
    mailer = FileOutboxMailer(tmp_path, sender="no-reply@localhost")
    barrier = threading.Barrier(20)

    def worker(thread: int) -> None:
        barrier.wait()
        for index in range(10):
            mailer.send(make(thread * 100 + index))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 200
    assert all(f.suffix == ".eml" and not f.name.startswith(".") for f in files)
    subjects = {
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Subject"]
        for f in files
    }
    assert len(subjects) == 200


def test_outbox_keeps_an_existing_folder(tmp_path: Path) -> None:
    """An existing folder is used as it is (an operator may share a spool folder)."""
    tmp_path.chmod(0o750)
    FileOutboxMailer(tmp_path, sender="no-reply@localhost").send(make())
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o750


def test_outbox_that_cannot_be_created_is_a_delivery_error(tmp_path: Path) -> None:
    """A file where the folder should be (fails for root too): a safe delivery error."""
    blocker = tmp_path / "instance"
    blocker.write_text("not a folder")
    mailer = FileOutboxMailer(blocker / "outbox", sender="no-reply@localhost")
    with pytest.raises(MailDeliveryError, match="cannot be created") as raised:
        mailer.send(make(to="alice@example.com"))
    assert "alice" not in str(raised.value)
    assert str(tmp_path) not in str(raised.value)


def test_outbox_write_failure_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills up mid-write: a delivery error, and no half file, hidden or not."""
    mailer = FileOutboxMailer(tmp_path, sender="no-reply@localhost")

    def full(descriptor: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(MailDeliveryError, match="could not be written"):
        mailer.send(make())
    assert list(tmp_path.iterdir()) == []


def test_outbox_refuses_relative_folder_and_bad_sender(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="absolute"):
        FileOutboxMailer(Path("outbox"), sender="no-reply@localhost")
    with pytest.raises(ConfigurationError, match="sender"):
        FileOutboxMailer(tmp_path, sender="nobody")
