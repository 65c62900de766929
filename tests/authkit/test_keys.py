"""The key ring: generation, the one-active invariant, rotation, retirement, JWKS, the file."""

from __future__ import annotations

import json
import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from authkit.errors import KeyRingError
from authkit.keys import (
    ALGORITHMS,
    Algorithm,
    KeyRing,
    KeyRingFile,
    KeyStatus,
    SigningKey,
    StaticKeyRingSource,
)
from authkit.tokens import AccessTokenConfig, AccessTokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k", "oth")


@pytest.fixture(scope="module")
def keys_by_alg() -> dict[str, SigningKey]:
    """One generated key per algorithm (RSA generation is the slow part: do it once)."""
    return {
        alg: SigningKey.generate(alg, created_at=NOW, status=KeyStatus.ACTIVE) for alg in ALGORITHMS
    }


def secret_values(key: SigningKey) -> list[str]:
    jwk = key.to_private_jwk()
    return [str(jwk[m]) for m in PRIVATE_MEMBERS if m in jwk]


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_generate_each_algorithm(alg: Algorithm, keys_by_alg: dict[str, SigningKey]) -> None:
    """Each algorithm generates a usable key whose private JWK names it."""
    key = keys_by_alg[alg]
    assert key.alg == alg
    assert key.status is KeyStatus.ACTIVE
    assert len(key.kid) >= 16
    jwk = key.to_private_jwk()
    assert jwk["alg"] == alg
    assert jwk["kid"] == key.kid
    assert jwk["use"] == "sig"
    assert jwk["status"] == "active"
    assert datetime.fromisoformat(jwk["created_at"]) == NOW
    assert secret_values(key), "the private JWK carries private members"
    assert key.is_asymmetric is (alg != "HS256")


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_each_algorithm_signs_and_verifies(alg: Algorithm) -> None:
    """A ring of any algorithm issues access tokens that it verifies."""
    ring = KeyRing.generate(alg, now=NOW)
    tokens = AccessTokens(
        StaticKeyRingSource(ring), AccessTokenConfig(issuer="https://i", audience="a")
    )
    assert tokens.verify(tokens.issue(subject="u", roles=()).token).kid == ring.active.kid


def test_kids_are_unique() -> None:
    """Generated kids do not collide."""
    kids = {
        SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.ACTIVE).kid for _ in range(50)
    }
    assert len(kids) == 50


def test_default_algorithm_is_rs256() -> None:
    """The default is the asymmetric algorithm cheapest to verify on the target machine."""
    assert KeyRing.generate(now=NOW).active.alg == "RS256"


@pytest.mark.parametrize("actives", [0, 2])
def test_exactly_one_active_key(actives: int) -> None:
    """A ring with zero or two active keys is refused."""
    keys = [
        SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.ACTIVE)
        for _ in range(actives)
    ]
    keys.append(SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.VERIFY_ONLY))
    with pytest.raises(KeyRingError):
        KeyRing(tuple(keys))


def test_duplicate_kids_are_refused() -> None:
    """Two keys with one kid would make verification ambiguous."""
    key = SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.ACTIVE)
    with pytest.raises(KeyRingError):
        KeyRing((key, key.with_status(KeyStatus.VERIFY_ONLY)))


def test_rotate_adds_active_and_demotes_old() -> None:
    """Rotation adds one active key and demotes the previous active one to verify-only."""
    ring = KeyRing.generate("ES256", now=NOW)
    old = ring.active
    later = NOW + timedelta(days=1)
    rotated = ring.rotate(now=later)
    assert len(rotated.keys) == 2
    assert rotated.active.kid != old.kid
    assert rotated.active.created_at == later
    assert rotated.active.alg == "ES256", "the algorithm is kept unless one is given"
    assert [k.status for k in rotated.keys if k.kid == old.kid] == [KeyStatus.VERIFY_ONLY]
    assert rotated.verification_key(old.kid) is not None
    assert ring.active.kid == old.kid, "rings are immutable"
    switched = rotated.rotate("EdDSA", now=later)
    assert switched.active.alg == "EdDSA"
    assert sum(k.status is KeyStatus.ACTIVE for k in switched.keys) == 1
    assert sum(k.status is KeyStatus.VERIFY_ONLY for k in switched.keys) == 2


def test_retire_keeps_keys_inside_the_window() -> None:
    """Before the window has passed since the rotation, nothing is removed."""
    ring = KeyRing.generate("HS256", now=NOW).rotate(now=NOW + timedelta(hours=1))
    kept, removed = ring.retire(
        now=NOW + timedelta(hours=1, minutes=14), window=timedelta(minutes=15)
    )
    assert removed == []
    assert kept.keys == ring.keys


