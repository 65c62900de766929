"""The layered settings of the reference app: each layer, their order, and refusals."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from flight_app.settings import (
    DEFAULT_CONFIG_DIR,
    DEV_PSEUDONYM_KEY,
    DEV_SECRET_KEY,
    Settings,
    SettingsError,
    load_settings,
)

WriteConfig = Callable[..., Path]

PROD_SECRETS = {
    "FLIGHT_APP_SECRET_KEY": "prod-secret-key-value-0123456789abcdef",
    "FLIGHT_APP_PSEUDONYM_KEY": "prod-pseudonym-key-value-0123456789abcdef",
    "FLIGHT_APP_MFA_ENCRYPTION_KEY": "prod-mfa-encryption-key-value",
    "FLIGHT_APP_METRICS_TOKEN": "prod-metrics-token-value",
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No setting leaks in from the machine running the tests; CWD is a fresh folder."""
    for key in list(os.environ):
        if key.upper().startswith("FLIGHT_APP_") or key.upper() == "APP_ENV":
            monkeypatch.delenv(key)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.fixture
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty config folder (all three files present, no keys) selected by env."""
    folder = tmp_path / "config"
    folder.mkdir()
    for env in ("dev", "test", "prod"):
        (folder / f"{env}.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_CONFIG_DIR", str(folder))
    return folder


@pytest.fixture
def write_config(config_dir: Path) -> WriteConfig:
    def write(text: str, env: str = "dev") -> Path:
        path = config_dir / f"{env}.toml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def secret_file(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, content: str) -> Path:
        path = tmp_path / "files" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(content, encoding="utf-8")
        return path

    return write


@pytest.fixture
def secrets_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "secrets"
    folder.mkdir()
    monkeypatch.setenv("FLIGHT_APP_SECRETS_DIR", str(folder))
    return folder


# --- layer 1: built-in defaults ----------------------------------------------------


@pytest.mark.usefixtures("config_dir")
def test_built_in_defaults(clean_env: Path) -> None:
    """With empty config files and no environment, every field has its documented default."""
    s = load_settings()
    assert s.app_env == "dev"
    assert s.instance_path == clean_env / "instance"
    assert s.instance_path.is_absolute()
    assert s.database_url is None
    assert s.effective_database_url == f"sqlite:///{(clean_env / 'instance/flight_app.db')}"
    assert s.effective_database_url.startswith("sqlite:////")
    assert s.ratelimit_storage_url == "memory://"
    assert s.redis_url is None
    assert (s.admin_username, s.admin_password) == ("admin", None)
    assert (s.demo_user, s.demo_username, s.demo_password) == (False, "demo", None)
    assert s.keyring_path is None
    assert s.effective_keyring_path == clean_env / "instance" / "keyring.json"
    assert s.log_dir is None
    assert s.effective_log_dir == clean_env / "instance"
    assert (s.metrics, s.metrics_token) == ("token", None)
    assert (s.trusted_proxies, s.host, s.port, s.workers, s.threads) == (0, "127.0.0.1", 8000, 1, 4)
    assert s.secret_key.get_secret_value() == DEV_SECRET_KEY
    assert s.pseudonym_key.get_secret_value() == DEV_PSEUDONYM_KEY
    assert s.mfa_encryption_key is None
    assert (s.jwt_issuer, s.jwt_audience) == ("flight-app", "flight-app")
    assert (s.access_token_ttl, s.refresh_idle_ttl, s.refresh_absolute_ttl) == (
        900,
        604800,
        2592000,
    )
    assert (s.admin_refresh_idle_ttl, s.admin_refresh_absolute_ttl, s.clock_skew) == (
        3600,
        86400,
        30,
    )
    assert (s.argon2_time_cost, s.argon2_memory_cost, s.argon2_parallelism) == (2, 19456, 1)
    assert (s.max_content_length, s.registration_open, s.log_level) == (1048576, True, "INFO")
    assert (s.throttle_pair_limit, s.throttle_pair_window) == (5, 60)
    assert (s.throttle_address_limit, s.throttle_address_window) == (30, 60)
    assert (s.throttle_account_limit, s.throttle_account_window) == (100, 86400)
    assert (s.throttle_register_limit, s.throttle_register_window) == (10, 3600)
    assert s.password_policy == "nist"


# --- layer 2: config/<APP_ENV>.toml --------------------------------------------------


def test_toml_overrides_default(write_config: WriteConfig) -> None:
    write_config('port = 9000\nlog_level = "warning"\nregistration_open = false\n')
    s = load_settings()
    assert (s.port, s.log_level, s.registration_open) == (9000, "WARNING", False)


def test_app_env_selects_the_toml_file(
    monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig
) -> None:
    write_config("port = 9001\n", env="dev")
    write_config("port = 9002\n", env="test")
    assert load_settings().port == 9001
    monkeypatch.setenv("APP_ENV", "test")
    s = load_settings()
    assert (s.app_env, s.port) == ("test", 9002)


def test_app_env_override_selects_the_toml_file(write_config: WriteConfig) -> None:
    write_config("port = 9002\n", env="test")
    s = load_settings(app_env="test")
    assert (s.app_env, s.port) == ("test", 9002)


@pytest.mark.parametrize("value", ["staging", "PROD", "", "development"])
def test_unknown_app_env_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, value: str, config_dir: Path
) -> None:
    monkeypatch.setenv("APP_ENV", value)
    with pytest.raises(SettingsError, match=f"APP_ENV={value!r}") as caught:
        load_settings()
    assert caught.value.variables == ("APP_ENV",)
    assert "dev, test, prod" in str(caught.value)


def test_unknown_app_env_override_is_an_error(config_dir: Path) -> None:
    with pytest.raises(SettingsError, match="APP_ENV='qa'"):
        load_settings(app_env="qa")


def test_toml_typo_is_an_error_naming_key_and_file(write_config: WriteConfig) -> None:
    """A misspelt key must not be ignored silently, and its value stays out of the message."""
    path = write_config('prot = 9000\nsecret_kee = "typo-secret-value"\n')
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "prot" in message
    assert "secret_kee" in message
    assert str(path) in message
    assert "typo-secret-value" not in message
    assert caught.value.variables == ("prot", "secret_kee")


def test_toml_nested_table_is_an_unknown_key(write_config: WriteConfig) -> None:
    write_config("[server]\nport = 9000\n")
    with pytest.raises(SettingsError, match="server"):
        load_settings()


def test_toml_cannot_set_app_env(write_config: WriteConfig) -> None:
    write_config('app_env = "prod"\n')
    with pytest.raises(SettingsError, match="app_env is chosen by APP_ENV"):
        load_settings()


def test_invalid_toml_is_an_error_naming_the_file(write_config: WriteConfig) -> None:
    path = write_config("port = = 1\n")
    with pytest.raises(SettingsError, match="not valid TOML") as caught:
        load_settings()
    assert str(path) in str(caught.value)


def test_missing_config_file_is_an_error(config_dir: Path) -> None:
    (config_dir / "dev.toml").unlink()
    with pytest.raises(SettingsError, match="FLIGHT_APP_CONFIG_DIR") as caught:
        load_settings()
    assert str(config_dir / "dev.toml") in str(caught.value)


def test_toml_relative_paths_resolve_against_cwd(
    write_config: WriteConfig, clean_env: Path, config_dir: Path
) -> None:
    """Not against the config folder: './instance' means the same wherever it is written."""
    write_config('instance_path = "data/inst"\nkeyring_path = "keys/ring.json"\nlog_dir = "logs"\n')
    s = load_settings()
    assert s.instance_path == clean_env / "data" / "inst"
    assert s.effective_keyring_path == clean_env / "keys" / "ring.json"
    assert s.effective_log_dir == clean_env / "logs"
    assert not s.instance_path.is_relative_to(config_dir)
    assert s.effective_database_url == f"sqlite:///{clean_env / 'data/inst/flight_app.db'}"


# --- layer 3: environment variables --------------------------------------------------


def test_env_overrides_toml(monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig) -> None:
    write_config('port = 9000\ndemo_user = true\nmetrics = "off"\n')
    monkeypatch.setenv("FLIGHT_APP_PORT", "9100")
    monkeypatch.setenv("FLIGHT_APP_DEMO_USER", "false")
    monkeypatch.setenv("FLIGHT_APP_METRICS", "public")
    s = load_settings()
    assert (s.port, s.demo_user, s.metrics) == (9100, False, "public")


def test_env_overrides_default(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", "postgresql://db/app")
    monkeypatch.setenv("FLIGHT_APP_TRUSTED_PROXIES", "2")
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", "var")
    s = load_settings()
    assert s.effective_database_url == "postgresql://db/app"
    assert s.trusted_proxies == 2
    assert s.instance_path == Path.cwd() / "var"


def test_blank_optional_env_means_unset(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", "")
    monkeypatch.setenv("FLIGHT_APP_KEYRING_PATH", " ")
    s = load_settings()
    assert s.database_url is None
    assert s.keyring_path is None


def test_unprefixed_env_is_ignored(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    monkeypatch.setenv("PORT", "9999")
    assert load_settings().port == 8000


# --- layer 4: secret files -------------------------------------------------------------


def test_file_variable_overrides_env(
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY", "secret-from-the-environment")
    monkeypatch.setenv(
        "FLIGHT_APP_SECRET_KEY_FILE", str(secret_file("key", "secret-from-a-file\n"))
    )
    assert load_settings().secret_key.get_secret_value() == "secret-from-a-file"


def test_file_variable_works_for_any_setting(
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    url = "postgresql://app:pw@db/app"
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL_FILE", str(secret_file("db", url + "\n")))
    monkeypatch.setenv("FLIGHT_APP_PORT_FILE", str(secret_file("port", "8123\n")))
    s = load_settings()
    assert (s.database_url, s.port) == (url, 8123)


def test_file_content_loses_only_its_trailing_newline(
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    path = secret_file("pw", "  pass word \r\n")
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD_FILE", str(path))
    password = load_settings().admin_password
    assert password is not None
    assert password.get_secret_value() == "  pass word "


def test_missing_file_variable_is_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY", "secret-from-the-environment")
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY_FILE", str(tmp_path / "nope"))
    with pytest.raises(SettingsError, match="FLIGHT_APP_SECRET_KEY_FILE") as caught:
        load_settings()
    assert caught.value.variables == ("FLIGHT_APP_SECRET_KEY_FILE",)
    assert "secret-from-the-environment" not in str(caught.value)


def test_secrets_dir_overrides_env(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, secrets_dir: Path
) -> None:
    """Files are named like the field, in lower case, with no prefix."""
    (secrets_dir / "pseudonym_key").write_text("secret-from-the-secrets-dir\n", encoding="utf-8")
    (secrets_dir / "unrelated").write_text("ignored", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_PSEUDONYM_KEY", "secret-from-the-environment")
    assert load_settings().pseudonym_key.get_secret_value() == "secret-from-the-secrets-dir"


def test_secrets_dir_overrides_toml(write_config: WriteConfig, secrets_dir: Path) -> None:
    write_config('admin_username = "from-toml"\n')
    (secrets_dir / "admin_username").write_text("secret-from-the-secrets-dir", encoding="utf-8")
    assert load_settings().admin_username == "secret-from-the-secrets-dir"


def test_file_variable_beats_secrets_dir(
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    secrets_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    (secrets_dir / "secret_key").write_text("secret-from-the-secrets-dir", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY_FILE", str(secret_file("k", "secret-from-a-file")))
    assert load_settings().secret_key.get_secret_value() == "secret-from-a-file"


def test_missing_secrets_dir_is_an_error(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLIGHT_APP_SECRETS_DIR", str(tmp_path / "absent"))
    with pytest.raises(SettingsError, match="FLIGHT_APP_SECRETS_DIR"):
        load_settings()


def test_overrides_beat_secret_files(
    monkeypatch: pytest.MonkeyPatch,
    config_dir: Path,
    secrets_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    (secrets_dir / "pseudonym_key").write_text("secret-from-the-secrets-dir", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY_FILE", str(secret_file("k", "secret-from-a-file")))
    s = load_settings(secret_key="override-secret-key-1", pseudonym_key="override-pseudonym-key-2")
    assert s.secret_key.get_secret_value() == "override-secret-key-1"
    assert s.pseudonym_key.get_secret_value() == "override-pseudonym-key-2"


# --- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLIGHT_APP_PORT", "0"),
        ("FLIGHT_APP_PORT", "65536"),
        ("FLIGHT_APP_WORKERS", "0"),
        ("FLIGHT_APP_THREADS", "0"),
        ("FLIGHT_APP_TRUSTED_PROXIES", "-1"),
        ("FLIGHT_APP_THROTTLE_PAIR_LIMIT", "0"),
        ("FLIGHT_APP_THROTTLE_REGISTER_WINDOW", "0"),
        ("FLIGHT_APP_METRICS", "everyone"),
        ("FLIGHT_APP_PASSWORD_POLICY", "none"),
        ("FLIGHT_APP_LOG_LEVEL", "LOUD"),
        ("FLIGHT_APP_DEMO_USER", "perhaps"),
    ],
)
def test_out_of_range_value_is_an_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.variables == (variable,)
    assert variable in str(caught.value)


def test_settings_error_is_a_value_error() -> None:
    assert issubclass(SettingsError, ValueError)


@pytest.mark.usefixtures("config_dir")
def test_several_bad_values_are_reported_together() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(port=0, workers=0)
    assert set(caught.value.variables) == {"FLIGHT_APP_PORT", "FLIGHT_APP_WORKERS"}


@pytest.mark.usefixtures("config_dir")
def test_unknown_override_is_an_error() -> None:
    with pytest.raises(SettingsError, match="FLIGHT_APP_PROT"):
        load_settings(prot=1)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_weak_argon2_is_refused_outside_test(
    monkeypatch: pytest.MonkeyPatch, config_dir: Path, env: str
) -> None:
    """OWASP Password Storage Cheat Sheet minimum: m=19456 KiB, t=2."""
    for variable, value in PROD_SECRETS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("APP_ENV", env)
    with pytest.raises(SettingsError) as caught:
        load_settings(argon2_time_cost=1, argon2_memory_cost=1024)
    assert caught.value.variables == (
        "FLIGHT_APP_ARGON2_TIME_COST",
        "FLIGHT_APP_ARGON2_MEMORY_COST",
    )


def test_weak_argon2_is_allowed_in_test(monkeypatch: pytest.MonkeyPatch, config_dir: Path) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    s = load_settings(argon2_time_cost=1, argon2_memory_cost=64)
    assert (s.argon2_time_cost, s.argon2_memory_cost) == (1, 64)


def test_argon2_memory_must_cover_parallelism(config_dir: Path) -> None:
    with pytest.raises(SettingsError, match="FLIGHT_APP_ARGON2_MEMORY_COST"):
        load_settings(app_env="test", argon2_memory_cost=8, argon2_parallelism=2)


# --- production refusals ----------------------------------------------------------------


@pytest.fixture
def prod_env(monkeypatch: pytest.MonkeyPatch, write_config: WriteConfig) -> None:
    """APP_ENV=prod with every secret set; tests then remove or spoil one."""
    write_config('metrics = "token"\n', env="prod")
    monkeypatch.setenv("APP_ENV", "prod")
    for variable, value in PROD_SECRETS.items():
        monkeypatch.setenv(variable, value)


@pytest.mark.usefixtures("prod_env")
def test_prod_starts_with_every_secret_set() -> None:
    s = load_settings()
    assert s.app_env == "prod"
    assert s.metrics_token is not None


@pytest.mark.usefixtures("config_dir")
def test_prod_names_every_missing_or_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(SettingsError) as caught:
        load_settings(metrics="token")
    assert caught.value.variables == (
        "FLIGHT_APP_SECRET_KEY",
        "FLIGHT_APP_PSEUDONYM_KEY",
        "FLIGHT_APP_MFA_ENCRYPTION_KEY",
        "FLIGHT_APP_METRICS_TOKEN",
    )
    for variable in caught.value.variables:
        assert variable in str(caught.value)


@pytest.mark.usefixtures("prod_env")
@pytest.mark.parametrize(
    "variable",
    [
        "FLIGHT_APP_SECRET_KEY",
        "FLIGHT_APP_PSEUDONYM_KEY",
        "FLIGHT_APP_MFA_ENCRYPTION_KEY",
        "FLIGHT_APP_METRICS_TOKEN",
    ],
)
def test_prod_refuses_each_missing_secret(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(SettingsError, match=variable) as caught:
        load_settings()
    assert caught.value.variables == (variable,)


@pytest.mark.usefixtures("prod_env")
@pytest.mark.parametrize(
    ("variable", "dev_default"),
    [
        ("FLIGHT_APP_SECRET_KEY", DEV_SECRET_KEY),
        ("FLIGHT_APP_PSEUDONYM_KEY", DEV_PSEUDONYM_KEY),
    ],
)
def test_prod_refuses_a_secret_left_at_its_dev_default(
    monkeypatch: pytest.MonkeyPatch, variable: str, dev_default: str
) -> None:
    monkeypatch.setenv(variable, dev_default)
    with pytest.raises(SettingsError, match="development default") as caught:
        load_settings()
    assert caught.value.variables == (variable,)
    assert dev_default not in str(caught.value)


@pytest.mark.usefixtures("prod_env")
def test_prod_refuses_an_empty_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY", "")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.variables == ("FLIGHT_APP_SECRET_KEY",)


@pytest.mark.usefixtures("prod_env")
def test_prod_refuses_a_short_pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHT_APP_PSEUDONYM_KEY", "x" * 31)
    with pytest.raises(SettingsError, match="32") as caught:
        load_settings()
    assert caught.value.variables == ("FLIGHT_APP_PSEUDONYM_KEY",)
    assert load_settings(pseudonym_key="x" * 32).pseudonym_key.get_secret_value() == "x" * 32


@pytest.mark.usefixtures("prod_env")
@pytest.mark.parametrize("metrics", ["off", "public"])
def test_prod_needs_no_metrics_token_unless_metrics_use_one(
    monkeypatch: pytest.MonkeyPatch, metrics: str
) -> None:
    monkeypatch.delenv("FLIGHT_APP_METRICS_TOKEN")
    monkeypatch.setenv("FLIGHT_APP_METRICS", metrics)
    assert load_settings().metrics == metrics


@pytest.mark.usefixtures("prod_env")
def test_prod_accepts_secrets_from_files(
    monkeypatch: pytest.MonkeyPatch,
    secrets_dir: Path,
    secret_file: Callable[[str, str], Path],
) -> None:
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY", DEV_SECRET_KEY)
    monkeypatch.setenv("FLIGHT_APP_MFA_ENCRYPTION_KEY", "")
    (secrets_dir / "mfa_encryption_key").write_text(
        "mfa-key-from-the-secrets-dir\n", encoding="utf-8"
    )
    path = secret_file("secret_key", "a-real-production-secret\n")
    monkeypatch.setenv("FLIGHT_APP_SECRET_KEY_FILE", str(path))
    s = load_settings()
    assert s.secret_key.get_secret_value() == "a-real-production-secret"
    assert s.mfa_encryption_key is not None
    assert s.mfa_encryption_key.get_secret_value() == "mfa-key-from-the-secrets-dir"


# --- secrets never leak ------------------------------------------------------------------


@pytest.mark.usefixtures("prod_env")
def test_secrets_do_not_leak_into_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHT_APP_ADMIN_PASSWORD", "admin-password-value")
    monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", "postgresql://app:db-password-value@db/app")
    monkeypatch.setenv("FLIGHT_APP_REDIS_URL", "redis://:redis-password-value@cache:6379/0")
    s = load_settings()
    secrets = [
        *PROD_SECRETS.values(),
        "admin-password-value",
        "db-password-value",
        "redis-password-value",
    ]
    for text in (repr(s), str(s)):
        for secret in secrets:
            assert secret not in text
    assert "postgresql://app:***@db/app" in repr(s)
    assert s.database_url == "postgresql://app:db-password-value@db/app"


@pytest.mark.usefixtures("prod_env")
def test_secrets_do_not_leak_into_prod_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLIGHT_APP_METRICS_TOKEN")
    monkeypatch.setenv("FLIGHT_APP_PSEUDONYM_KEY", "short-pseudonym-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = f"{caught.value}\n{caught.value!r}"
    assert "short-pseudonym-value" not in text
    for secret in PROD_SECRETS.values():
        assert secret not in text
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.usefixtures("config_dir")
def test_secrets_do_not_leak_into_validation_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic echoes bad input by default; a secret set in the wrong field must not show."""
    monkeypatch.setenv("FLIGHT_APP_METRICS", "metrics-secret-value")
    monkeypatch.setenv("FLIGHT_APP_PORT", "port-secret-value")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    text = f"{caught.value}\n{caught.value!r}"
    assert "metrics-secret-value" not in text
    assert "port-secret-value" not in text
    assert set(caught.value.variables) == {"FLIGHT_APP_METRICS", "FLIGHT_APP_PORT"}


