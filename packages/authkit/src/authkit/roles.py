"""Role names the core gives a meaning to.

Roles are plain strings so apps may add their own; these are the ones authkit's
own rules test for (admin endpoints, AAL2 session lifetimes, the last-admin
guard), named once so a typo cannot create a role nobody checks.
"""

from __future__ import annotations

from typing import Final

ADMIN: Final = "admin"
"""Administers accounts; gets NIST SP 800-63B AAL2 session lifetimes."""

USER: Final = "user"
"""Every registered account."""

DEFAULT_ROLES: Final[tuple[str, ...]] = (USER,)
"""What a self-registered account gets."""

__all__ = ["ADMIN", "DEFAULT_ROLES", "USER"]
