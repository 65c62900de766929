"""The optional online breached-password check: the HIBP Pwned Passwords range API.

NIST SP 800-63B-4 §3.1.1.2 asks verifiers to refuse passwords obtained from previous
breach corpuses. Have I Been Pwned publishes hundreds of millions of them behind a
k-anonymity API: the client sends only the first 5 hex characters of the password's
SHA-1 and compares the returned suffixes itself, so neither the password nor its hash
leaves the process. ``Add-Padding: true`` makes every answer about the same size, so
an observer of the (TLS) traffic cannot guess the prefix from the response length.

It uses only the standard library (no new dependency) and never blocks a sign-up
for long: a bounded timeout, and on any failure it fails open (the password passes
this check; the offline list still applies) or, if configured, closed (the password
is treated as compromised). Failures are logged without the password or its hash.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import ClassVar

from authkit.passwords._policy import PasswordChecker, PasswordContext, Violation

__all__ = ["DEFAULT_HIBP_URL", "HibpRangeChecker", "NotBreached"]

DEFAULT_HIBP_URL = "https://api.pwnedpasswords.com"
"""The Have I Been Pwned range API (k-anonymity: only 5 hex digits of the hash leave)."""
_MAX_RESPONSE_BYTES = 1 << 20
_PREFIX_LENGTH = 5

logger = logging.getLogger("authkit.passwords")


class _BadResponseError(Exception):
    pass


@dataclass(frozen=True, kw_only=True, slots=True)
class NotBreached:
    """Not in a corpus of breached passwords (SP 800-63B-4 §3.1.1.2).

    Any ``PasswordChecker`` will do: ``HibpRangeChecker()``, or an offline corpus.
    """

    code: ClassVar[str] = "breached_password"
    checker: PasswordChecker

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        if not self.checker.is_compromised(password):
            return []
        message = "This password has appeared in a data breach; choose a different one."
        return [Violation(code=self.code, message=message)]


@dataclass(frozen=True, kw_only=True, slots=True)
class HibpRangeChecker:
    """A ``PasswordChecker`` asking the Pwned Passwords range API (k-anonymity).

    ``fail_open=True`` (the default) answers "not compromised" when the service is
    unreachable, slow, or answers nonsense; ``False`` answers "compromised", which
    refuses every new password while the service is down. ``min_count`` is how many
    breach sightings make a password compromised.
    """

    base_url: str = DEFAULT_HIBP_URL
    timeout: float = 2.0
    fail_open: bool = True
    min_count: int = 1
    user_agent: str = "authkit-password-check"

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            raise ValueError("base_url must be an absolute http(s) URL")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.min_count < 1:
            raise ValueError("min_count must be at least 1")

    def is_compromised(self, password: str) -> bool:
        """Whether the password appears in the corpus at least ``min_count`` times."""
        digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False)
        full = digest.hexdigest().upper()
        prefix, suffix = full[:_PREFIX_LENGTH], full[_PREFIX_LENGTH:]
        try:
            body = self._fetch_range(prefix)
            return _count(body, suffix) >= self.min_count
        except (OSError, http.client.HTTPException, UnicodeDecodeError, _BadResponseError) as exc:
            # OSError covers URLError, HTTPError, timeouts and refused connections.
            logger.warning(
                "Pwned Passwords range query failed (%s); failing %s",
                type(exc).__name__,
                "open" if self.fail_open else "closed",
            )
            return not self.fail_open

    def _fetch_range(self, prefix: str) -> str:
        url = f"{self.base_url.rstrip('/')}/range/{prefix}"
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __post_init__
            url,
            headers={"Add-Padding": "true", "User-Agent": self.user_agent},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body: bytes = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise
        if len(body) > _MAX_RESPONSE_BYTES:
            raise _BadResponseError("response too large")
        return body.decode("ascii")


def _count(body: str, suffix: str) -> int:
    """The count for ``suffix`` in ``SUFFIX:COUNT`` lines; padding lines count 0."""
    for line in body.splitlines():
        candidate, sep, count = line.strip().partition(":")
        if not sep:
            continue
        if candidate.upper() == suffix:
            try:
                return int(count)
            except ValueError:
                raise _BadResponseError("malformed count") from None
    return 0
