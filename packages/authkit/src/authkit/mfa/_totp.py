"""TOTP codes (RFC 6238) through pyotp, with an injected clock.

Verification reports which time step matched, so the caller can refuse a code
for a step already used (replay prevention across workers lives in the store).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import pyotp

from authkit.clock import Clock, SystemClock

DIGITS = 6
"""Digits of a TOTP code (RFC 6238)."""
PERIOD = 30
"""Seconds per TOTP time step (RFC 6238)."""


@dataclass(frozen=True, kw_only=True)
class TotpConfig:
    """The issuer authenticator apps show, and the clock skew tolerated in steps."""

    issuer: str
    skew_steps: int = 1  # RFC 6238 §5.2: one step either way for clock drift


class Totp:
    """RFC 6238 codes: new secrets, provisioning URIs, and which step a code matches."""

    def __init__(self, config: TotpConfig, *, clock: Clock | None = None) -> None:
        self.config = config
        self._clock = clock or SystemClock()

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32(length=32)

    def provisioning_uri(self, secret: str, account_name: str) -> str:
        return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
            name=account_name, issuer_name=self.config.issuer
        )

    def current_step(self) -> int:
        return int(self._clock.now().timestamp()) // PERIOD

    def code_at(self, secret: str, step: int) -> str:
        return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).generate_otp(step))

    def matching_step(self, secret: str, code: str) -> int | None:
        """The time step ``code`` is valid for within the skew window, or None."""
        code = code.strip().replace(" ", "")
        # isascii(): str.isdigit() accepts other scripts' digits (Arabic-Indic,
        # full-width), which hmac.compare_digest refuses with a TypeError.
        if len(code) != DIGITS or not (code.isascii() and code.isdigit()):
            return None
        now = self.current_step()
        found: int | None = None
        for step in range(now - self.config.skew_steps, now + self.config.skew_steps + 1):
            # Compare every candidate (no early exit) in constant time.
            if hmac.compare_digest(self.code_at(secret, step), code) and found is None:
                found = step
        return found


__all__ = ["DIGITS", "PERIOD", "Totp", "TotpConfig"]
