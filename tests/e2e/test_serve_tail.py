"""``flight-app serve --tail``: serves in the background, streams the system log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_tail_streams_request_lines_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "instance"),
            "FLIGHT_APP_PORT": str(port),
        }
    )
    out = (tmp_path / "out.log").open("wb")
    process = subprocess.Popen(  # our own entry point
        [str(Path(sys.executable).with_name("flight-app")), "serve", "--tail"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        response = httpx.get(
            f"http://127.0.0.1:{port}/health/live", headers={"X-Request-ID": "tail-check-1"}
        )
        assert response.status_code == 200
        time.sleep(0.6)  # the tail polls the log every 0.2 s
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        out.close()
    text = (tmp_path / "out.log").read_text(errors="replace")
    assert code == 0
    streamed = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(
        line.get("trace_id") == "tail-check-1" and line.get("path") == "/health/live"
        for line in streamed
    ), text[-2000:]
