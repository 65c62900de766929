"""Mail over SMTP with the standard library: STARTTLS or implicit TLS, a timeout, retries.

One connection per message: account mail is rare (a few per user per month), and a
fresh connection cannot be a stale one the server dropped while idle.
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from typing import Literal, get_args

from authkit.errors import ConfigurationError, MailDeliveryError
from authkit.mail._message import MailMessage, parse_address

Security = Literal["starttls", "tls", "none"]
"""How the SMTP connection is secured: STARTTLS upgrade, implicit TLS, or none (loopback)."""
Retry = Callable[[Callable[[], None]], None]
"""Runs one attempt function, again as the policy sees fit, and re-raises the last failure.

An attempt raises :class:`MailDeliveryError`; a policy retries it only when
``error.transient`` is true (connection refused, timeout, SMTP 4xx).
"""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpMailer:
    """Sends through an SMTP server (``smtplib``), with TLS unless told otherwise.

    ``security``: ``starttls`` upgrades a plain connection (port 587) and refuses to
    go on if the server does not offer it; ``tls`` is TLS from the first byte (port
    465); ``none`` is plain text, allowed with credentials only to a loopback host
    (a local relay), since the password would otherwise cross the network in clear.
    Certificates are verified against the system store, or ``ssl_context`` (a
    private CA). ``timeout`` bounds every socket operation. Transient failures go
    through ``retry`` (the app's resilience policy); without it each send tries once.

    Errors name the server and the SMTP status only: never the password, the
    recipient or the body (an SMTP reply often repeats the recipient address).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: Security,
        timeout: float = 10.0,
        retry: Retry | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if not host:
            raise ConfigurationError("The SMTP server needs a host.", field="mail_url")
        if not 0 < port < 65536:
            raise ConfigurationError("The SMTP port must be 1-65535.", field="mail_url")
        if security not in get_args(Security):
            raise ConfigurationError(
                "SMTP security must be starttls, tls or none.", field="mail_url"
            )
        if timeout <= 0:
            raise ConfigurationError("The SMTP timeout must be positive.", field="mail_url")
        if (username is None) != (password is None):
            raise ConfigurationError(
                "SMTP credentials need both a user name and a password.", field="mail_url"
            )
        if username is not None and security == "none" and not _is_loopback(host):
            raise ConfigurationError(
                "SMTP credentials would be sent in clear text: use smtps:// or ?starttls=1.",
                field="mail_url",
            )
        try:
            parse_address(sender, what="sender")
        except ValueError as error:
            raise ConfigurationError(str(error), field="mail_from") from None
        self.host = host
        self.port = port
        self.sender = sender
        self.security: Security = security
        self.timeout = timeout
        self._username = username
        self._password = password
        self._retry = retry
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return f"SmtpMailer(host={self.host!r}, port={self.port}, security={self.security!r})"

    def send(self, message: MailMessage) -> None:
        """Hand ``message`` to the server, retrying transient failures through ``retry``.

        Raises :class:`MailDeliveryError` when it could not, after the retries.
        """
        email_message = message.to_email_message(self.sender)
        _, sender_addr = parse_address(self.sender, what="sender")
        _, recipient = parse_address(message.to, what="recipient")

        def attempt() -> None:
            self._send_once(email_message, sender_addr, recipient)

        try:
            if self._retry is None:
                attempt()
            else:
                self._retry(attempt)
        except MailDeliveryError:
            raise
        except Exception as error:
            # A policy may translate our error into its own (and re-raise that):
            # report it as ours, keeping the original cause for the traceback.
            cause = error.__cause__
            transient = isinstance(cause, MailDeliveryError) and cause.transient
            message_text = (
                cause.message
                if isinstance(cause, MailDeliveryError)
                else f"Sending mail via {self._where} failed ({type(error).__name__})."
            )
            raise MailDeliveryError(message_text, transient=transient) from error

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        return self._ssl_context or ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        if self.security == "tls":
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)

    def _send_once(self, email_message: EmailMessage, sender_addr: str, recipient: str) -> None:
        try:
            connection = self._connect()
        except Exception as error:
            raise self._translate(error, "connecting to") from None
        try:
            with connection:
                if self.security == "starttls":
                    connection.ehlo()
                    if not connection.has_extn("starttls"):
                        raise MailDeliveryError(
                            f"The SMTP server {self._where} does not offer STARTTLS.",
                        )
                    connection.starttls(context=self._context())
                    connection.ehlo()
                if self._username is not None and self._password is not None:
                    connection.login(self._username, self._password)
                refused = connection.send_message(
                    email_message, from_addr=sender_addr, to_addrs=[recipient]
                )
                if refused:  # pragma: no cover - one recipient: smtplib raises instead
                    raise MailDeliveryError(f"The SMTP server {self._where} refused the recipient.")
        except MailDeliveryError:
            raise
        except Exception as error:
            raise self._translate(error, "sending through") from None

    def _translate(self, error: BaseException, doing: str) -> MailDeliveryError:
        """Our error for a failure of smtplib, ssl or the socket: safe text, transient flag.

        The server's reply text is left out on purpose: it may repeat the recipient.
        """
        where = self._where
        if isinstance(error, smtplib.SMTPRecipientsRefused):
            codes = sorted({code for code, _ in error.recipients.values()})
            transient = all(400 <= code < 500 for code in codes)
            shown = ", ".join(str(code) for code in codes)
            return MailDeliveryError(
                f"The SMTP server {where} refused the recipient ({shown}).", transient=transient
            )
        if isinstance(error, smtplib.SMTPAuthenticationError):
            return MailDeliveryError(
                f"The SMTP server {where} refused the credentials ({error.smtp_code})."
            )
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return MailDeliveryError(
                f"The SMTP server {where} does not support a required extension."
            )
        if isinstance(error, smtplib.SMTPResponseException):
            code = error.smtp_code
            return MailDeliveryError(
                f"The SMTP server {where} answered {code} while {doing} it.",
                transient=400 <= code < 500,
            )
        if isinstance(error, ssl.SSLCertVerificationError):
            # Retrying cannot fix a certificate: a configuration problem.
            return MailDeliveryError(
                f"The TLS certificate of the SMTP server {where} could not be verified "
                f"({error.verify_message})."
            )
        if isinstance(error, ssl.SSLError):
            return MailDeliveryError(f"TLS with the SMTP server {where} failed ({error.reason}).")
        if isinstance(error, TimeoutError):
            return MailDeliveryError(
                f"The SMTP server {where} did not answer within {self.timeout:g} s.",
                transient=True,
            )
        if isinstance(error, smtplib.SMTPServerDisconnected | OSError):
            reason = getattr(error, "strerror", None) or type(error).__name__
            return MailDeliveryError(
                f"The SMTP server {where} could not be reached ({reason}).", transient=True
            )
        return MailDeliveryError(
            f"{doing.capitalize()} the SMTP server {where} failed ({type(error).__name__})."
        )

    def close(self) -> None:
        """Nothing to release: each message uses its own connection."""
