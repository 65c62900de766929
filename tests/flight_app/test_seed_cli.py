"""The seed step and the ``flight-app`` command line: migrate, seed, purge-tokens, keys,
and the refusal to start in production without secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from authkit.errors import InvalidCredentials
from flight_app import cli, migrate
from flight_app.components import Components, build_components
from flight_app.seed import seed
from flight_app.settings import DEV_SECRET_KEY, load_settings

ADMIN_PASSWORD = "tangerine-orbit-58-lighthouse"
GENERATED = re.compile(r"Generated password for '(?P<user>[^']+)' \(shown once\): (?P<pw>\S+)")

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def components_for(
    app_env: None, instance_path: Path, provision_keyring: Callable[[], Path]
) -> Iterator[Callable[..., Components]]:
    """``components_for(**overrides)``: the app's wiring from ``load_settings``; closed after."""
    built: list[Components] = []

    def make(**overrides: Any) -> Components:
        provision_keyring()
        settings = load_settings(instance_path=instance_path, **overrides)
        components = build_components(settings)
        built.append(components)
        return components

    yield make
    for components in built:
        components.close()


@pytest.fixture
def run(
    app_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance_path: Path,
) -> Run:
    """``run(*argv, database_url=None)``: ``flight_app.cli.main`` -> (exit code, out, err)."""
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))

    def call(*argv: str, database_url: str | None = None) -> tuple[int, str, str]:
        if database_url is not None:
            monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", database_url)
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def system_log(instance_path: Path) -> str:
    path = instance_path / "system.jsonl"
    return path.read_text("utf-8") if path.exists() else ""


# -- seed -----------------------------------------------------------------------------


def test_seed_is_idempotent(
    components_for: Callable[..., Components], migrated_database_url: str
) -> None:
    components = components_for(database_url=migrated_database_url)
    first = seed(components.settings, components.kit)
    assert first.created == ["admin"]
    assert first.skipped == []
    admin = components.kit.stores.users.find_by_login("admin")
    assert admin is not None
    assert set(admin.roles) == {"admin", "user"}

    second = seed(components.settings, components.kit)
    assert second.created == []
    assert second.skipped == ["admin"]
    assert second.generated_passwords == {}
    assert components.kit.stores.users.count_active() == 1


