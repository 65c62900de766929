"""MailMessage: one recipient, single-line headers, a multipart/alternative rendering."""

from __future__ import annotations

import email
import email.message
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit.mail import MailMessage


def body(parsed: email.message.Message, subtype: str) -> str:
    assert isinstance(parsed, email.message.EmailMessage)
    part = parsed.get_body((subtype,))
    assert part is not None
    content: str = part.get_content()
    return content


def message(**changes: str) -> MailMessage:
    values = {
        "to": "bob@example.com",
        "subject": "Hello",
        "text": "plain body\n",
        "html": "<p>html body</p>",
        "kind": "verify_email",
    }
    values.update(changes)
    return MailMessage(**values)


def test_renders_multipart_alternative_text_then_html() -> None:
    rendered = message().to_email_message("Flight App <no-reply@flights.example>")
    parsed = email.message_from_bytes(rendered.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert isinstance(parsed, email.message.EmailMessage)
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert parsed["To"] == "bob@example.com"
    assert parsed["From"] == "Flight App <no-reply@flights.example>"
    assert parsed["Subject"] == "Hello"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Message-ID"].endswith("@flights.example>")
    assert parsed["Date"]
    assert body(parsed, "plain") == "plain body\n"
    assert "<p>html body</p>" in body(parsed, "html")


def test_non_ascii_survives_the_round_trip() -> None:
    rendered = message(subject="Grüße ✈", text="Zürich → Genève\n").to_email_message(
        "no-reply@localhost"
    )
    parsed = email.message_from_bytes(rendered.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "Grüße ✈"
    assert body(parsed, "plain") == "Zürich → Genève\n"


@pytest.mark.parametrize(
    "changes",
    [
        {"to": ""},
        {"to": "not-an-address"},
        {"to": "a@example.com, b@example.com"},
        {"to": "a@example.com\r\nBcc: victim@example.com"},
        {"subject": "Hi\r\nBcc: victim@example.com"},
        {"subject": ""},
        {"kind": "verify\nemail"},
        {"text": ""},
        {"html": ""},
    ],
)
def test_refuses_bad_fields(changes: dict[str, str]) -> None:
    """No header injection, exactly one recipient, both bodies present."""
    with pytest.raises(ValueError):  # noqa: PT011 - the message is checked below
        message(**changes)


@given(
    st.tuples(st.text(), st.sampled_from(["\n", "\r", "\r\n", "\x00", "\u2028", "\x85"]), st.text())
)
def test_no_line_break_ever_reaches_a_subject(parts: tuple[str, str, str]) -> None:
    subject = "".join(parts)
    with pytest.raises(ValueError, match=r"single line|non-empty"):
        message(subject=subject)


def test_bad_sender_is_refused() -> None:
    with pytest.raises(ValueError, match="sender"):
        message().to_email_message("no sender here")


def test_repr_shows_the_kind_only() -> None:
    """A message in a log or a traceback must not show the address or the link."""
    shown = repr(message(text="https://x.example/#token=secret\n"))
    assert shown == "MailMessage(kind='verify_email')"
    assert "bob" not in shown
    assert "secret" not in shown
