"""``flight-app serve --tail``: serves in the background, streams the system log.

The log is made small enough to rotate several times during the run, and every
request line must still reach the terminal (regression: lines written just before
a rotation were lost).
"""

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

from authkit.audit import list_archives

pytestmark = pytest.mark.e2e


REQUESTS = 40


def test_tail_streams_request_lines_across_rotation_and_stops_on_sigterm(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "instance"),
            "FLIGHT_APP_PORT": str(port),
            # A small system log: it rotates several times while the requests run.
            "FLIGHT_APP_LOG_MAX_BYTES": "2000",
            "FLIGHT_APP_LOG_BACKUP_COUNT": "100",
            # Each access line written at once: with the default 1 s buffer, a
            # fast machine writes the lines in two flushes, so two rotations.
            "FLIGHT_APP_ACCESS_LOG_FLUSH_INTERVAL": "0",
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
        for index in range(REQUESTS):
            response = httpx.get(
                f"http://127.0.0.1:{port}/health/live",
                headers={"X-Request-ID": f"tail-check-{index}"},
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
    seen = {line.get("trace_id") for line in streamed if line.get("path") == "/health/live"}
    # Every request line, including those written just before each rotation.
    missing = sorted(f"tail-check-{i}" for i in range(REQUESTS) if f"tail-check-{i}" not in seen)
    assert not missing, text[-2000:]
    archives = list_archives(tmp_path / "instance" / "system.jsonl")
    assert len(archives) >= 3, "the log must really rotate during the test"


def test_ctrl_c_at_the_terminal_stops_the_tail_and_the_server(tmp_path: Path) -> None:
    """Ctrl+C sends SIGINT to the whole foreground process group: both must stop.

    That group is the tail (flight-app) and gunicorn with its workers; the tail
    also forwards the signal. Nothing may be left serving afterwards.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "instance"),
            "FLIGHT_APP_PORT": str(port),
            "FLIGHT_APP_WORKERS": "2",
        }
    )
    out = (tmp_path / "out.log").open("wb")
    process = subprocess.Popen(  # a process group of its own, like a terminal job
        [str(Path(sys.executable).with_name("flight-app")), "serve", "--tail"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail((tmp_path / "out.log").read_text(errors="replace")[-2000:])
        started = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=30)
        stopped_in = time.monotonic() - started
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out.close()
    assert code == 0, (tmp_path / "out.log").read_text(errors="replace")[-2000:]
    assert stopped_in < 25  # gunicorn's graceful_timeout is 20 s
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health/live", timeout=1)
    # No gunicorn process of this group is left behind.
    with pytest.raises(ProcessLookupError):
        os.killpg(process.pid, 0)
