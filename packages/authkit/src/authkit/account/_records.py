"""One-time action tokens as stored: a hash, a purpose, a binding, an expiry; never the token."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class ActionPurpose(StrEnum):
    """What an emailed link may do; a token of one purpose never works for another."""

    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose name, not a password
    CHANGE_EMAIL = "change_email"


@dataclass(frozen=True, kw_only=True)
class ActionTokenRecord:
    """A stored action token.

    ``binding`` is an HMAC of the state the token guards (the email for a
    verification; the password hash and the email for a reset or an email
    change): once that state changes, the binding no longer matches and the
    token is dead even if unused.
    ``new_email`` is the address an email change confirms (change tokens only).
    """

    token_hash: str = field(repr=False)
    user_id: str
    purpose: ActionPurpose
    binding: str = field(repr=False)
    created_at: datetime
    expires_at: datetime
    new_email: str | None = field(default=None, repr=False)


class ActionTokenStore(Protocol):
    """Where action tokens live; memory and SQL implementations in ``authkit.storage``."""

    def add(self, record: ActionTokenRecord) -> None:
        """Store ``record`` and delete the user's other tokens of the same purpose.

        Only the latest link of each kind works: asking twice leaves one live token.
        """
        ...

    def peek(self, token_hash: str, *, now: datetime) -> ActionTokenRecord | None:
        """The unexpired record of ``token_hash``, without consuming it."""
        ...

    def consume(
        self, token_hash: str, *, purpose: ActionPurpose, now: datetime
    ) -> ActionTokenRecord | None:
        """Delete and return the unexpired token of ``purpose`` in one atomic step.

        Of several concurrent calls with one token at most one gets the record
        (a conditional DELETE, as refresh rotation is a conditional UPDATE).
        """
        ...

    def delete_for_user(self, user_id: str, purposes: tuple[ActionPurpose, ...] = ()) -> int:
        """Delete the user's tokens (of ``purposes``; all when empty)."""
        ...

    def purge(self, *, now: datetime) -> int:
        """Delete expired tokens."""
        ...


__all__ = ["ActionPurpose", "ActionTokenRecord", "ActionTokenStore"]
