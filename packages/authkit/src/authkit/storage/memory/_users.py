"""The in-memory user store: tests and embedded use; the same contract as the SQL one."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime
from typing import Any

from authkit.errors import Conflict
from authkit.storage.memory._user_admin import MemoryUserAdmin
from authkit.users._model import NewUser, User, canonical
from authkit.users._unicode import (
    confusable_email_conflict,
    needs_confusable_check,
    skeleton_digest,
)


class MemoryUserStore(MemoryUserAdmin):
    """Users in memory (tests, embedded use), with the admin listing."""

    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._lock = threading.Lock()

    def create(self, new: NewUser) -> User:
        keys = {canonical(new.username), canonical(new.email)}
        skeleton = skeleton_digest(new.email) if needs_confusable_check(new.email) else None
        with self._lock:
            for existing in self._users.values():
                if keys & {canonical(existing.username), canonical(existing.email)}:
                    raise Conflict("The username or email is already registered.")
            if skeleton is not None and any(
                skeleton_digest(existing.email) == skeleton for existing in self._users.values()
            ):
                raise confusable_email_conflict()
            user = User(
                id=new.id,
                username=new.username,
                email=new.email,
                roles=tuple(sorted(new.roles)),
                is_active=new.is_active,
                mfa_enabled=False,
                created_at=new.created_at,
                last_login_at=None,
                password_hash=new.password_hash,
            )
            self._users[user.id] = user
            return user

    def get(self, user_id: str) -> User | None:
        return self._users.get(user_id)

    def find_by_login(self, identifier: str) -> User | None:
        key = canonical(identifier)
        for user in list(self._users.values()):
            if key in (canonical(user.username), canonical(user.email)):
                return user
        return None

    def record_login(self, user_id: str, *, at: datetime, new_hash: str | None = None) -> None:
        with self._lock:
            user = self._users[user_id]
            changes: dict[str, object] = {"last_login_at": at}
            if new_hash is not None:
                changes["password_hash"] = new_hash
            self._users[user_id] = dataclasses.replace(user, **changes)  # type: ignore[arg-type]

    def set_password(self, user_id: str, password_hash: str, *, at: datetime) -> None:
        with self._lock:
            self._users[user_id] = dataclasses.replace(
                self._users[user_id], password_hash=password_hash, password_changed_at=at
            )

    def mark_email_verified(self, user_id: str, *, email: str, at: datetime) -> User | None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or canonical(user.email) != canonical(email):
                return None
            return self._put(dataclasses.replace(user, email_verified=True, email_verified_at=at))

    def change_email(
        self, user_id: str, *, old_email: str, new_email: str, at: datetime
    ) -> User | None:
        key = canonical(new_email)
        skeleton = skeleton_digest(new_email) if needs_confusable_check(new_email) else None
        with self._lock:
            user = self._users.get(user_id)
            if user is None or canonical(user.email) != canonical(old_email):
                return None
            others = [u for u in self._users.values() if u.id != user_id]
            if any(key in (canonical(u.username), canonical(u.email)) for u in others):
                raise Conflict("The username or email is already registered.")
            if skeleton is not None and any(skeleton_digest(u.email) == skeleton for u in others):
                raise confusable_email_conflict()
            return self._put(
                dataclasses.replace(
                    user, email=new_email, email_verified=True, email_verified_at=at
                )
            )

    def delete(self, user_id: str) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return False
            self._keep_an_admin(leaving={user_id})
            del self._users[user_id]
            return True

    def count_active(self) -> int:
        return sum(1 for u in self._users.values() if u.is_active)

    def _replace(self, user_id: str, **changes: Any) -> None:
        """Swap in an updated copy of a record (records are frozen)."""
        with self._lock:
            self._users[user_id] = dataclasses.replace(self._users[user_id], **changes)

    def ping(self) -> None:
        return None


__all__ = ["MemoryUserStore"]
