"""gunicorn's control socket belongs to the instance, not to the user's home.

gunicorn 25.1+ opens ``~/.gunicorn/gunicorn.ctl`` (or ``$XDG_RUNTIME_DIR/...``) by
default, one path shared by every instance on a host; ``flight_app.gunicorn_conf``
puts it in the instance folder, or switches it off when that path cannot be a
Unix socket. Loaded here exactly as ``flight-app serve`` loads it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from gunicorn.app.base import Application

from flight_app.gunicorn_conf import control_socket_path

CONFIG = "flight_app.gunicorn_conf"


class _ConfigOnly(Application):  # type: ignore[misc]
    """gunicorn's own loading of ``--config python:flight_app.gunicorn_conf``."""

    def load_config(self) -> None:
        self.load_config_from_module_name_or_filename(f"python:{CONFIG}")

    def load(self) -> Any:
        raise AssertionError("only the configuration is loaded")


def load_gunicorn_config(monkeypatch: pytest.MonkeyPatch, instance: Path) -> Any:
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance))
    monkeypatch.delitem(sys.modules, CONFIG, raising=False)  # re-read with this instance
    try:
        return _ConfigOnly().cfg
    finally:
        sys.modules.pop(CONFIG, None)


def test_the_control_socket_is_in_the_instance_folder(
    app_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    instance = tmp_path / "instance"
    cfg = load_gunicorn_config(monkeypatch, instance)
    assert cfg.control_socket == str(instance.resolve() / "gunicorn.ctl")
    assert cfg.control_socket_disable is False
    assert cfg.control_socket_mode == 0o600


def test_two_instances_get_two_sockets(
    app_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    first = load_gunicorn_config(monkeypatch, tmp_path / "a").control_socket
    second = load_gunicorn_config(monkeypatch, tmp_path / "b").control_socket
    assert first != second


def test_a_relative_instance_path_gives_an_absolute_socket(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    path, disabled = control_socket_path(Path("instance"))
    assert path == str(tmp_path.resolve() / "instance" / "gunicorn.ctl")
    assert not disabled


def test_a_path_too_long_for_a_unix_socket_switches_it_off(
    app_env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = tmp_path / ("d" * 120)
    path, disabled = control_socket_path(deep)
    assert disabled
    cfg = load_gunicorn_config(monkeypatch, deep)
    assert cfg.control_socket_disable is True
    assert "gunicorn.ctl" in path