def test_seed_takes_the_admin_from_the_environment(
    components_for: Callable[..., Components],
    migrated_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLIGHT_APP_ADMIN_USERNAME", "ops.chief")
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    components = components_for(database_url=migrated_database_url)
    report = seed(components.settings, components.kit)
    assert report.created == ["ops.chief"]
    assert report.generated_passwords == {}
    assert components.kit.stores.users.find_by_login("admin") is None
    pair = components.kit.auth.login(
        identifier="ops.chief", password=ADMIN_PASSWORD, address="127.0.0.1"
    )
    assert "admin" in pair.user.roles


def test_the_demo_user_is_seeded_in_dev_only(
    components_for: Callable[..., Components],
    migrated_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    in_test = components_for(database_url=migrated_database_url, demo_user=True)
    assert seed(in_test.settings, in_test.kit).created == ["admin"]
    assert in_test.kit.stores.users.find_by_login("demo") is None

    monkeypatch.setenv("APP_ENV", "dev")
    dev_url = f"sqlite:///{tmp_path / 'dev.db'}"
    migrate.upgrade(dev_url)
    in_dev = components_for(database_url=dev_url)
    assert in_dev.settings.app_env == "dev"
    assert in_dev.settings.demo_user is True
    report = seed(in_dev.settings, in_dev.kit)
    assert report.created == ["admin", "demo"]
    demo = in_dev.kit.stores.users.find_by_login("demo")
    assert demo is not None
    assert demo.roles == ("user",)


def test_a_generated_admin_password_is_printed_once_and_never_logged(
    run: Run, migrated_database_url: str, instance_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run("seed", database_url=migrated_database_url)
    assert code == 0
    assert "Created user 'admin'." in out
    [match] = list(GENERATED.finditer(out))
    assert match["user"] == "admin"
    generated = match["pw"]
    assert out.count(generated) == 1
    assert generated not in err

    code, out, err = run("seed", database_url=migrated_database_url)
    assert code == 0
    assert "User 'admin' exists; skipped." in out
    assert generated not in out + err
    assert "Generated password" not in out

    log = system_log(instance_path)
    assert "seed created user" in log
    assert "seed skipped existing user" in log
    assert generated not in log
    for path in instance_path.iterdir():
        if path.is_file():
            assert generated.encode() not in path.read_bytes(), path.name

    settings = load_settings(instance_path=instance_path, database_url=migrated_database_url)
    components = build_components(settings)
    try:
        pair = components.kit.auth.login(
            identifier="admin", password=generated, address="127.0.0.1"
        )
        assert pair.user.username == "admin"
    finally:
        components.close()


def test_seed_refuses_a_weak_configured_admin_password(
    run: Run, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", "short")
    code, out, err = run("seed", database_url=migrated_database_url)
    assert code == 2
    assert "too weak" in err
    assert "short" not in out


# -- migrate, purge-tokens ------------------------------------------------------------


def test_migrate_upgrades_an_empty_database_to_head(run: Run, database_url: str) -> None:
    code, out, _ = run("migrate", database_url=database_url)
    assert code == 0
    assert "newest schema" in out
    engine = sqlalchemy.create_engine(database_url)
    try:
        tables = set(sqlalchemy.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "authkit_users", "authkit_refresh_tokens"} <= tables
    assert run("migrate", database_url=database_url)[0] == 0


def test_purge_tokens_removes_only_dead_refresh_tokens(
    run: Run,
    migrated_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    instance_path: Path,
) -> None:
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    assert run("seed", database_url=migrated_database_url)[0] == 0
    settings = load_settings()
    assert settings.instance_path == instance_path
    components = build_components(settings)
    try:
        service = components.kit.auth
        ended = service.login(identifier="admin", password=ADMIN_PASSWORD, address="127.0.0.1")
        live = service.login(identifier="admin", password=ADMIN_PASSWORD, address="127.0.0.1")
        service.logout(refresh_token=ended.refresh_token, address="127.0.0.1")

        code, out, _ = run("purge-tokens")
        assert code == 0
        assert "Removed 1 expired or revoked refresh tokens." in out
        assert service.refresh(refresh_token=live.refresh_token, address="127.0.0.1")
        with pytest.raises(InvalidCredentials):
            service.login(identifier="admin", password="wrong-password-x", address="127.0.0.1")
    finally:
        components.close()


def test_purge_tokens_removes_expired_emailed_links(
    run: Run, migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expired verification/reset/email-change tokens go; live ones stay."""
    from datetime import UTC, datetime, timedelta

    from authkit.account import ActionPurpose, ActionTokenRecord

    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", ADMIN_PASSWORD)
    assert run("seed", database_url=migrated_database_url)[0] == 0
    components = build_components(load_settings())
    try:
        admin = components.kit.stores.users.find_by_login("admin")
        assert admin is not None
        store = components.kit.stores.action_tokens
        assert store is not None
        now = datetime.now(UTC)
        for purpose, expires in (
            (ActionPurpose.VERIFY_EMAIL, now - timedelta(seconds=1)),
            (ActionPurpose.RESET_PASSWORD, now + timedelta(hours=1)),
        ):
            store.add(
                ActionTokenRecord(
                    token_hash=purpose.value.ljust(64, "0"),
                    user_id=admin.id,
                    purpose=purpose,
                    binding="b" * 64,
                    created_at=now - timedelta(days=1),
                    expires_at=expires,
                )
            )
        code, out, _ = run("purge-tokens")
        assert code == 0
        assert "Removed 1 expired emailed links." in out
        assert store.peek(ActionPurpose.RESET_PASSWORD.value.ljust(64, "0"), now=now) is not None
    finally:
        components.close()


# -- keys -----------------------------------------------------------------------------


def parse_keys(out: str) -> list[tuple[str, str, str]]:
    rows = []
    for line in out.splitlines():
        if "\t" not in line:
            continue  # a summary line such as "Rotated: ..." before the table
        kid, alg, status, created_at = line.split("\t")
        assert created_at
        rows.append((kid, alg, status))
    return rows


def test_keys_list_creates_and_shows_the_ring(run: Run, instance_path: Path) -> None:
    code, out, _ = run("keys", "list")
    assert code == 0
    [(kid, alg, status)] = parse_keys(out)
    assert status == "active"
    assert alg == "RS256"
    stored = json.loads((instance_path / "keyring.json").read_text("utf-8"))
    assert [key["kid"] for key in stored["keys"]] == [kid]
    assert run("keys", "list")[1] == out


def test_keys_rotate_adds_an_active_key_and_demotes_the_old_one(
    run: Run, instance_path: Path
) -> None:
    [(old_kid, _, _)] = parse_keys(run("keys", "list")[1])
    code, out, _ = run("keys", "rotate")
    assert code == 0
    statuses = {kid: status for kid, _, status in parse_keys(out)}
    assert statuses[old_kid] == "verify-only"
    [new_kid] = [kid for kid, status in statuses.items() if status == "active"]
    assert new_kid != old_kid
    stored = json.loads((instance_path / "keyring.json").read_text("utf-8"))
    assert {key["kid"]: key["status"] for key in stored["keys"]} == statuses
    assert "rotated" in system_log(instance_path)


def test_keys_retire_keeps_keys_still_inside_the_token_window(run: Run) -> None:
    run("keys", "list")
    run("keys", "rotate")
    code, out, _ = run("keys", "retire")
    assert code == 0
    assert "Retired 0 key(s)" in out
    assert sorted(status for _, _, status in parse_keys(out.split("\n", 1)[1])) == [
        "active",
        "verify-only",
    ]


# -- production refusal ---------------------------------------------------------------


def test_prod_without_secrets_exits_2_naming_the_secret(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.chdir(tmp_path)
    code, out, err = run("migrate")
    assert code == 2
    assert "FLIGHT_APP_SECRET_KEY" in err
    assert "FLIGHT_APP_PSEUDONYM_KEY" in err
    assert DEV_SECRET_KEY not in err + out
    assert not (tmp_path / "instance").exists()


def test_prod_names_only_the_secrets_still_missing(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.chdir(tmp_path)
    secret = "a-real-production-secret-key-value"
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY", secret)
    code, _, err = run("keys", "list")
    assert code == 2
    assert "FLIGHT_APP_SECRET_KEY" not in err
    assert "FLIGHT_APP_PSEUDONYM_KEY" in err
    assert secret not in err