def test_retire_removes_non_active_keys_past_the_window() -> None:
    """After the window, verify-only and retired keys go; the active key stays."""
    first = KeyRing.generate("HS256", now=NOW)
    rotated = first.rotate(now=NOW + timedelta(hours=1))
    retired = SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.RETIRED)
    ring = KeyRing((*rotated.keys, retired))
    kept, removed = ring.retire(
        now=NOW + timedelta(hours=1, minutes=15), window=timedelta(minutes=15)
    )
    assert sorted(removed) == sorted([first.active.kid, retired.kid])
    assert kept.keys == (rotated.active,)


def test_retire_never_removes_the_active_key() -> None:
    """Even a very old active key survives retirement with a zero window."""
    ring = KeyRing.generate("HS256", now=NOW)
    kept, removed = ring.retire(now=NOW + timedelta(days=3650), window=timedelta(0))
    assert removed == []
    assert kept.active.kid == ring.active.kid


def test_retired_keys_no_longer_verify() -> None:
    """A key in the retired state is unknown to verification."""
    ring = KeyRing.generate("HS256", now=NOW)
    retired = SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.RETIRED)
    ring = KeyRing((*ring.keys, retired))
    assert ring.verification_key(retired.kid) is None
    assert ring.verification_key(ring.active.kid) is ring.active
    assert ring.verification_key("no-such-kid") is None


def test_jwks_publishes_only_public_asymmetric_non_retired_keys(
    keys_by_alg: dict[str, SigningKey],
) -> None:
    """JWKS: public keys of active and verify-only asymmetric keys; never HS256 or retired."""
    active = keys_by_alg["RS256"]
    verify_es = keys_by_alg["ES256"].with_status(KeyStatus.VERIFY_ONLY)
    verify_ed = keys_by_alg["EdDSA"].with_status(KeyStatus.VERIFY_ONLY)
    hmac_key = keys_by_alg["HS256"].with_status(KeyStatus.VERIFY_ONLY)
    retired = SigningKey.generate("ES256", created_at=NOW, status=KeyStatus.RETIRED)
    ring = KeyRing((active, verify_es, verify_ed, hmac_key, retired))
    jwks = ring.jwks()
    assert set(jwks) == {"keys"}
    published = {jwk["kid"]: jwk for jwk in jwks["keys"]}
    assert set(published) == {active.kid, verify_es.kid, verify_ed.kid}
    for key in (active, verify_es, verify_ed):
        jwk = published[key.kid]
        assert jwk["alg"] == key.alg
        assert jwk["use"] == "sig"
        for member in PRIVATE_MEMBERS:
            assert member not in jwk
        assert "sign" not in jwk.get("key_ops", [])
        assert "status" not in jwk
        assert "created_at" not in jwk
    text = json.dumps(jwks)
    for key in (active, verify_es, verify_ed, hmac_key, retired):
        for secret in secret_values(key):
            assert secret not in text
    assert published[active.kid]["kty"] == "RSA"
    assert published[verify_es.kid]["crv"] == "P-256"
    assert published[verify_ed.kid]["crv"] == "Ed25519"


def test_public_jwk_of_symmetric_key_is_none(keys_by_alg: dict[str, SigningKey]) -> None:
    """An HS256 secret is never published."""
    assert keys_by_alg["HS256"].public_jwk() is None


def test_jwk_set_round_trip(keys_by_alg: dict[str, SigningKey]) -> None:
    """to_jwk_set / from_jwk_set keep kid, alg, status, created_at and the key material."""
    ring = KeyRing(
        (
            keys_by_alg["RS256"],
            keys_by_alg["ES256"].with_status(KeyStatus.VERIFY_ONLY),
            keys_by_alg["EdDSA"].with_status(KeyStatus.VERIFY_ONLY),
            keys_by_alg["HS256"].with_status(KeyStatus.RETIRED),
        )
    )
    again = KeyRing.from_jwk_set(json.loads(json.dumps(ring.to_jwk_set())))
    assert again.keys == ring.keys
    for before, after in zip(ring.keys, again.keys, strict=True):
        assert before.to_private_jwk() == after.to_private_jwk()


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {},
        {"keys": {}},
        {"keys": ["not an object"]},
        {"keys": [{"kid": "x"}]},
        {"keys": [{"kid": "x", "alg": "none", "status": "active", "created_at": NOW.isoformat()}]},
        {"keys": [{"kid": "x", "alg": "HS256", "status": "bogus", "created_at": NOW.isoformat()}]},
        {"keys": [{"kid": "x", "alg": "HS256", "status": "active", "created_at": "yesterday"}]},
        {
            "keys": [
                {
                    "kid": "x",
                    "alg": "HS256",
                    "status": "active",
                    "created_at": NOW.isoformat(),
                    "kty": "oct",
                    "k": "c2hvcnQ",  # 5 bytes: below the 256-bit minimum
                }
            ]
        },
    ],
)
def test_malformed_jwk_sets_raise_keyring_error(data: Any) -> None:
    """Any unusable structure is a KeyRingError, never a KeyError or TypeError."""
    with pytest.raises(KeyRingError):
        KeyRing.from_jwk_set(data)


