"""The in-memory action-token store: the same contract as the SQL one, under one lock."""

from __future__ import annotations

import threading
from datetime import datetime

from authkit.account._records import ActionPurpose, ActionTokenRecord


class MemoryActionTokenStore:
    """Action tokens in a dict under one lock (tests, one process); the SQL store's contract."""

    def __init__(self) -> None:
        self._by_hash: dict[str, ActionTokenRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: ActionTokenRecord) -> None:
        with self._lock:
            for h, r in list(self._by_hash.items()):
                if r.user_id == record.user_id and r.purpose is record.purpose:
                    del self._by_hash[h]
            self._by_hash[record.token_hash] = record

    def peek(self, token_hash: str, *, now: datetime) -> ActionTokenRecord | None:
        record = self._by_hash.get(token_hash)
        return record if record is not None and record.expires_at > now else None

    def consume(
        self, token_hash: str, *, purpose: ActionPurpose, now: datetime
    ) -> ActionTokenRecord | None:
        with self._lock:
            record = self._by_hash.get(token_hash)
            if record is None or record.purpose is not purpose or record.expires_at <= now:
                return None
            del self._by_hash[token_hash]
            return record

    def delete_for_user(self, user_id: str, purposes: tuple[ActionPurpose, ...] = ()) -> int:
        with self._lock:
            dead = [
                h
                for h, r in self._by_hash.items()
                if r.user_id == user_id and (not purposes or r.purpose in purposes)
            ]
            for h in dead:
                del self._by_hash[h]
            return len(dead)

    def purge(self, *, now: datetime) -> int:
        with self._lock:
            dead = [h for h, r in self._by_hash.items() if r.expires_at <= now]
            for h in dead:
                del self._by_hash[h]
            return len(dead)


__all__ = ["MemoryActionTokenStore"]
