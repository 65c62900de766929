"""The shipped nginx configuration in front of the real ``flight-app serve``.

Regression (security probe, finding 3): four connections sending partial headers
pinned every gunicorn thread and ``/health/live`` timed out. Behind the project's
nginx (``deploy/nginx/flight-app.conf.template``, a buffering reverse proxy), 50
slow clients hold nginx connections only, and ``/health/live`` still answers
fast. Debian's ``nginx`` runs it here on loopback ports; ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import string
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx" / "flight-app.conf.template"
SLOW_CLIENTS = 50


def nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("nginx is not installed; .ci/run installs Debian's nginx-light")
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def render(upstream: str, port: int) -> str:
    """What the official image's envsubst does: only the variables it is given."""
    return string.Template(TEMPLATE.read_text(encoding="utf-8")).safe_substitute(
        FLIGHT_APP_UPSTREAM=upstream, NGINX_PORT=f"127.0.0.1:{port}"
    )


def main_config(folder: Path, site: str) -> Path:
    """A whole nginx.conf around the shipped server block, every path in ``folder``."""
    (folder / "site.conf").write_text(site, encoding="utf-8")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(
        f"""
daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/client_body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    include {folder}/site.conf;
}}
""",
        encoding="utf-8",
    )
    return config


@pytest.fixture
def nginx_in_front(start_server: Callable[..., Any], tmp_path: Path) -> Iterator[str]:
    """``flight-app serve`` (1 worker, 4 threads) behind nginx; yields nginx's base URL."""
    binary = nginx_binary()
    server = start_server(workers="1", threads="4", trusted_proxies="1")
    port = free_port()
    folder = tmp_path / "nginx"
    folder.mkdir()
    config = main_config(folder, render(server.base_url.removeprefix("http://"), port))
    check = subprocess.run([binary, "-t", "-c", str(config)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_shipped_config_is_valid(tmp_path: Path) -> None:
    binary = nginx_binary()
    config = main_config(tmp_path, render("127.0.0.1:8000", free_port()))
    result = subprocess.run([binary, "-t", "-c", str(config)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_slow_clients_do_not_stall_the_app_behind_nginx(nginx_in_front: str) -> None:
    host, port = nginx_in_front.removeprefix("http://").split(":")
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW_CLIENTS):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            slow.append(sock)
        time.sleep(0.5)
        for sock in slow:  # a byte more each: they stay busy, never finished
            sock.sendall(b"a")
        timings = []
        for _ in range(10):
            started = time.perf_counter()
            response = httpx.get(f"{nginx_in_front}/health/live", timeout=5)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        timings.sort()
        assert timings[len(timings) // 2] < 0.1, timings
    finally:
        for sock in slow:
            sock.close()


def test_the_app_sees_the_client_address_nginx_saw(nginx_in_front: str) -> None:
    """One trusted hop: nginx replaces any forged X-Forwarded-For with the peer address."""
    forged = {"X-Forwarded-For": "198.51.100.66", "X-Request-ID": "nginx-hop-1"}
    response = httpx.get(f"{nginx_in_front}/health/live", headers=forged, timeout=5)
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "nginx-hop-1"


def test_without_nginx_a_few_slow_clients_pin_every_thread(
    start_server: Callable[..., Any],
) -> None:
    """The attack the proxy answers: straight at gunicorn, eight dribbling clients
    hold all four threads and a health probe goes unanswered. Why gunicorn's own
    documentation asks for a buffering proxy, and why the deployment has one."""
    server = start_server(workers="1", threads="4")
    host, port = server.base_url.removeprefix("http://").split(":")
    slow = []
    try:
        for _ in range(8):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
            slow.append(sock)
            time.sleep(0.05)
        with pytest.raises(httpx.TimeoutException):
            httpx.get(f"{server.base_url}/health/live", timeout=2)
    finally:
        for sock in slow:
            sock.close()
