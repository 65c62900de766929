"""The admin half of ``MemoryUserStore``: listing, activation, roles, bulk changes.

A mixin over the store's ``_users`` dict and ``_lock``, kept apart so the sign-in
store stays small. Every change runs under the one lock, so the check that an
active admin remains and the write it protects are atomic, as in the SQL store.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Iterable, Sequence

from authkit.roles import ADMIN
from authkit.users._model import User, canonical
from authkit.users._query import BulkResult, UserPage, UserQuery, classify, last_admin_conflict


class MemoryUserAdmin:
    _users: dict[str, User]
    _lock: threading.Lock

    def list_users(self, query: UserQuery) -> UserPage:
        with self._lock:
            snapshot = list(self._users.values())
        text = query.text
        matched = sorted(
            (
                user
                for user in snapshot
                if (
                    text is None
                    or text in canonical(user.username)
                    or text in canonical(user.email)
                )
                and (query.is_active is None or user.is_active == query.is_active)
                and (query.role is None or query.role in user.roles)
            ),
            key=lambda user: (user.created_at, user.id),
        )
        after = query.after
        if after is not None:
            start = (after.created_at, after.id)
            matched_after = [u for u in matched if (u.created_at, u.id) > start]
            items = matched_after[: query.page_size]
            more = len(matched_after) > query.page_size
        else:
            items = matched[query.offset : query.offset + query.page_size]
            more = query.offset + len(items) < len(matched)
        return query.page_of(items, total=len(matched), more=more)

    def set_active(self, user_id: str, active: bool) -> User | None:
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            if user.is_active and not active:
                self._keep_an_admin(leaving={user_id})
            return self._put(dataclasses.replace(user, is_active=active))

    def set_roles(self, user_id: str, roles: Iterable[str]) -> User | None:
        wanted = tuple(sorted(set(roles)))
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                return None
            if user.is_active and user.is_admin and ADMIN not in wanted:
                self._keep_an_admin(leaving={user_id})
            return self._put(dataclasses.replace(user, roles=wanted))

    def bulk_set_active(self, ids: Sequence[str], active: bool) -> BulkResult:
        distinct = tuple(dict.fromkeys(ids))
        with self._lock:
            current = {i: self._users[i].is_active for i in distinct if i in self._users}
            result, to_change = classify(distinct, current=current, active=active)
            if not active:
                self._keep_an_admin(leaving=set(to_change))
            for user_id in to_change:
                self._put(dataclasses.replace(self._users[user_id], is_active=active))
            return result

    def count_active_admins(self, excluding: Collection[str] = ()) -> int:
        with self._lock:
            return len(self._active_admins() - set(excluding))

    def _active_admins(self) -> set[str]:
        return {u.id for u in self._users.values() if u.is_active and u.is_admin}

    def _keep_an_admin(self, *, leaving: set[str]) -> None:
        """Raise if losing ``leaving`` empties a non-empty set of active admins (lock held)."""
        admins = self._active_admins()
        if admins & leaving and not admins - leaving:
            raise last_admin_conflict()

    def _put(self, user: User) -> User:
        self._users[user.id] = user
        return user


__all__ = ["MemoryUserAdmin"]