# --- the shipped config files --------------------------------------------------------------


def test_shipped_config_folder_is_the_default() -> None:
    assert sorted(p.name for p in DEFAULT_CONFIG_DIR.glob("*.toml")) == [
        "dev.toml",
        "prod.toml",
        "test.toml",
    ]


def test_shipped_dev_config() -> None:
    s = load_settings()
    assert (s.app_env, s.demo_user, s.metrics) == ("dev", True, "public")
    assert s.secret_key.get_secret_value() == DEV_SECRET_KEY


def test_shipped_test_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "test")
    s = load_settings()
    assert (s.app_env, s.demo_user, s.metrics) == ("test", False, "public")
    assert s.argon2_memory_cost < 19456


def test_shipped_prod_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "FLIGHT_APP_METRICS_TOKEN" in caught.value.variables
    for variable, value in PROD_SECRETS.items():
        monkeypatch.setenv(variable, value)
    s = load_settings()
    assert (s.app_env, s.demo_user, s.metrics) == ("prod", False, "token")
    assert (s.argon2_time_cost, s.argon2_memory_cost) == (2, 19456)


def test_settings_are_immutable(config_dir: Path) -> None:
    s = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        s.port = 1  # type: ignore[misc]
    assert isinstance(s, Settings)


@pytest.mark.usefixtures("prod_env")
def test_prod_refuses_per_process_rate_limits_with_several_workers() -> None:
    """Regression (security probe, finding 8): with 4 workers on memory://, 15 of 20
    wrong passwords reached argon2 instead of 5. Prod refuses to start that way."""
    with pytest.raises(SettingsError) as caught:
        load_settings(workers=4)
    assert caught.value.variables == ("FLIGHT_APP_RATELIMIT_STORAGE_URL",)
    assert "memory://" in str(caught.value)
    assert load_settings(workers=1).limits_per_process is False
    shared = load_settings(workers=4, ratelimit_storage_url="redis://127.0.0.1:6379/0")
    assert shared.limits_per_process is False


@pytest.mark.usefixtures("config_dir")
@pytest.mark.parametrize("env", ["dev", "test"])
def test_outside_prod_per_process_limits_with_several_workers_only_warn(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    monkeypatch.setenv("APP_ENV", env)
    assert load_settings(workers=2).limits_per_process is True
