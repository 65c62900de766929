"""The log retention settings and the live-update settings: defaults, layers, refusals, use."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from authkit.audit import RotatingJsonlHandler, RotationPolicy
from flight_app.app import get_components
from flight_app.live_setup import max_live_clients
from flight_app.settings import SECONDS_PER_DAY, Settings, SettingsError, load_settings


@pytest.fixture
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


@pytest.mark.usefixtures("config_dir")
def test_defaults_rotate_at_10_mib_and_keep_10_compressed_archives() -> None:
    s = load_settings()
    assert (s.log_max_bytes, s.log_max_age_seconds) == (10 * 1024 * 1024, None)
    assert (s.log_backup_count, s.log_retention_days, s.log_compress) == (10, None, True)
    assert (s.live_channel, s.live_max_clients) == ("flight-app:audit", None)
    assert _rotation(s) == RotationPolicy()  # the core's own defaults


def test_toml_sets_retention(config_dir: Path) -> None:
    (config_dir / "dev.toml").write_text(
        "log_max_bytes = 1048576\nlog_max_age_seconds = 86400\nlog_backup_count = 30\n"
        'log_retention_days = 90\nlog_compress = false\nlive_channel = "audit-x"\n',
        encoding="utf-8",
    )
    s = load_settings()
    assert _rotation(s) == RotationPolicy(
        max_bytes=1048576,
        max_age_seconds=86400,
        backup_count=30,
        retention_seconds=90 * SECONDS_PER_DAY,
        compress=False,
    )
    assert s.live_channel == "audit-x"


@pytest.mark.usefixtures("config_dir")
def test_env_overrides_and_switches_rules_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIGHT_APP_LOG_MAX_BYTES", "off")
    monkeypatch.setenv("FLIGHT_APP_LOG_BACKUP_COUNT", "None")
    monkeypatch.setenv("FLIGHT_APP_LOG_MAX_AGE_SECONDS", "3600")
    monkeypatch.setenv("FLIGHT_APP_LOG_RETENTION_DAYS", "7")
    monkeypatch.setenv("FLIGHT_APP_LOG_COMPRESS", "false")
    monkeypatch.setenv("FLIGHT_APP_LIVE_MAX_CLIENTS", "3")
    s = load_settings()
    assert _rotation(s) == RotationPolicy(
        max_bytes=None,
        max_age_seconds=3600,
        backup_count=None,
        retention_seconds=7 * SECONDS_PER_DAY,
        compress=False,
    )
    assert max_live_clients(s) == 3


@pytest.mark.usefixtures("config_dir")
def test_backup_count_zero_means_purge_at_once() -> None:
    assert _rotation(load_settings(log_backup_count=0)).backup_count == 0


@pytest.mark.usefixtures("config_dir")
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("FLIGHT_APP_LOG_MAX_BYTES", "0"),
        ("FLIGHT_APP_LOG_MAX_BYTES", "ten"),
        ("FLIGHT_APP_LOG_MAX_AGE_SECONDS", "-1"),
        ("FLIGHT_APP_LOG_BACKUP_COUNT", "-1"),
        ("FLIGHT_APP_LOG_RETENTION_DAYS", "0"),
        ("FLIGHT_APP_LOG_COMPRESS", "maybe"),
        ("FLIGHT_APP_LIVE_MAX_CLIENTS", "0"),
        ("FLIGHT_APP_LIVE_CHANNEL", ""),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.variables == (variable,)


@pytest.mark.usefixtures("config_dir")
@pytest.mark.parametrize(("threads", "expected"), [(1, 1), (2, 1), (4, 2), (9, 4)])
def test_live_clients_default_to_half_the_threads(threads: int, expected: int) -> None:
    assert max_live_clients(load_settings(threads=threads)) == expected


def test_audit_and_system_logs_both_use_the_settings(make_app: Callable[..., Flask]) -> None:
    app = make_app(log_max_bytes=4096, log_backup_count=3, log_retention_days=2, log_compress=False)
    expected = RotationPolicy(
        max_bytes=4096, backup_count=3, retention_seconds=2 * SECONDS_PER_DAY, compress=False
    )
    assert get_components(app).audit.writer.rotation == expected
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, RotatingJsonlHandler)]
    assert [h.writer.path.name for h in handlers] == ["system.jsonl"]
    assert handlers[0].writer.rotation == expected


def test_the_audit_log_rotates_by_the_configured_size(make_app: Callable[..., Flask]) -> None:
    app = make_app(log_max_bytes=600, log_backup_count=2)
    audit = get_components(app).audit
    for n in range(40):
        audit.log("test.event", outcome="success", n=n)
    archives = sorted(audit.path.parent.glob("auth.*.jsonl.gz"))
    assert len(archives) == 2  # rotated several times, the oldest purged
    assert audit.path.stat().st_size <= 600


def _rotation(settings: Settings) -> RotationPolicy:
    """The rotation policy the app gives both logs: the core config's audit rotation."""
    return settings.authkit_config().audit.rotation
