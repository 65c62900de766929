"""Rules for the identifiers of an account: usernames and email addresses.

Usernames are restricted to a portable set of characters and may not contain
``@``, so a sign-in identifier is unambiguously a username or an email address.
"""

from __future__ import annotations

import re
from typing import Any

from authkit.errors import ValidationFailed

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
MAX_EMAIL_LENGTH = 254


def validate_identity(username: str, email: str) -> None:
    """Raise ``ValidationFailed`` naming every invalid field."""
    errors: list[dict[str, Any]] = []
    if not USERNAME_PATTERN.fullmatch(username):
        errors.append(
            {
                "loc": ["username"],
                "msg": "Username must be 3-64 characters of letters, digits, '.', '_' or '-', "
                "starting with a letter or digit.",
            }
        )
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL_PATTERN.fullmatch(email):
        errors.append({"loc": ["email"], "msg": "Email must be a valid email address."})
    if errors:
        raise ValidationFailed(errors)


__all__ = ["USERNAME_PATTERN", "validate_identity"]
