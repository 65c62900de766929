"""MailComposer: every kind from its templates, values escaped, links checked."""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit.errors import ConfigurationError
from authkit.mail import KINDS, MailComposer, MailMessage, mask_email

LINK = "https://flights.example/reset-password#token=abc123&x=1"


def every_kind(composer: MailComposer, to: str = "bob@example.com") -> list[MailMessage]:
    return [
        composer.verify_email(to, LINK),
        composer.password_reset(to, LINK),
        composer.password_changed(to),
        composer.email_change_confirm(to, LINK),
        composer.email_change_notice(to, "newaddress@example.org"),
        composer.account_deleted(to),
    ]


def test_every_kind_has_a_subject_and_both_bodies() -> None:
    messages = every_kind(MailComposer("Flight App"))
    assert [m.kind for m in messages] == list(KINDS)
    for message in messages:
        assert message.to == "bob@example.com"
        assert "Flight App" in message.subject
        assert "Flight App" in message.text
        assert message.html.startswith("<!doctype html>")
        assert "$" not in message.text, "unfilled placeholder"
        assert "$" not in message.html, "unfilled placeholder"
    subjects = {m.subject for m in messages}
    assert len(subjects) == len(messages), "each kind says what it is"


@pytest.mark.parametrize("kind", ["verify_email", "password_reset", "email_change_confirm"])
def test_links_appear_in_both_bodies(kind: str) -> None:
    message = getattr(MailComposer("Flight App"), kind)("bob@example.com", LINK)
    assert LINK in message.text
    assert f'href="{html.escape(LINK)}"' in message.html


def test_expiry_is_spelled_out_when_known() -> None:
    composer = MailComposer("Flight App")
    reset = composer.password_reset("bob@example.com", LINK, valid_for=timedelta(minutes=30))
    verify = composer.verify_email("bob@example.com", LINK, valid_for=timedelta(hours=24))
    assert "It expires in 30 minutes." in reset.text
    assert "It expires in 24 hours." in verify.text
    assert "It expires soon." in composer.password_reset("bob@example.com", LINK).text


def test_service_name_is_escaped_in_html() -> None:
    message = MailComposer('<script>alert("x")</script> & Co').password_changed("bob@example.com")
    assert "<script>" not in message.html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in message.html
    assert '<script>alert("x")</script> & Co' in message.text  # plain text stays plain


@given(st.text(min_size=1, max_size=40).filter(lambda s: s.strip() and s.isprintable()))
def test_no_service_name_can_inject_markup(name: str) -> None:
    """Whatever the name, the HTML holds it escaped, so no tag or attribute can start."""
    message = MailComposer(name).password_changed("bob@example.com")
    assert html.escape(name.strip(), quote=True) in message.html
    without_layout = message.html.replace(html.escape(name.strip(), quote=True), "")
    assert without_layout.count("<") == MailComposer("X").password_changed(
        "bob@example.com"
    ).html.replace("X", "").count("<")


@pytest.mark.parametrize("name", ["Flight\nApp", "Flight\x00App", "Flight\u2028App", "  "])
def test_service_name_must_be_one_printable_line(name: str) -> None:
    with pytest.raises(ConfigurationError, match="one non-empty line"):
        MailComposer(name)


def test_change_notice_masks_the_new_address() -> None:
    """The old address may no longer be the owner's: show just enough to recognise."""
    message = MailComposer("Flight App").email_change_notice(
        "old@example.com", "newaddress@example.org"
    )
    assert "n***@example.org" in message.text
    assert "newaddress" not in message.text
    assert "newaddress" not in message.html
    assert mask_email("x@y.example") == "x***@y.example"


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "/reset-password#token=abc",
        "https://flights.example/reset password",
        'https://flights.example/"><script>',
        "ftp://flights.example/x",
        "https://",
    ],
)
def test_bad_links_are_refused(link: str) -> None:
    with pytest.raises(ConfigurationError, match="http"):
        MailComposer("Flight App").password_reset("bob@example.com", link)


def test_bad_recipient_and_service_name_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        MailComposer("Flight App").password_changed("bob@example.com\r\nBcc: x@y.z")


def test_an_app_overrides_one_template(tmp_path: Path) -> None:
    (tmp_path / "password_changed.txt").write_text(
        "Subject: Password changed at $service\n\nCustom body for $service.\n"
    )
    composer = MailComposer("Flight App", templates=tmp_path)
    changed = composer.password_changed("bob@example.com")
    assert changed.subject == "Password changed at Flight App"
    assert changed.text == "Custom body for Flight App.\n"
    assert "every session was signed out" in changed.html  # the built-in HTML still used
    assert composer.account_deleted("bob@example.com").subject.startswith("Your Flight App")


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("No subject line\n\nbody\n", "Subject"),
        ("Subject: Hi $unknown\n\nbody\n", "placeholder"),
        ("Subject: Hi $\n\nbody\n", "placeholder"),
    ],
)
def test_broken_override_is_a_configuration_error(
    tmp_path: Path, source: str, problem: str
) -> None:
    (tmp_path / "account_deleted.txt").write_text(source)
    with pytest.raises(ConfigurationError, match=problem):
        MailComposer("Flight App", templates=tmp_path).account_deleted("bob@example.com")