def test_public_only_entry_is_refused(keys_by_alg: dict[str, SigningKey]) -> None:
    """A ring entry without private members cannot sign and is refused."""
    key = keys_by_alg["ES256"]
    public = key.public_jwk()
    assert public is not None
    entry = {**public, "status": "active", "created_at": NOW.isoformat()}
    with pytest.raises(KeyRingError):
        KeyRing.from_jwk_set({"keys": [entry]})


# -- the file ---------------------------------------------------------------------


def test_file_is_a_jwk_set_written_0600_without_temp_files(tmp_path: Path) -> None:
    """save() writes a JWK Set with status and created_at, mode 0600, and leaves no temp file."""
    path = tmp_path / "ring" / "keyring.json"
    ring = KeyRing.generate("ES256", now=NOW).rotate(now=NOW + timedelta(hours=1))
    KeyRingFile(path).save(ring)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = json.loads(path.read_text())
    assert set(data) == {"keys"}
    assert len(data["keys"]) == 2
    for entry in data["keys"]:
        assert {"kid", "alg", "use", "status", "created_at", "kty", "d"} <= set(entry)
        assert entry["status"] in {"active", "verify-only"}
        datetime.fromisoformat(entry["created_at"])
    assert sorted(p.name for p in path.parent.iterdir()) == ["keyring.json"]
    assert KeyRingFile(path).load().keys == ring.keys


def test_save_replaces_atomically_and_keeps_mode(tmp_path: Path) -> None:
    """Saving over an existing file replaces it (new inode) with mode 0600 and no leftovers."""
    path = tmp_path / "keyring.json"
    file = KeyRingFile(path)
    ring = KeyRing.generate("HS256", now=NOW)
    file.save(ring)
    os.chmod(path, 0o644)
    inode = path.stat().st_ino
    rotated = ring.rotate(now=NOW + timedelta(hours=1))
    file.save(rotated)
    assert path.stat().st_ino != inode, "written through a temp file and os.replace"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert file.load().keys == rotated.keys
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]


def test_failed_save_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    """If writing fails midway, the old ring is intact and the temp file is removed."""
    path = tmp_path / "keyring.json"
    file = KeyRingFile(path)
    ring = KeyRing.generate("HS256", now=NOW)
    file.save(ring)

    class Boom(KeyRing):
        def to_jwk_set(self) -> dict[str, list[dict[str, Any]]]:
            return {"keys": [{"bad": object()}]}  # not JSON-serialisable

    with pytest.raises(TypeError):
        file.save(Boom(ring.keys))
    assert file.load().keys == ring.keys
    assert [p.name for p in tmp_path.iterdir()] == ["keyring.json"]


def test_load_or_create_creates_once(tmp_path: Path) -> None:
    """The first call creates a one-key ring; later calls load that same ring."""
    path = tmp_path / "keyring.json"
    first = KeyRingFile(path).load_or_create("EdDSA")
    assert len(first.keys) == 1
    assert first.active.alg == "EdDSA"
    mtime = path.stat().st_mtime_ns
    second = KeyRingFile(path).load_or_create("RS256")
    assert second.keys == first.keys
    assert path.stat().st_mtime_ns == mtime


def test_load_or_create_from_many_threads_makes_one_ring(tmp_path: Path) -> None:
    """Workers starting together under the file lock all end up with one ring."""
    path = tmp_path / "keyring.json"
    barrier = threading.Barrier(8)
    kids: list[str] = []
    lock = threading.Lock()

    def start() -> None:
        barrier.wait()
        ring = KeyRingFile(path).load_or_create("HS256")
        with lock:
            kids.append(ring.active.kid)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(kids) == 8
    assert len(set(kids)) == 1


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'{"keys": 1}', b'{"keys": []}', b"\xff\xfe\x00garbage"],
)
def test_corrupt_file_raises_keyring_error(tmp_path: Path, content: bytes) -> None:
    """An empty, truncated, non-UTF-8 or wrongly shaped file is a KeyRingError."""
    path = tmp_path / "keyring.json"
    path.write_bytes(content)
    with pytest.raises(KeyRingError):
        KeyRingFile(path).load()
    with pytest.raises(KeyRingError):
        KeyRingFile(path).load_or_create()


