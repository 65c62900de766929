"""Rules for the identifiers of an account: usernames and email addresses.

Usernames are restricted to a portable set of characters and may not contain
``@``, so a sign-in identifier is unambiguously a username or an email address.
Both are NFKC-normalised first (``normalise_identity``), so ``alice`` in
fullwidth letters (U+FF41...) is ``alice``; an email holding an invisible character (``U+200B``
and the like, see ``authkit.users._unicode``) is refused, never silently stripped.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from authkit.errors import ValidationFailed
from authkit.users._unicode import canonical, invisible_characters

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
"""A username: 3 to 64 characters of ASCII letters, digits, ``.``, ``_`` and ``-``, starting with a
letter or digit.
"""
_EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
MAX_EMAIL_LENGTH = 254
MAX_CANONICAL_EMAIL_LENGTH = 320
"""Case folding may lengthen an address (``ß`` -> ``ss``): its column holds 320."""


def normalise_identity(username: str, email: str) -> tuple[str, str]:
    """The username and email as stored: NFKC (RFC 8265's width mapping), trimmed."""
    return (
        unicodedata.normalize("NFKC", username).strip(),
        unicodedata.normalize("NFKC", email).strip(),
    )


def validate_identity(username: str, email: str) -> None:
    """Raise ``ValidationFailed`` naming every invalid field (of normalised values)."""
    errors: list[dict[str, Any]] = []
    if not USERNAME_PATTERN.fullmatch(username):
        errors.append(
            {
                "loc": ["username"],
                "msg": "Username must be 3-64 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit.",
            }
        )
    invisible = invisible_characters(email)
    if invisible:
        errors.append(
            {
                "loc": ["email"],
                "msg": "Email must not contain invisible or formatting characters "
                f"({', '.join(invisible[:5])}).",
            }
        )
    elif (
        len(email) > MAX_EMAIL_LENGTH
        or len(canonical(email)) > MAX_CANONICAL_EMAIL_LENGTH
        or not _EMAIL_PATTERN.fullmatch(email)
    ):
        errors.append({"loc": ["email"], "msg": "Email must be a valid email address."})
    if errors:
        raise ValidationFailed(errors)


__all__ = ["USERNAME_PATTERN", "normalise_identity", "validate_identity"]
