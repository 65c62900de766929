"""The flight search settings: defaults from the policy, layers, ranges, refusals."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest

from flight_app.flights.duffel import DEFAULT_BASE_URL
from flight_app.flights.factory import REDIS_NAMESPACE
from flight_app.flights_setup import build_flight_search
from flight_app.resilience import ResiliencePolicy
from flight_app.settings import (
    FLIGHT_POLICY_SETTINGS,
    SettingsError,
    load_settings,
    policy_default,
    resilience_policy,
)

PROD = {
    "APP_ENV": "prod",
    "FLIGHT_APP_SECRET_KEY": "prod-secret-key-value-0123456789abcdef",
    "FLIGHT_APP_PSEUDONYM_KEY": "prod-pseudonym-key-value-0123456789abcdef",
    "FLIGHT_APP_MFA_ENCRYPTION_KEY": "prod-mfa-encryption-key-value",
    "FLIGHT_APP_METRICS_TOKEN": "prod-metrics-token-value",
}
TOKEN = "duffel_test_settings-SECRET"


@pytest.fixture(autouse=True)
def config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Empty config files selected by env, and no FLIGHT_APP_* variable from the machine."""
    for key in list(os.environ):
        if key.upper().startswith("FLIGHT_APP_") or key.upper() == "APP_ENV":
            monkeypatch.delenv(key)
    folder = tmp_path / "config"
    folder.mkdir()
    for env in ("dev", "test", "prod"):
        (folder / f"{env}.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_CONFIG_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_defaults_are_the_contracts_and_the_policys_own() -> None:
    s = load_settings()
    assert (s.flight_provider, s.duffel_url, s.duffel_token) == ("builtin", DEFAULT_BASE_URL, None)
    assert (s.provider_timeout, s.provider_retries) == (10, 2)
    assert (s.breaker_fail_max, s.breaker_reset, s.flight_cache_ttl) == (5, 30, 3600)
    assert s.flight_redis_namespace is None
    assert resilience_policy(s) == ResiliencePolicy()


def test_every_policy_setting_reads_its_default_from_the_policy() -> None:
    """One source of truth: each mapped setting's default is the dataclass field's."""
    defaults = {f.name: f.default for f in fields(ResiliencePolicy)}
    s = load_settings()
    for setting, attribute in FLIGHT_POLICY_SETTINGS.items():
        assert policy_default(setting) == defaults[attribute]
        assert getattr(s, setting) == defaults[attribute]


def test_environment_sets_every_flight_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "FLIGHT_PROVIDER": "duffel",
        "DUFFEL_URL": "https://duffel.internal.example/",
        "DUFFEL_TOKEN": TOKEN,
        "PROVIDER_TIMEOUT": "2.5",
        "PROVIDER_RETRIES": "0",
        "BREAKER_FAIL_MAX": "3",
        "BREAKER_RESET": "12",
        "FLIGHT_CACHE_TTL": "600",
        "FLIGHT_REDIS_NAMESPACE": "staging:flights",
    }.items():
        monkeypatch.setenv(f"FLIGHT_APP_{name}", value)
    s = load_settings()
    assert (s.flight_provider, s.duffel_url) == ("duffel", "https://duffel.internal.example")
    assert s.duffel_token is not None
    assert s.duffel_token.get_secret_value() == TOKEN
    assert resilience_policy(s) == ResiliencePolicy(
        timeout=2.5, retries=0, breaker_fail_max=3, breaker_reset=12, cache_ttl=600
    )
    assert s.flight_redis_namespace == "staging:flights"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLIGHT_APP_FLIGHT_PROVIDER", "amadeus"),
        ("FLIGHT_APP_PROVIDER_TIMEOUT", "0"),
        ("FLIGHT_APP_PROVIDER_TIMEOUT", "121"),
        ("FLIGHT_APP_PROVIDER_TIMEOUT", "nan"),
        ("FLIGHT_APP_PROVIDER_RETRIES", "-1"),
        ("FLIGHT_APP_PROVIDER_RETRIES", "11"),
        ("FLIGHT_APP_PROVIDER_RETRIES", "1.5"),
        ("FLIGHT_APP_BREAKER_FAIL_MAX", "0"),
        ("FLIGHT_APP_BREAKER_RESET", "0"),
        ("FLIGHT_APP_BREAKER_RESET", "inf"),
        ("FLIGHT_APP_FLIGHT_CACHE_TTL", "-5"),
        ("FLIGHT_APP_FLIGHT_CACHE_TTL", "86401"),
        ("FLIGHT_APP_DUFFEL_URL", "ftp://api.duffel.com"),
        ("FLIGHT_APP_DUFFEL_URL", "api.duffel.com"),
        ("FLIGHT_APP_DUFFEL_URL", "https://user:pw@api.duffel.com"),
        ("FLIGHT_APP_DUFFEL_URL", "https://api.duffel.com/?x=1"),
        ("FLIGHT_APP_FLIGHT_REDIS_NAMESPACE", "has spaces"),
    ],
)
def test_out_of_range_values_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.variables == (variable,)


