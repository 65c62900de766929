"""open_mailer: one URL picks the mailer; bad URLs name the problem, never the password."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit.errors import ConfigurationError
from authkit.mail import FileOutboxMailer, MemoryMailer, SmtpMailer, open_mailer

SENDER = "no-reply@localhost"


def test_memory() -> None:
    assert isinstance(open_mailer("memory://", sender=SENDER), MemoryMailer)


def test_file(tmp_path: Path) -> None:
    mailer = open_mailer(f"file://{tmp_path}/out%20box", sender=SENDER)
    assert isinstance(mailer, FileOutboxMailer)
    assert mailer.directory == tmp_path / "out box"


def test_smtp_defaults() -> None:
    mailer = open_mailer("smtp://mail.example", sender=SENDER)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.host, mailer.port, mailer.security, mailer.timeout) == (
        "mail.example",
        25,
        "none",
        10.0,
    )


def test_smtp_starttls_with_credentials() -> None:
    mailer = open_mailer(
        "smtp://user%40corp:p%40ss%3Aword@mail.example:587?starttls=1&timeout=2.5",
        sender=SENDER,
    )
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.port, mailer.security, mailer.timeout) == (587, "starttls", 2.5)
    assert mailer._username == "user@corp"
    assert mailer._password == "p@ss:word"
    assert "p@ss" not in repr(mailer)


def test_smtps_implicit_tls_default_port() -> None:
    mailer = open_mailer("smtps://u:p@mail.example", sender=SENDER)
    assert isinstance(mailer, SmtpMailer)
    assert (mailer.port, mailer.security) == (465, "tls")


def test_cafile_builds_a_context_that_trusts_it(smtp_ca: tuple[object, Path]) -> None:
    _, ca_file = smtp_ca
    mailer = open_mailer(f"smtps://mail.example?cafile={ca_file}", sender=SENDER)
    assert isinstance(mailer, SmtpMailer)
    context = mailer._ssl_context
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) == 1


def test_an_explicit_context_wins_over_cafile() -> None:
    context = ssl.create_default_context()
    mailer = open_mailer(
        "smtp://mail.example?starttls=1&cafile=/nonexistent.pem", sender=SENDER, ssl_context=context
    )
    assert isinstance(mailer, SmtpMailer)
    assert mailer._ssl_context is context


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "no scheme"),
        ("mail.example:25", "scheme"),
        ("http://mail.example", "not supported"),
        ("file://", "absolute folder"),
        ("file://relative/dir", "local folder"),
        ("file:///tmp/x?mode=1", "no query"),
        ("smtp://", "needs a host"),
        ("smtp://mail.example:99999", "cannot be parsed"),
        ("smtp://mail.example:0", "1-65535"),
        ("smtp://mail.example?starttls=maybe", "starttls must be"),
        ("smtps://mail.example?starttls=1", "TLS already"),
        ("smtp://mail.example?tls=1", "unknown option"),
        ("smtp://mail.example?starttls=1&starttls=0", "more than once"),
        ("smtp://mail.example?timeout=soon", "number of seconds"),
        ("smtp://mail.example?timeout=0", "more than 0"),
        ("smtp://mail.example?cafile=/x.pem", "needs TLS"),
        ("smtps://mail.example?cafile=relative.pem", "absolute path"),
        ("smtps://mail.example?cafile=/nonexistent/ca.pem", "cannot be read"),
        ("smtp://user@mail.example?starttls=1", "both a user name and a password"),
        ("smtp://:secret@mail.example?starttls=1", "both a user name and a password"),
        ("smtp://user:secret@mail.example", "clear text"),
    ],
)
def test_bad_urls(url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem) as raised:
        open_mailer(url, sender=SENDER)
    assert "secret" not in str(raised.value)
    assert raised.value.field == "mail_url"


def test_plain_credentials_are_allowed_to_a_local_relay() -> None:
    mailer = open_mailer("smtp://u:p@127.0.0.1:2525", sender=SENDER)
    assert isinstance(mailer, SmtpMailer)
    assert mailer.security == "none"


def test_bad_sender_names_the_sender_setting() -> None:
    with pytest.raises(ConfigurationError) as raised:
        open_mailer("smtp://mail.example", sender="not an address")
    assert raised.value.field == "mail_from"


@given(
    st.text(
        alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="@/?#[]%"),
        min_size=6,
        max_size=30,
    ).filter(lambda p: any(c in p for c in "!$&*+;~"))  # never a substring of our messages
)
def test_no_error_repeats_the_password(password: str) -> None:
    """Whatever else is wrong with the URL, its password never appears in the error."""
    for url in (
        f"smtp://user:{password}@mail.example",
        f"smtp://user:{password}@mail.example?bogus=1",
        f"smtp://user:{password}@mail.example:99999",
        f"smtp://user:{password}@mail.example?starttls=1&timeout=x",
        f"ftp://user:{password}@mail.example",
    ):
        with pytest.raises(ConfigurationError) as raised:
            open_mailer(url, sender=SENDER)
        assert password not in str(raised.value)
        assert password not in repr(raised.value)
