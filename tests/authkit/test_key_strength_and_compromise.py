"""Issue 14, findings 12 and 13: emergency retirement of a leaked key; 128-bit keys.

12: there was no way to retire a leaked key before its dual-key window ended.
``KeyManager.retire(kid=..., compromised=True)`` removes it at once (replacing the
active key in the same locked write when it is the one), audited as
``keys.retire`` with ``compromised: true``; tokens it signed stop verifying at
the next reload of the ring, on every worker.

13: new RS256 keys are RSA-3072 (128-bit security, NIST SP 800-57); existing
2048-bit keys keep verifying; smaller ones are refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from authkit.clock import FrozenClock
from authkit.errors import InvalidToken, KeyRingError
from authkit.keys import (
    MIN_RSA_KEY_BITS,
    RETIRE_EVENT,
    RSA_KEY_BITS,
    KeyManager,
    KeyRing,
    KeyRingFile,
    KeyStatus,
    SigningKey,
    StaticKeyRingSource,
)
from authkit.tokens import AccessTokenConfig, AccessTokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = timedelta(seconds=930)
CONFIG = AccessTokenConfig(issuer="iss", audience="aud")


class ListAudit:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def log(self, event: str, *, outcome: str, **fields: Any) -> None:
        self.events.append({"event": event, "outcome": outcome, **fields})


def file_manager(tmp_path: Path, audit: ListAudit, clock: FrozenClock) -> KeyManager:
    return KeyManager.from_file(
        KeyRingFile(tmp_path / "keyring.json", clock=clock),
        window=WINDOW,
        audit=audit,
        clock=clock,
        check_interval=0,
    )


# --- 13: key strength ---------------------------------------------------------------


def test_new_rs256_keys_are_3072_bits() -> None:
    key = SigningKey.generate("RS256", created_at=NOW, status=KeyStatus.ACTIVE)
    assert RSA_KEY_BITS == 3072
    assert key.signing_key.key_size == 3072


def rsa_jwk(bits: int, kid: str) -> dict[str, Any]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private, as_dict=True)
    jwk.update(
        {
            "kid": kid,
            "alg": "RS256",
            "use": "sig",
            "status": "active",
            "created_at": NOW.isoformat(),
        }
    )
    return jwk


def test_an_existing_2048_bit_ring_keeps_signing_and_verifying() -> None:
    ring = KeyRing.from_jwk_set({"keys": [rsa_jwk(2048, "old-2048")]})
    tokens = AccessTokens(StaticKeyRingSource(ring), CONFIG)
    token = tokens.issue(subject="u", roles=()).token
    assert tokens.verify(token).kid == "old-2048"
    rotated = ring.rotate(now=NOW)  # the next key is 3072 bits, same algorithm
    assert rotated.active.alg == "RS256"
    assert rotated.active.signing_key.key_size == 3072
    assert AccessTokens(StaticKeyRingSource(rotated), CONFIG).verify(token).kid == "old-2048"


def test_rsa_keys_under_2048_bits_are_refused() -> None:
    assert MIN_RSA_KEY_BITS == 2048
    with pytest.raises(KeyRingError):
        KeyRing.from_jwk_set({"keys": [rsa_jwk(1024, "weak")]})


# --- 12: emergency retirement ------------------------------------------------------------


def test_a_compromised_verify_only_key_goes_at_once(tmp_path: Path) -> None:
    audit, clock = ListAudit(), FrozenClock(NOW)
    manager = file_manager(tmp_path, audit, clock)
    tokens = AccessTokens(manager, CONFIG, clock=clock)
    leaked = manager.current().active.kid
    old_token = tokens.issue(subject="u", roles=()).token
    manager.rotate()
    assert tokens.verify(old_token).kid == leaked  # inside the window
    with pytest.raises(KeyRingError, match="window has not passed"):
        manager.retire(kid=leaked)

    assert manager.retire(kid=leaked, compromised=True) == [leaked]
    with pytest.raises(InvalidToken):
        tokens.verify(old_token)
    assert leaked not in {k.kid for k in manager.current().keys}
    assert leaked not in json.dumps(manager.jwks())
    assert audit.events[-1] == {
        "event": RETIRE_EVENT,
        "outcome": "success",
        "kids": [leaked],
        "compromised": True,
    }


def test_a_compromised_active_key_is_replaced_and_goes_in_one_step(tmp_path: Path) -> None:
    audit, clock = ListAudit(), FrozenClock(NOW)
    manager = file_manager(tmp_path, audit, clock)
    tokens = AccessTokens(manager, CONFIG, clock=clock)
    leaked = manager.current().active.kid
    token = tokens.issue(subject="u", roles=()).token

    manager.retire(kid=leaked, compromised=True)
    ring = KeyRingFile(tmp_path / "keyring.json").load()  # what every worker reloads
    assert [k.kid for k in ring.keys] == [ring.active.kid]
    assert ring.active.kid != leaked
    assert ring.active.alg == "RS256"
    with pytest.raises(InvalidToken):
        tokens.verify(token)
    fresh = tokens.issue(subject="u", roles=()).token
    assert tokens.verify(fresh).kid == ring.active.kid
    assert audit.events[-1]["compromised"] is True
    assert audit.events[-1]["activated"] == ring.active.kid
    assert audit.events[-1]["kids"] == [leaked]


def test_another_worker_stops_accepting_the_key_at_its_next_reload(tmp_path: Path) -> None:
    """Two managers on one file stand for two workers: the second reloads and refuses."""
    clock = FrozenClock(NOW)
    operator = file_manager(tmp_path, ListAudit(), clock)
    worker = AccessTokens(file_manager(tmp_path, ListAudit(), clock), CONFIG, clock=clock)
    token = worker.issue(subject="u", roles=()).token
    operator.retire(kid=operator.current().active.kid, compromised=True)
    with pytest.raises(InvalidToken):
        worker.verify(token)


def test_compromised_retirement_needs_a_known_kid(tmp_path: Path) -> None:
    manager = file_manager(tmp_path, ListAudit(), FrozenClock(NOW))
    with pytest.raises(KeyRingError, match="Name the compromised key"):
        manager.retire(compromised=True)
    with pytest.raises(KeyRingError, match="No key with kid"):
        manager.retire(kid="nope", compromised=True)
    assert len(manager.current().keys) == 1


def test_in_memory_rings_retire_compromised_keys_too() -> None:
    audit = ListAudit()
    manager = KeyManager.in_memory(window=WINDOW, alg="ES256", audit=audit, clock=FrozenClock(NOW))
    leaked = manager.current().active.kid
    manager.retire(kid=leaked, compromised=True)
    assert manager.current().active.kid != leaked
    assert manager.current().active.alg == "ES256"
