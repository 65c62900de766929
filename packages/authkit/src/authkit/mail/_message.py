"""One outgoing message, framework- and transport-free, and the ``Mailer`` protocol."""

from __future__ import annotations

import email.policy
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol


def _single_line(name: str, value: str) -> None:
    if not value:
        raise ValueError(f"A mail message needs a non-empty {name}.")
    if not value.isprintable():
        # A header value with a line break would let its author add headers
        # (header injection); refuse it, and every other control or separator
        # character (NUL, U+2028...), rather than fold or strip.
        raise ValueError(f"The mail {name} must be a single line.")


def parse_address(value: str, *, what: str) -> tuple[str, str]:
    """``(display name, addr-spec)`` of one address; ``ValueError`` unless exactly one.

    The error never repeats the address: it may be a user's email.
    """
    _single_line(what, value)
    # parseaddr is lenient (it returns the first of several); getaddresses
    # tells us how many there were.
    found = email.utils.getaddresses([value])
    if len(found) != 1:
        raise ValueError(f"The mail {what} is not a single valid address.")
    name, addr = found[0]
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in addr) or "," in addr:
        raise ValueError(f"The mail {what} is not a single valid address.")
    return name, addr


@dataclass(frozen=True, kw_only=True, slots=True)
class MailMessage:
    """A message ready to send: one recipient, a subject, a plain-text and an HTML body.

    ``kind`` names the template that made it (``password_reset``, ...): safe to log
    and to use as a metrics label, unlike the recipient or the body, which carry an
    address and often a single-use link.
    """

    to: str
    subject: str
    text: str
    html: str
    kind: str

    def __post_init__(self) -> None:
        parse_address(self.to, what="recipient")
        _single_line("subject", self.subject)
        _single_line("kind", self.kind)
        if not self.text or not self.html:
            raise ValueError("A mail message needs both a plain-text and an HTML body.")

    def to_email_message(self, sender: str) -> EmailMessage:
        """A ``multipart/alternative`` message (text first, HTML preferred by clients).

        ``sender`` is the ``From`` header (``"Name <addr>"`` or a bare address); its
        domain names the ``Message-ID``.
        """
        _, sender_addr = parse_address(sender, what="sender")
        message = EmailMessage(policy=email.policy.default)
        message["From"] = sender
        message["To"] = self.to
        message["Subject"] = self.subject
        message["Date"] = email.utils.format_datetime(datetime.now(UTC))
        message["Message-ID"] = email.utils.make_msgid(domain=sender_addr.rpartition("@")[2])
        # RFC 3834: machine-generated; out-of-office responders should stay quiet.
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(self.text, cte="quoted-printable")
        message.add_alternative(self.html, subtype="html", cte="quoted-printable")
        return message

    def __repr__(self) -> str:
        # The default repr would print the address and the body (with its link).
        return f"MailMessage(kind={self.kind!r})"


class Mailer(Protocol):
    """Delivers messages somewhere: an outbox folder, memory, an SMTP server.

    ``send`` raises :class:`authkit.errors.MailDeliveryError` (and only that) when the
    message could not be handed over; ``transient`` on it tells a retry policy
    whether trying again may help. ``close`` releases connections or files.
    """

    def send(self, message: MailMessage) -> None: ...

    def close(self) -> None: ...
