"""Device tokens: proof that a browser or app signed in to an account before.

They follow OWASP's "Slow Down Online Guessing Attacks with Device Cookies": a
successful sign-in hands the client a token binding (account, nonce); a later
sign-in that presents it is counted against that device's own failure budget
instead of the account-wide one, so a stranger who spends the account's budget
from rotating addresses cannot lock the owner out of their known devices.

A device token authenticates nobody: the password (and second factor) is still
needed. It only chooses which budget an attempt spends. Hence the design:

- **Stateless, HMAC-SHA256**, keyed with a key derived from the config's
  ``secret_key``. Every worker and host verifies it with the secret it already
  has: no table, no write per sign-in, no purge job. What a stored token would
  add, revoking one device, buys little for a token that opens nothing: a stolen
  one gives its holder one device budget (10 failures an hour by default) on
  that one account, and rotating ``secret_key`` revokes them all.
- The account is bound by the MAC, not written in the token, so a token names no
  account to whoever reads it: ``dt1.<nonce>.<expiry>.<mac>``, the MAC over the
  version, the user id, the nonce and the expiry.
- The nonce (128 random bits) identifies the device to the throttle; a fresh
  token (new nonce) is issued at every successful sign-in.
- The token expires (90 days by default, ``ThrottleRules.device_token_ttl_seconds``):
  a device unused for that long is a stranger again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field

from authkit.clock import Clock, SystemClock

_VERSION = "dt1"
_NONCE_BYTES = 16
_FORMAT = re.compile(r"dt1\.([A-Za-z0-9_-]{22})\.([0-9]{1,12})\.([A-Za-z0-9_-]{43})")
MAX_DEVICE_TOKEN_CHARS = 128
"""Longer input is no device token of ours; callers may refuse it unread."""


@dataclass(frozen=True, kw_only=True)
class IssuedDeviceToken:
    """A new device token, the device id (its nonce) and its lifetime in seconds."""

    token: str = field(repr=False)
    device_id: str
    expires_in: int


class DeviceTokens:
    """Issues and verifies device tokens for accounts (by user id)."""

    def __init__(self, key: bytes, *, ttl_seconds: int, clock: Clock | None = None) -> None:
        if len(key) < 16:
            raise ValueError("A device-token key needs at least 128 bits.")
        self._key = key
        self._ttl = ttl_seconds
        self._clock = clock or SystemClock()

    def issue(self, user_id: str) -> IssuedDeviceToken:
        nonce = _b64(secrets.token_bytes(_NONCE_BYTES))
        expires = int(self._clock.now().timestamp()) + self._ttl
        mac = self._mac(user_id, nonce, expires)
        return IssuedDeviceToken(
            token=f"{_VERSION}.{nonce}.{expires}.{mac}", device_id=nonce, expires_in=self._ttl
        )

    def verify(self, token: str | None, user_id: str) -> str | None:
        """The device id of a valid, unexpired token issued to ``user_id``; else None.

        Never raises: a malformed, forged, expired or other account's token is
        simply no known device, and the sign-in is counted as any stranger's.
        """
        if not token or len(token) > MAX_DEVICE_TOKEN_CHARS:
            return None
        match = _FORMAT.fullmatch(token)
        if match is None:
            return None
        nonce, expires_text, mac = match.groups()
        expires = int(expires_text)
        if not hmac.compare_digest(self._mac(user_id, nonce, expires), mac):
            return None
        if expires <= self._clock.now().timestamp():
            return None
        return nonce

    def _mac(self, user_id: str, nonce: str, expires: int) -> str:
        message = "\x1f".join((_VERSION, user_id, nonce, str(expires)))
        digest = hmac.new(self._key, message.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return _b64(digest.digest())

    def __repr__(self) -> str:
        return f"DeviceTokens(ttl_seconds={self._ttl}, <key hidden>)"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


__all__ = ["MAX_DEVICE_TOKEN_CHARS", "DeviceTokens", "IssuedDeviceToken"]
