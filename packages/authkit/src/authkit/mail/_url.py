"""``open_mailer(url)``: one setting picks the mailer, like ``open_stores`` for storage."""

from __future__ import annotations

import ssl
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from authkit.errors import ConfigurationError
from authkit.mail._local import FileOutboxMailer, MemoryMailer
from authkit.mail._message import Mailer
from authkit.mail._smtp import Retry, Security, SmtpMailer

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_SMTP_OPTIONS = frozenset({"starttls", "cafile", "timeout"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _bad(problem: str) -> ConfigurationError:
    return ConfigurationError(f"Mail URL: {problem}", field="mail_url")


def open_mailer(
    url: str,
    *,
    sender: str,
    retry: Retry | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Mailer:
    """The mailer a URL names.

    - ``memory://``: :class:`MemoryMailer` (tests);
    - ``file:///absolute/dir``: :class:`FileOutboxMailer`, one ``.eml`` per message;
    - ``smtp://user:pass@host:port``: plain SMTP (default port 25); add
      ``?starttls=1`` to upgrade with STARTTLS (then credentials are allowed to any host);
    - ``smtps://user:pass@host:port``: implicit TLS (default port 465).

    SMTP URLs also take ``?timeout=<seconds>`` (default 10) and ``?cafile=<path>``, a
    PEM file of CA certificates to trust instead of the system store (a private CA,
    a test server). User name and password are percent-decoded. ``retry`` (the
    app's resilience policy) and ``ssl_context`` go to :class:`SmtpMailer`; an
    explicit ``ssl_context`` wins over ``cafile``.

    Raises :class:`ConfigurationError` naming the problem; the message never
    repeats the password.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise _bad("it cannot be parsed (check the port and brackets).") from None
    scheme = parts.scheme.lower()
    if scheme == "memory":
        return MemoryMailer()
    if scheme == "file":
        return _file_mailer(parts.netloc, parts.path, parts.query, sender=sender)
    if scheme in _DEFAULT_PORTS:
        return _smtp_mailer(
            scheme,
            host=parts.hostname,
            port=port,
            username=parts.username,
            password=parts.password,
            query=parts.query,
            sender=sender,
            retry=retry,
            ssl_context=ssl_context,
        )
    if not scheme:
        raise _bad("it has no scheme; use memory://, file:///dir, smtp:// or smtps://.")
    raise _bad(f"the scheme {scheme!r} is not supported; use memory, file, smtp or smtps.")


def _file_mailer(netloc: str, path: str, query: str, *, sender: str) -> Mailer:
    if netloc not in ("", "localhost"):
        raise _bad("a file:// URL names a local folder: file:///absolute/dir.")
    if query:
        raise _bad("a file:// URL takes no query options.")
    folder = unquote(path)
    if not folder or not folder.startswith("/"):
        raise _bad("a file:// URL needs an absolute folder: file:///absolute/dir.")
    return FileOutboxMailer(Path(folder), sender=sender)


def _smtp_mailer(
    scheme: str,
    *,
    host: str | None,
    port: int | None,
    username: str | None,
    password: str | None,
    query: str,
    sender: str,
    retry: Retry | None,
    ssl_context: ssl.SSLContext | None,
) -> Mailer:
    if not host:
        raise _bad(f"an {scheme}:// URL needs a host.")
    if username == "" or password == "" or (username is not None and password is None):
        raise _bad("credentials need both a user name and a password (user:password@host).")
    try:
        options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _bad("the query cannot be parsed.") from None
    unknown = sorted(set(options) - _SMTP_OPTIONS)
    if unknown:
        raise _bad(f"unknown option(s) {', '.join(unknown)}; known: cafile, starttls, timeout.")
    for name, values in options.items():
        if len(values) != 1:
            raise _bad(f"the option {name} is given more than once.")
    single = {name: values[0] for name, values in options.items()}

    security: Security = "tls" if scheme == "smtps" else "none"
    if "starttls" in single:
        flag = single["starttls"].lower()
        if flag not in _TRUE | _FALSE:
            raise _bad("starttls must be 1 or 0.")
        if flag in _TRUE:
            if scheme == "smtps":
                raise _bad("smtps:// is TLS already; starttls applies to smtp:// only.")
            security = "starttls"

    timeout = 10.0
    if "timeout" in single:
        try:
            timeout = float(single["timeout"])
        except ValueError:
            raise _bad("timeout must be a number of seconds.") from None
        if not 0 < timeout <= 300:
            raise _bad("timeout must be more than 0 and at most 300 seconds.")

    if "cafile" in single:
        if security == "none":
            raise _bad("cafile needs TLS: use smtps:// or ?starttls=1.")
        if ssl_context is None:
            cafile = single["cafile"]
            if not cafile.startswith("/"):
                raise _bad("cafile must be an absolute path.")
            try:
                ssl_context = ssl.create_default_context(cafile=cafile)
            except (OSError, ssl.SSLError):
                raise _bad("cafile cannot be read as PEM CA certificates.") from None

    return SmtpMailer(
        host,
        port if port is not None else _DEFAULT_PORTS[scheme],
        sender=sender,
        username=unquote(username) if username is not None else None,
        password=unquote(password) if password is not None else None,
        security=security,
        timeout=timeout,
        retry=retry,
        ssl_context=ssl_context,
    )
