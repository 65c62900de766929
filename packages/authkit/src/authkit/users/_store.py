"""The contract of a user store; memory and SQL implementations live in ``authkit.storage``."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Protocol

from authkit.tokens._records import RefreshTokenRecord
from authkit.users._model import NewUser, User
from authkit.users._query import BulkResult, UserPage, UserQuery


class UserStore(Protocol):
    """The contract every user backend implements (memory, SQL)."""

    def create(self, new: NewUser) -> User:
        """Insert a user; raises ``Conflict`` when the username or email is taken."""
        ...

    def get(self, user_id: str) -> User | None: ...

    def find_by_login(self, identifier: str) -> User | None:
        """The user whose canonical username or canonical email equals ``identifier``."""
        ...

    def record_login(self, user_id: str, *, at: datetime, new_hash: str | None = None) -> None:
        """Stamp ``last_login_at``; store ``new_hash`` when the hash was upgraded."""
        ...

    def set_password(self, user_id: str, password_hash: str, *, at: datetime) -> None: ...

    def count_active(self) -> int: ...

    # -- email ownership and erasure (authkit.account) ---------------------------------

    def mark_email_verified(self, user_id: str, *, email: str, at: datetime) -> User | None:
        """Set ``email_verified`` if the account's email is still ``email`` (canonically).

        None when the user is gone or the email changed since: the check and the
        write are one step, so a verification link cannot verify a newer address.
        """
        ...

    def change_email(
        self, user_id: str, *, old_email: str, new_email: str, at: datetime
    ) -> User | None:
        """Replace the email (verified, at ``at``) if it is still ``old_email``.

        Uniqueness, including the look-alike (UTS #39 skeleton) check registration
        makes, is tested again in the same transaction: ``Conflict`` when taken.
        None when the user is gone or the email changed since.
        """
        ...

    def delete(self, user_id: str) -> bool:
        """Delete the user and everything stored under it (roles, tokens, MFA).

        Refused with ``Conflict`` (reason ``last_admin``) when it would leave no
        active admin; the check and the delete are one atomic step. False for an
        unknown id.
        """
        ...

    def ping(self) -> None:
        """Raise if the backing database cannot answer."""
        ...

    # -- administration (listing, activation, roles) -------------------------------
    # Changes that would leave no active admin raise ``Conflict`` (reason
    # ``last_admin``); the check and the write are one atomic step.

    def list_users(self, query: UserQuery) -> UserPage:
        """One page ordered by ``(created_at, id)`` and the count of every match.

        A numbered page (``query.page``) or the page after ``query.after`` (a
        cursor); ``UserPage.next_cursor`` is set exactly when a match follows the
        page. Stores must agree on both (tests/authkit/test_user_listing_cursor.py).
        """
        ...

    def set_active(self, user_id: str, active: bool) -> User | None:
        """Activate or deactivate; None for an unknown id."""
        ...

    def set_roles(self, user_id: str, roles: Iterable[str]) -> User | None:
        """Replace the roles (deduplicated); None for an unknown id."""
        ...

    def bulk_set_active(self, ids: Sequence[str], active: bool) -> BulkResult:
        """Set ``is_active`` on many users in one transaction; each distinct id reported once."""
        ...

    def count_active_admins(self, excluding: Collection[str] = ()) -> int: ...


class SessionUserLookup(Protocol):
    """The bearer check's reads in one round trip (optional; the SQL stores have one).

    Without it ``AuthService`` asks the user store and the refresh-token store
    separately; with it, one statement answers both, always from the database's
    current state, so no guarantee changes.
    """

    def load(
        self, user_id: str, family_id: str | None, *, now: datetime
    ) -> tuple[User | None, bool]:
        """The user (None if absent) and whether ``family_id`` is a live session."""
        ...


class SignInRecorder(Protocol):
    """A sign-in's two writes in one transaction (optional; both backends have one).

    A successful sign-in stamps ``last_login_at`` (and stores an upgraded hash)
    and stores the first token of its new session. Apart, they are two
    transactions, two commits (on SQLite in WAL mode, two fsyncs): together,
    one. Without it ``AuthService`` asks the user store and the refresh-token
    store separately, with the same result.
    """

    def record_sign_in(
        self,
        user_id: str,
        *,
        at: datetime,
        new_hash: str | None,
        family: RefreshTokenRecord,
    ) -> None:
        """Stamp ``last_login_at`` (and ``new_hash``) and store ``family``'s first token."""
        ...


__all__ = ["SessionUserLookup", "SignInRecorder", "UserStore"]
