"""The app's settings hold the core's config: one default and one rule per value.

Every setting that sets a value of ``authkit.AuthkitConfig`` takes its default
from the core's dataclass and is validated by the core; these tests compare
against freshly built core objects, so a default re-typed into ``settings.py``
that drifts from the core fails here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from authkit import AuthkitConfig, MfaConfig
from authkit.account import AccountConfig
from authkit.audit import RotationPolicy
from authkit.passwords import Argon2Parameters
from authkit.throttle import ThrottleRules
from authkit.tokens import AccessTokenConfig, RefreshLifetimes
from flight_app.settings import CORE_SETTINGS, Settings, SettingsError, env_var_name, load_settings

CORE_DEFAULTS: dict[str, object] = {
    "tokens": AccessTokenConfig(issuer="i", audience="a"),
    "refresh": RefreshLifetimes(),
    "argon2": Argon2Parameters(),
    "throttle": ThrottleRules(),
    "rotation": RotationPolicy(),
    "mfa": MfaConfig(),
    "config": AuthkitConfig(service_name="s", secret_key="k" * 32),
    "account": AccountConfig(),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Built-in defaults only: no variable from the machine, an empty config file."""
    for key in list(os.environ):
        if key.upper().startswith("FLIGHT_APP_") or key.upper() == "APP_ENV":
            monkeypatch.delenv(key)
    folder = tmp_path / "config"
    folder.mkdir()
    for env in ("dev", "test", "prod"):
        (folder / f"{env}.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("FLIGHT_APP_CONFIG_DIR", str(folder))
    monkeypatch.chdir(tmp_path)


def _field_default(name: str) -> Any:
    field = Settings.model_fields[name]
    return field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]


@pytest.mark.parametrize("name", sorted(CORE_SETTINGS))
def test_the_app_default_is_the_core_default(name: str) -> None:
    section, attribute = CORE_SETTINGS[name]
    core = getattr(CORE_DEFAULTS[section], attribute)
    app = _field_default(name)
    if isinstance(core, frozenset):
        app = frozenset(app)
    assert app == core, f"{env_var_name(name)} defaults to {app!r}, the core to {core!r}"


def test_every_core_section_is_reached_by_default_settings() -> None:
    """Default settings build exactly the core's default sections."""
    config = load_settings().authkit_config()
    assert config.refresh == RefreshLifetimes()
    assert config.argon2 == Argon2Parameters()
    assert config.throttle == ThrottleRules()
    assert config.audit.rotation == RotationPolicy()
    assert (
        config.access_tokens.ttl_seconds == AccessTokenConfig(issuer="i", audience="a").ttl_seconds
    )
    assert config.mfa.required_roles == MfaConfig().required_roles
    assert (
        config.password_policy
        == AuthkitConfig(service_name="s", secret_key="k" * 32).password_policy
    )


def test_settings_map_onto_real_core_fields() -> None:
    """The mapping names attributes the core really has (a renamed field fails here)."""
    for name, (section, attribute) in CORE_SETTINGS.items():
        assert name in Settings.model_fields, name
        assert hasattr(CORE_DEFAULTS[section], attribute), (name, section, attribute)


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"throttle_pair_limit": 0}, "FLIGHT_APP_THROTTLE_PAIR_LIMIT"),
        ({"access_token_ttl": 0}, "FLIGHT_APP_ACCESS_TOKEN_TTL"),
        ({"clock_skew": -1}, "FLIGHT_APP_CLOCK_SKEW"),
        ({"refresh_idle_ttl": 10, "refresh_absolute_ttl": 5}, "FLIGHT_APP_REFRESH_IDLE_TTL"),
        ({"argon2_parallelism": 0}, "FLIGHT_APP_ARGON2_PARALLELISM"),
        ({"log_max_bytes": 0}, "FLIGHT_APP_LOG_MAX_BYTES"),
        ({"log_backup_count": -1}, "FLIGHT_APP_LOG_BACKUP_COUNT"),
        ({"secret_key": "short"}, "FLIGHT_APP_SECRET_KEY"),
        ({"pseudonym_key": "short"}, "FLIGHT_APP_PSEUDONYM_KEY"),
        ({"mfa_encryption_key": "short"}, "FLIGHT_APP_MFA_ENCRYPTION_KEY"),
        ({"jwt_issuer": ""}, "FLIGHT_APP_JWT_ISSUER"),
    ],
)
def test_the_core_rule_names_the_variable(override: dict[str, Any], variable: str) -> None:
    """A value the core refuses is a SettingsError naming the variable, never the value."""
    with pytest.raises(SettingsError) as caught:
        load_settings(**override)
    assert caught.value.variables == (variable,)
    assert variable in str(caught.value)
    for value in override.values():
        if isinstance(value, str) and value:
            assert value not in str(caught.value).replace(variable, "")
