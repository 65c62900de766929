"""Account mail built from templates: a plain-text and an HTML body per message kind.

Templates are ``string.Template`` files shipped in ``authkit/mail/templates/``
(``<kind>.txt`` starting with a ``Subject:`` line, ``<kind>.html`` inserted into
``_layout.html``). An app overrides any of them by passing ``templates`` (a folder
searched first). Every value is HTML-escaped in the HTML body, so a service name or
an address cannot inject markup, and links are checked to be ``http(s)`` URLs
without spaces or quotes before they reach either body.
"""

from __future__ import annotations

import html
from datetime import timedelta
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template
from urllib.parse import urlsplit

from authkit.errors import ConfigurationError
from authkit.mail._message import MailMessage, parse_address

KINDS = (
    "verify_email",
    "password_reset",
    "password_changed",
    "email_change_confirm",
    "email_change_notice",
    "account_deleted",
)
"""Every message kind, also the ``kind`` label of the mail metrics."""


def _describe(valid_for: timedelta | None) -> str:
    if valid_for is None:
        return "It expires soon."
    minutes = max(1, round(valid_for.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"It expires in {hours} hour{'s' if hours != 1 else ''}."
    return f"It expires in {minutes} minute{'s' if minutes != 1 else ''}."


def mask_email(address: str) -> str:
    """``j***@example.com``: enough for the owner to recognise, little for a snooper.

    Used where one address is shown in mail to another (the notice of an email
    change goes to the old address, which may no longer be the owner's).
    """
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _check_link(link: str) -> str:
    parts = urlsplit(link)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(c.isspace() or c in "\"'<>`" for c in link)
    ):
        # The link is built from the public URL setting: a bad one is a misconfiguration.
        raise ConfigurationError(
            "A mail link must be an absolute http(s) URL without spaces or quotes.",
            field="public_url",
        )
    return link


class MailComposer:
    """Builds each account message; ``service_name`` is how mail names the app."""

    def __init__(self, service_name: str, *, templates: Path | None = None) -> None:
        if not service_name.strip() or not service_name.isprintable():
            raise ConfigurationError(
                "The service name in mail must be one non-empty line.", field="service_name"
            )
        self.service_name = service_name.strip()
        self._override = templates
        self._builtin = resources.files("authkit.mail") / "templates"

    def _read(self, name: str) -> str:
        sources: list[Traversable | Path] = []
        if self._override is not None:
            sources.append(self._override)
        sources.append(self._builtin)
        for folder in sources:
            candidate = folder / name
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8")
        raise ConfigurationError(f"The mail template {name} is missing.", field="templates")

    def _compose(self, kind: str, to: str, values: dict[str, str]) -> MailMessage:
        try:
            parse_address(to, what="recipient")
        except ValueError as error:
            raise ConfigurationError(str(error), field="email") from None
        values = {"service": self.service_name, **values}
        escaped = {name: html.escape(value, quote=True) for name, value in values.items()}
        try:
            text_source = Template(self._read(f"{kind}.txt")).substitute(values)
            content = Template(self._read(f"{kind}.html")).substitute(escaped)
            header, blank, text = text_source.partition("\n\n")
            if not header.startswith("Subject:") or "\n" in header or not blank:
                raise ConfigurationError(
                    f"The mail template {kind}.txt must start with one 'Subject:' line "
                    "and a blank line.",
                    field="templates",
                )
            subject = header.removeprefix("Subject:").strip()
            layout = Template(self._read("_layout.html")).substitute(
                {**escaped, "subject": html.escape(subject), "content": content}
            )
        except (KeyError, ValueError) as error:
            if isinstance(error, ConfigurationError):
                raise
            raise ConfigurationError(
                f"The mail template for {kind} uses an unknown or malformed placeholder.",
                field="templates",
            ) from None
        return MailMessage(to=to, subject=subject, text=text.strip() + "\n", html=layout, kind=kind)

    def verify_email(
        self, to: str, link: str, *, valid_for: timedelta | None = None
    ) -> MailMessage:
        """The link that proves ``to`` belongs to the account (on registration, on request)."""
        return self._compose(
            "verify_email", to, {"link": _check_link(link), "expiry": _describe(valid_for)}
        )

    def password_reset(
        self, to: str, link: str, *, valid_for: timedelta | None = None
    ) -> MailMessage:
        """The link to choose a new password (forgot password)."""
        return self._compose(
            "password_reset", to, {"link": _check_link(link), "expiry": _describe(valid_for)}
        )

    def password_changed(self, to: str) -> MailMessage:
        """The notice after a reset or change: every session was signed out."""
        return self._compose("password_changed", to, {})

    def email_change_confirm(
        self, to: str, link: str, *, valid_for: timedelta | None = None
    ) -> MailMessage:
        """To the new address: the link that confirms the change."""
        return self._compose(
            "email_change_confirm",
            to,
            {"link": _check_link(link), "expiry": _describe(valid_for)},
        )

    def email_change_notice(self, to: str, new_email: str) -> MailMessage:
        """To the old address: a change was asked for, to a (masked) new address."""
        return self._compose("email_change_notice", to, {"new_email": mask_email(new_email)})

    def account_deleted(self, to: str) -> MailMessage:
        """To the address of an account that was just deleted."""
        return self._compose("account_deleted", to, {})
