"""Starting ``flight-app serve`` as a real process on a free 127.0.0.1 port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import httpx
import pytest


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    instance: Path
    log: Path

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            output = server.log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"serve exited early ({server.process.returncode}):\n{output}")
        try:
            if httpx.get(f"{server.base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("flight-app serve did not become ready in time")


StartServer = Callable[..., Server]


class _Servers:
    """Servers started in ``folder`` (instance folders and logs), all stopped by ``stop_all``."""

    def __init__(self, folder: Path, *, own_default_instance: bool = False) -> None:
        self.folder = folder
        self.own_default_instance = own_default_instance
        self.started: list[Server] = []
        self.logs: list[IO[bytes]] = []

    def start(
        self, instance: Path | None = None, *, app_env: str = "test", **settings: str
    ) -> Server:
        port = free_port()
        if instance is None:
            # Servers that outlive a test each get their own folder unless told to
            # share one: two modules' servers once shared a database seeded with
            # another module's admin password.
            name = f"instance-{port}" if self.own_default_instance else "instance"
            instance = self.folder / name
        env = {key: value for key, value in os.environ.items() if not key.startswith("FLIGHT_APP_")}
        env.update(
            {
                "APP_ENV": app_env,
                "FLIGHT_APP_INSTANCE_PATH": str(instance),
                "FLIGHT_APP_HOST": "127.0.0.1",
                "FLIGHT_APP_PORT": str(port),
            }
        )
        env.update({f"FLIGHT_APP_{k.upper()}": v for k, v in settings.items()})
        log = self.folder / f"serve-{port}.log"
        handle = log.open("wb")
        self.logs.append(handle)
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("flight-app")), "serve"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        server = Server(f"http://127.0.0.1:{port}", process, instance, log)
        self.started.append(server)
        _wait_ready(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()
        for handle in self.logs:
            handle.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Factory: ``start_server(instance=..., app_env=..., **FLIGHT_APP_overrides)``; all
    stopped after."""
    servers = _Servers(tmp_path)
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="session")
def start_shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartServer]:
    """Like ``start_server`` for servers that outlive one test (module-scoped fixtures);
    each server started without ``instance=`` gets a fresh instance folder."""
    servers = _Servers(tmp_path_factory.mktemp("servers"), own_default_instance=True)
    yield servers.start
    servers.stop_all()


class Caller(Protocol):
    """A host a test talks JSON to: ``call(method, path, body, token) -> (status, body)``."""

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]: ...


SignUpAndIn = Callable[[Caller, str, str], dict[str, Any]]


def _sign_up_and_in(host: Caller, username: str, password: str) -> dict[str, Any]:
    status, user = host.call(
        "POST",
        "/auth/register",
        {"username": username, "email": f"{username}@example.com", "password": password},
    )
    assert status == 201, user
    status, pair = host.call("POST", "/auth/login", {"username": username, "password": password})
    assert status == 200, pair
    return {"user": user, **pair}


@pytest.fixture
def sign_up_and_in() -> SignUpAndIn:
    """``sign_up_and_in(host, username, password)``: register and sign in through
    ``host.call``; returns ``{"user": ..., "access_token": ..., "refresh_token": ...}``."""
    return _sign_up_and_in
