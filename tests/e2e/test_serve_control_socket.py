"""End to end: a served instance answers ``gunicornc`` on its own control socket.

Before, every instance of a user on a host opened ``~/.gunicorn/gunicorn.ctl``,
so the last one started took the socket from the others.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gunicorn.ctl.client import ControlClient

pytestmark = pytest.mark.e2e

StartServer = Callable[..., Any]


def test_each_instance_has_its_own_control_socket(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    first = start_server(instance=tmp_path / "one")
    second = start_server(instance=tmp_path / "two")
    for server in (first, second):
        socket_path = server.instance / "gunicorn.ctl"
        mode = socket_path.stat().st_mode
        assert stat.S_ISSOCK(mode)
        assert stat.S_IMODE(mode) == 0o600
        with ControlClient(str(socket_path), timeout=10) as client:
            config = client.send_command("show config")
            overview = client.send_command("show all")
        # ``serve`` execs gunicorn, so the arbiter is the process the test started.
        assert overview["arbiter"]["pid"] == server.process.pid
        assert config["bind"] == [server.base_url.removeprefix("http://")]
        assert config["control_socket"] == str(socket_path.resolve())
    assert not (home / ".gunicorn").exists()
