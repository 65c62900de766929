"""``flight-app mfa rekey``: the operator's step after rotating the MFA key (issue 11).

On SQLite and PostgreSQL (the ``database_url`` fixture): accounts enrol under the
old key, the operator lists ``<new>,<old>`` and runs ``mfa rekey``; afterwards the
new key alone opens every secret, a second run changes nothing, and the run is
in the audit log. A secret no configured key opens gives exit 1 naming the fix.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from authkit.mfa import SecretBox
from flight_app import cli
from flight_app.components import build_components
from flight_app.settings import load_settings

Run = Callable[..., tuple[int, str, str]]

OLD_KEY = "old-mfa-key-0123456789abcdef"
NEW_KEY = "new-mfa-key-fedcba9876543210"
PASSWORD = "violet-harbour-7-lanterns"


@pytest.fixture
def run(
    app_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance_path: Path,
    provision_keyring: Callable[[], Path],
    migrated_database_url: str,
) -> Run:
    """``run(*argv, mfa_key=...)``: ``flight_app.cli.main`` -> (exit code, out, err)."""
    provision_keyring()
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", migrated_database_url)

    def call(*argv: str, mfa_key: str) -> tuple[int, str, str]:
        monkeypatch.setenv("FLIGHT_APP_MFA_ENCRYPTION_KEY", mfa_key)
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def enrol_accounts(monkeypatch: pytest.MonkeyPatch, key: str, names: list[str]) -> dict[str, str]:
    """Users with TOTP enabled under ``key``: user id -> plaintext secret."""
    monkeypatch.setenv("FLIGHT_APP_MFA_ENCRYPTION_KEY", key)
    components = build_components(load_settings())
    secrets: dict[str, str] = {}
    try:
        for name in names:
            user = components.kit.auth.create_user(
                username=name, email=f"{name}@example.com", password=PASSWORD, roles=("user",)
            )
            service = components.kit.mfa.service
            secret = service.setup(user).secret
            service.enable(user, pyotp.TOTP(secret).now())
            secrets[user.id] = secret
    finally:
        components.close()
    return secrets


def stored_secrets(key: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("FLIGHT_APP_MFA_ENCRYPTION_KEY", key)
    components = build_components(load_settings())
    try:
        store = components.kit.stores.mfa
        return dict(store.encrypted_secrets(after=None, limit=1000))
    finally:
        components.close()


def audit_events(instance_path: Path, event: str) -> list[dict[str, object]]:
    lines = (instance_path / "auth.jsonl").read_text("utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["event"] == event]


def test_rekey_moves_every_secret_to_the_new_key_once(
    run: Run, monkeypatch: pytest.MonkeyPatch, instance_path: Path
) -> None:
    plaintexts = enrol_accounts(monkeypatch, OLD_KEY, ["anya", "bert", "cyrus"])

    code, out, err = run("mfa", "rekey", mfa_key=f"{NEW_KEY},{OLD_KEY}")
    assert (code, err) == (0, "")
    assert "Re-encrypted 3 of 3 TOTP secret(s)" in out
    new_only = SecretBox([NEW_KEY])
    stored = stored_secrets(NEW_KEY, monkeypatch)
    assert {user_id: new_only.decrypt(c) for user_id, c in stored.items()} == plaintexts

    code, out, _ = run("mfa", "rekey", mfa_key=f"{NEW_KEY},{OLD_KEY}")
    assert code == 0
    assert "Re-encrypted 0 of 3 TOTP secret(s) under the current MFA key; 3 already were" in out
    assert stored_secrets(NEW_KEY, monkeypatch) == stored  # nothing rewritten

    first, second = audit_events(instance_path, "mfa.rekey")
    assert (first["outcome"], first["rekeyed"], first["current"]) == ("success", 3, 0)
    assert (second["outcome"], second["rekeyed"], second["current"]) == ("success", 0, 3)
    system = (instance_path / "system.jsonl").read_text("utf-8")
    assert "mfa secrets re-encrypted" in system
    for secret in plaintexts.values():
        assert secret not in system + out


def test_sign_in_with_totp_works_on_the_new_key_alone_after_rekey(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    [(user_id, secret)] = enrol_accounts(monkeypatch, OLD_KEY, ["dora"]).items()
    assert run("mfa", "rekey", mfa_key=f"{NEW_KEY},{OLD_KEY}")[0] == 0
    monkeypatch.setenv("FLIGHT_APP_MFA_ENCRYPTION_KEY", NEW_KEY)
    components = build_components(load_settings())
    try:
        user = components.kit.stores.users.get(user_id)
        assert user is not None
        # The next step's code: enabling used the current one, and a code counts once.
        next_step = pyotp.TOTP(secret).at(time.time() + 30)
        assert components.kit.mfa.service.verify(user, otp=next_step, recovery_code=None) == "otp"
    finally:
        components.close()


def test_a_secret_no_configured_key_opens_exits_1_and_says_what_to_do(
    run: Run, monkeypatch: pytest.MonkeyPatch, instance_path: Path
) -> None:
    plaintexts = enrol_accounts(monkeypatch, OLD_KEY, ["eve"])
    code, out, err = run("mfa", "rekey", mfa_key=NEW_KEY)  # the old key was dropped too soon
    assert code == 1
    assert "Re-encrypted 0 of 1" in out
    [user_id] = plaintexts
    assert "flight-app: 1 TOTP secret(s) could not be decrypted" in err
    assert user_id in err
    assert "FLIGHT_APP_MFA_ENCRYPTION_KEY" in err
    assert NEW_KEY not in err + out
    [event] = audit_events(instance_path, "mfa.rekey")
    assert (event["outcome"], event["undecryptable"]) == ("failure", 1)
    assert SecretBox([OLD_KEY]).decrypt(stored_secrets(OLD_KEY, monkeypatch)[user_id])


def test_rekey_on_an_unmigrated_database_says_to_migrate(
    app_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance_path: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert cli.main(["mfa", "rekey"]) == 2
    assert "run `flight-app migrate` first" in capsys.readouterr().err
