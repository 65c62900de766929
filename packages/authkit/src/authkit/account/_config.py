"""``AccountConfig``: lifetimes of emailed links, where they point, and the verified-email gate."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass

from authkit.account._records import ActionPurpose
from authkit.errors import ConfigurationError

RESET_PASSWORD_PATH = "/reset-password"  # noqa: S105 - a page path
"""The page a password-reset link opens (the token in its fragment)."""
VERIFY_EMAIL_PATH = "/verify-email"
"""The page a verification link opens."""
CONFIRM_EMAIL_PATH = "/confirm-email"
"""The page an email-change confirmation link opens."""


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountConfig:
    """Account recovery and email settings.

    ``public_url`` is the base of every emailed link (scheme and host, maybe a
    path prefix; no query or fragment): links are ``{public_url}/reset-password#token=...``
    and so on, the token in the fragment so it never reaches a server log or a
    ``Referer`` header. Lifetimes in seconds follow the OWASP Forgot Password Cheat
    Sheet: a reset link is short-lived (30 minutes), a verification or email change
    link lasts a day. ``require_verified_email`` refuses sign-in (``email_unverified``,
    only after a correct password) until the address is verified.
    """

    public_url: str = "http://localhost:8000"
    reset_ttl_seconds: int = 30 * 60
    verify_ttl_seconds: int = 24 * 3600
    email_change_ttl_seconds: int = 24 * 3600
    require_verified_email: bool = False

    def __post_init__(self) -> None:
        for name in ("reset_ttl_seconds", "verify_ttl_seconds", "email_change_ttl_seconds"):
            value = getattr(self, name)
            if type(value) is not int or not 60 <= value <= 30 * 24 * 3600:
                raise ConfigurationError(
                    f"{name} must be a whole number of seconds from 60 to 30 days.", field=name
                )
        parts = urllib.parse.urlsplit(self.public_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigurationError(
                "public_url must be an absolute http:// or https:// URL.", field="public_url"
            )
        if parts.query or parts.fragment or "#" in self.public_url:
            raise ConfigurationError(
                "public_url must not have a query or a fragment.", field="public_url"
            )

    @property
    def lifetimes(self) -> dict[ActionPurpose, int]:
        return {
            ActionPurpose.RESET_PASSWORD: self.reset_ttl_seconds,
            ActionPurpose.VERIFY_EMAIL: self.verify_ttl_seconds,
            ActionPurpose.CHANGE_EMAIL: self.email_change_ttl_seconds,
        }

    def link(self, purpose: ActionPurpose, token: str) -> str:
        """The page link carrying ``token`` in its fragment."""
        path = {
            ActionPurpose.RESET_PASSWORD: RESET_PASSWORD_PATH,
            ActionPurpose.VERIFY_EMAIL: VERIFY_EMAIL_PATH,
            ActionPurpose.CHANGE_EMAIL: CONFIRM_EMAIL_PATH,
        }[purpose]
        return f"{self.public_url.rstrip('/')}{path}#token={token}"


__all__ = ["CONFIRM_EMAIL_PATH", "RESET_PASSWORD_PATH", "VERIFY_EMAIL_PATH", "AccountConfig"]