def test_missing_file_load_raises_keyring_error(tmp_path: Path) -> None:
    """load() of an absent file is a KeyRingError (load_or_create is the creating call)."""
    with pytest.raises(KeyRingError):
        KeyRingFile(tmp_path / "absent.json").load()


def test_fingerprint_changes_with_every_save(tmp_path: Path) -> None:
    """None for an absent file; every save (a new inode) changes it, even within one tick."""
    file = KeyRingFile(tmp_path / "keyring.json")
    assert file.fingerprint() is None
    ring = KeyRing.generate("HS256", now=NOW)
    file.save(ring)
    first = file.fingerprint()
    file.save(ring)
    assert first is not None
    assert file.fingerprint() != first


# -- no leaks -----------------------------------------------------------------------


def test_repr_and_str_never_show_private_material(
    keys_by_alg: dict[str, SigningKey], tmp_path: Path
) -> None:
    """repr/str of keys, rings and the ring file never contain 'd', 'k' or other secrets."""
    keys = list(keys_by_alg.values())
    ring = KeyRing((keys[0], *(k.with_status(KeyStatus.VERIFY_ONLY) for k in keys[1:])))
    file = KeyRingFile(tmp_path / "keyring.json")
    texts = [repr(ring), str(ring), repr(file), str(file)]
    texts += [repr(k) for k in keys] + [str(k) for k in keys]
    hmac_secret = keys_by_alg["HS256"].to_private_jwk()["k"]
    rsa_d = keys_by_alg["RS256"].to_private_jwk()["d"]
    for text in texts:
        for key in keys:
            for secret in secret_values(key):
                assert secret not in text
        assert hmac_secret not in text
        assert rsa_d not in text
    for key in keys:
        assert key.kid in repr(ring)


def test_error_messages_do_not_leak_key_material(tmp_path: Path) -> None:
    """A KeyRingError about bad material names the kid, never the material."""
    entry = {
        "kid": "kid-1",
        "alg": "RS256",
        "status": "active",
        "created_at": NOW.isoformat(),
        "kty": "RSA",
        "n": "AQAB",
        "e": "AQAB",
        "d": "super-secret-d-value",
    }
    with pytest.raises(KeyRingError) as caught:
        KeyRing.from_jwk_set({"keys": [entry]})
    assert "super-secret-d-value" not in str(caught.value)
    assert "super-secret-d-value" not in repr(caught.value)


def test_naive_created_at_in_a_hand_edited_file_is_utc(tmp_path: Path) -> None:
    """An operator-written ``created_at`` without offset is read as UTC, so retire() works."""
    path = tmp_path / "keyring.json"
    ring = KeyRing.generate("HS256", now=NOW).rotate(now=NOW + timedelta(hours=1))
    data = ring.to_jwk_set()
    for entry in data["keys"]:
        entry["created_at"] = entry["created_at"].replace("+00:00", "")
    path.write_text(json.dumps(data))
    loaded = KeyRingFile(path).load()
    assert all(k.created_at.tzinfo is not None for k in loaded.keys)
    _, removed = loaded.retire(now=NOW + timedelta(days=1), window=timedelta(minutes=15))
    assert len(removed) == 1


def test_jwks_publishes_only_public_members_of_imported_keys() -> None:
    """Regression (review): a keep-list, so unexpected members of an imported JWK stay out."""
    ring = KeyRing.generate("ES256", now=NOW)
    jwk = ring.active.to_private_jwk()
    jwk["x-secret-note"] = "do not publish"
    imported = KeyRing.from_jwk_set({"keys": [jwk]})
    [published] = imported.jwks()["keys"]
    assert set(published) == {"kty", "crv", "x", "y", "kid", "alg", "use"}


def test_new_kids_never_start_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: ``keys retire --kid -Zes...`` read the kid as an option (exit 2).

    ``token_urlsafe`` starts one value in 64 with ``-``; such a draw is redrawn.
    """
    import secrets

    from authkit.keys import _signing_key

    draws = iter(["-starts-with-dash", "_fine-underscore", "unused"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda _n: next(draws))
    assert _signing_key._new_kid() == "_fine-underscore"
    monkeypatch.undo()
    assert not any(_signing_key._new_kid().startswith("-") for _ in range(5_000))
