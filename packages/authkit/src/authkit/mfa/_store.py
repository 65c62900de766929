"""The contract of an MFA store; memory and SQL implementations live in ``authkit.storage``."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class MfaStore(Protocol):
    """TOTP secrets (encrypted), the last accepted time step, and recovery codes."""

    def get_secret(self, user_id: str) -> str | None:
        """The encrypted secret (pending or enabled), or None."""
        ...

    def set_pending_secret(self, user_id: str, encrypted_secret: str) -> bool:
        """Store a new secret while MFA is not enabled; False if it is enabled."""
        ...

    def enable(self, user_id: str, code_hashes: list[str], *, now: datetime) -> bool:
        """Switch MFA on with fresh recovery codes; False if already enabled."""
        ...

    def disable(self, user_id: str) -> None:
        """Switch MFA off and forget the secret, the last step and the codes."""
        ...

    def claim_step(self, user_id: str, step: int) -> bool:
        """Record ``step`` as used, atomically; False if it or a later step was used.

        One conditional update, so two workers receiving the same code at once
        cannot both accept it (RFC 6238 §5.2: a code is accepted once).
        """
        ...

    def recovery_code_hashes(self, user_id: str) -> list[str]:
        """The stored hashes of the user's unused recovery codes (to find a code's salt)."""
        ...

    def use_recovery_code(self, user_id: str, code_hash: str, *, now: datetime) -> bool:
        """Mark an unused code used, atomically; False if unknown or already used."""
        ...

    def remaining_recovery_codes(self, user_id: str) -> int: ...

    def encrypted_secrets(self, *, after: str | None, limit: int) -> list[tuple[str, str]]:
        """Up to ``limit`` ``(user_id, encrypted_secret)`` pairs, by user id, ids > ``after``.

        Every stored secret, pending or enabled: keyset pages for ``rekey_secrets``.
        """
        ...

    def replace_secret(self, user_id: str, expected: str, encrypted_secret: str) -> bool:
        """Swap the stored secret for ``encrypted_secret`` if it is still ``expected``.

        One conditional update: False when the user set up, enabled or disabled MFA
        meanwhile, so a re-encryption never overwrites a newer secret.
        """
        ...


__all__ = ["MfaStore"]
