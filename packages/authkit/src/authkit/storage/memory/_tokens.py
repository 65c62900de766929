"""The in-memory refresh-token store: the same contract as the SQL one, under one lock."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Collection
from datetime import datetime

from authkit.tokens._records import RefreshTokenRecord
from authkit.tokens._store import RotationOutcome, RotationResult, SuccessorFactory


class MemoryRefreshTokenStore:
    """Refresh tokens in memory; rotation is atomic under a lock."""

    def __init__(self) -> None:
        self._by_hash: dict[str, RefreshTokenRecord] = {}
        self._lock = threading.Lock()

    def add(self, record: RefreshTokenRecord) -> None:
        with self._lock:
            self._by_hash[record.token_hash] = record

    def get_by_hash(self, token_hash: str) -> RefreshTokenRecord | None:
        return self._by_hash.get(token_hash)

    def rotate(
        self, token_hash: str, *, now: datetime, successor: SuccessorFactory
    ) -> RotationResult:
        with self._lock:
            record = self._by_hash.get(token_hash)
            if record is None:
                return RotationResult(outcome=RotationOutcome.INVALID)
            usable = (
                record.used_at is None
                and record.revoked_at is None
                and record.expires_at > now
                and record.family_expires_at > now
            )
            if usable:
                consumed = dataclasses.replace(record, used_at=now)
                new = successor(consumed)
                self._by_hash[token_hash] = dataclasses.replace(consumed, replaced_by=new.jti)
                self._by_hash[new.token_hash] = new
                return RotationResult(
                    outcome=RotationOutcome.ROTATED, consumed=consumed, successor=new
                )
            if record.used_at is not None:
                self._revoke(lambda r: r.family_id == record.family_id, now)
                return RotationResult(outcome=RotationOutcome.REUSED, consumed=record)
            return RotationResult(outcome=RotationOutcome.INVALID, consumed=record)

    def family_is_live(self, family_id: str, *, now: datetime) -> bool:
        return any(
            r.family_id == family_id and r.revoked_at is None and r.family_expires_at > now
            for r in list(self._by_hash.values())
        )

    def revoke_family(self, family_id: str, *, now: datetime) -> int:
        with self._lock:
            return self._revoke(lambda r: r.family_id == family_id, now)

    def revoke_user(self, user_id: str, *, now: datetime, except_family: str | None = None) -> int:
        with self._lock:
            return self._revoke(
                lambda r: r.user_id == user_id and r.family_id != except_family, now
            )

    def revoke_users(self, user_ids: Collection[str], *, now: datetime) -> int:
        wanted = set(user_ids)
        with self._lock:
            return self._revoke(lambda r: r.user_id in wanted, now)

    def delete_user(self, user_id: str) -> int:
        with self._lock:
            dead = [h for h, r in self._by_hash.items() if r.user_id == user_id]
            for h in dead:
                del self._by_hash[h]
            return len(dead)

    def purge(self, *, now: datetime) -> int:
        with self._lock:
            dead = [
                h
                for h, r in self._by_hash.items()
                if r.revoked_at is not None or r.expires_at <= now or r.family_expires_at <= now
            ]
            for h in dead:
                del self._by_hash[h]
            return len(dead)

    def _revoke(self, match: Callable[[RefreshTokenRecord], bool], now: datetime) -> int:
        count = 0
        for h, r in list(self._by_hash.items()):
            if r.revoked_at is None and match(r):
                self._by_hash[h] = dataclasses.replace(r, revoked_at=now)
                count += 1
        return count


__all__ = ["MemoryRefreshTokenStore"]