@pytest.mark.parametrize("app_env", ["dev", "test", "prod"])
def test_duffel_without_a_token_is_refused_in_every_environment(
    monkeypatch: pytest.MonkeyPatch, app_env: str
) -> None:
    """It could not answer a single search; better a clear refusal at start."""
    for key, value in PROD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("APP_ENV", app_env)
    monkeypatch.setenv("FLIGHT_APP_FLIGHT_PROVIDER", "duffel")
    monkeypatch.setenv("FLIGHT_APP_DUFFEL_TOKEN", " ")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.variables == ("FLIGHT_APP_DUFFEL_TOKEN",)
    assert "FLIGHT_APP_DUFFEL_TOKEN_FILE" in str(refused.value)


def test_the_token_may_come_from_a_file_and_never_shows(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret = tmp_path / "duffel_token"
    secret.write_text(TOKEN + "\n", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_FLIGHT_PROVIDER", "duffel")
    monkeypatch.setenv("FLIGHT_APP_DUFFEL_TOKEN_FILE", str(secret))
    s = load_settings()
    assert s.duffel_token is not None
    assert s.duffel_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(s)
    assert TOKEN not in str(s)
    search = build_flight_search(s)
    try:
        assert TOKEN not in repr(search.provider)
    finally:
        search.close()


def test_the_token_may_come_from_the_secrets_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "secrets"
    folder.mkdir()
    (folder / "duffel_token").write_text(TOKEN, encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_SECRETS_DIR", str(folder))
    monkeypatch.setenv("FLIGHT_APP_FLIGHT_PROVIDER", "duffel")
    token = load_settings().duffel_token
    assert token is not None
    assert token.get_secret_value() == TOKEN


def test_prod_sends_the_token_over_https_only(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PROD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FLIGHT_APP_FLIGHT_PROVIDER", "duffel")
    monkeypatch.setenv("FLIGHT_APP_DUFFEL_TOKEN", TOKEN)
    assert load_settings().duffel_url == DEFAULT_BASE_URL
    monkeypatch.setenv("FLIGHT_APP_DUFFEL_URL", "http://duffel.internal.example")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert refused.value.variables == ("FLIGHT_APP_DUFFEL_URL",)
    assert TOKEN not in str(refused.value)
    monkeypatch.setenv("APP_ENV", "dev")
    assert load_settings().duffel_url == "http://duffel.internal.example"


def test_the_builtin_provider_needs_no_duffel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in PROD.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FLIGHT_APP_DUFFEL_URL", "http://unused.example")
    assert load_settings().flight_provider == "builtin"


def test_the_namespace_defaults_to_the_apps_own(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHT_APP_FLIGHT_REDIS_NAMESPACE", "")
    assert load_settings().flight_redis_namespace is None
    assert REDIS_NAMESPACE == "flight_app:flight_provider"
