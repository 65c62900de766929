"""In-memory ``MfaStore``, sharing the user records of a ``MemoryUserStore``."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime

from authkit.storage.memory._users import MemoryUserStore


@dataclasses.dataclass
class _State:
    secret: str | None = None
    last_step: int | None = None
    codes: dict[str, datetime | None] = dataclasses.field(default_factory=dict)


class MemoryMfaStore:
    """TOTP state in memory, beside a ``MemoryUserStore``."""

    def __init__(self, users: MemoryUserStore) -> None:
        self._users = users
        self._state: dict[str, _State] = {}
        self._lock = threading.Lock()

    def _enabled(self, user_id: str) -> bool:
        user = self._users.get(user_id)
        return bool(user and user.mfa_enabled)

    def _set_enabled(self, user_id: str, enabled: bool) -> None:
        # The flag lives on the user record, as it does in the SQL tables.
        self._users._replace(user_id, mfa_enabled=enabled)

    def get_secret(self, user_id: str) -> str | None:
        state = self._state.get(user_id)
        return state.secret if state else None

    def set_pending_secret(self, user_id: str, encrypted_secret: str) -> bool:
        with self._lock:
            if self._enabled(user_id) or self._users.get(user_id) is None:
                return False
            self._state[user_id] = _State(secret=encrypted_secret)
            return True

    def enable(self, user_id: str, code_hashes: list[str], *, now: datetime) -> bool:
        with self._lock:
            state = self._state.get(user_id)
            if self._enabled(user_id) or state is None or state.secret is None:
                return False
            state.codes = dict.fromkeys(code_hashes)
            self._set_enabled(user_id, True)
            return True

    def disable(self, user_id: str) -> None:
        with self._lock:
            self._state.pop(user_id, None)
            if self._users.get(user_id) is not None:
                self._set_enabled(user_id, False)

    def claim_step(self, user_id: str, step: int) -> bool:
        with self._lock:
            state = self._state.setdefault(user_id, _State())
            if state.last_step is not None and state.last_step >= step:
                return False
            state.last_step = step
            return True

    def recovery_code_hashes(self, user_id: str) -> list[str]:
        state = self._state.get(user_id)
        return [h for h, used in state.codes.items() if used is None] if state else []

    def use_recovery_code(self, user_id: str, code_hash: str, *, now: datetime) -> bool:
        with self._lock:
            state = self._state.get(user_id)
            if state is None or code_hash not in state.codes or state.codes[code_hash] is not None:
                return False
            state.codes[code_hash] = now
            return True

    def remaining_recovery_codes(self, user_id: str) -> int:
        state = self._state.get(user_id)
        return sum(1 for used in state.codes.values() if used is None) if state else 0

    def encrypted_secrets(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        with self._lock:
            pairs = sorted(
                (user_id, state.secret)
                for user_id, state in self._state.items()
                if state.secret is not None and (after is None or user_id > after)
            )
        return pairs[:limit]

    def replace_secret(self, user_id: str, expected: str, encrypted_secret: str) -> bool:
        with self._lock:
            state = self._state.get(user_id)
            if state is None or state.secret != expected:
                return False
            state.secret = encrypted_secret
            return True


__all__ = ["MemoryMfaStore"]
