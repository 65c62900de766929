"""The reference app's access lines and session cache wiring.

Access lines reach ``system.jsonl`` through ``access_log_sink``: buffered (written
by ``flush_buffered_lines``, at exit, before a fork, or within
``access_log_flush_interval``), or at once with an interval of 0. The session
cache is on (0.5 s) with the host-wide epoch file in the instance folder.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask

from authkit.audit import flush_buffered_lines
from authkit.sessions import FileEpoch
from flight_app.app import get_components

ReadLog = Callable[[str], list[dict[str, Any]]]
ACCESS_KEYS = [
    "ts", "level", "logger", "message", "trace_id",
    "method", "path", "route", "status", "duration_ms",
]  # fmt: skip


def _access(read_log: ReadLog, trace_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in read_log("system.jsonl")
        if e.get("logger") == "authkit_flask.access" and e.get("trace_id") == trace_id
    ]


def test_an_access_line_has_every_field_after_a_flush(
    make_app: Callable[..., Flask], read_log: ReadLog
) -> None:
    app = make_app(access_log_flush_interval=60)
    response = app.test_client().get("/health/live", headers={"X-Request-ID": "acc-line-1"})
    assert response.status_code == 200
    assert _access(read_log, "acc-line-1") == []  # still in the buffer
    flush_buffered_lines()
    [line] = _access(read_log, "acc-line-1")
    assert list(line) == ACCESS_KEYS
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "GET", "/health/live", "/health/live", 200,
    )  # fmt: skip
    assert isinstance(line["duration_ms"], float)


def test_with_no_flush_interval_the_line_is_written_at_once(
    make_app: Callable[..., Flask], read_log: ReadLog
) -> None:
    app = make_app(access_log_flush_interval=0)
    app.test_client().get("/nowhere", headers={"X-Request-ID": "acc-line-2"})
    [line] = _access(read_log, "acc-line-2")
    assert (line["path"], line["route"], line["status"]) == ("/nowhere", None, 404)


def test_the_session_cache_is_on_with_the_instance_epoch_file(
    make_app: Callable[..., Flask], instance_path: Path
) -> None:
    cache = get_components(make_app()).kit.auth.session_cache
    assert cache is not None
    assert cache.config.ttl_seconds == 0.5
    assert isinstance(cache.epoch, FileEpoch)
    assert cache.epoch.path == instance_path / "session.epoch"
    assert stat.S_IMODE(cache.epoch.path.stat().st_mode) == 0o600


def test_a_session_cache_ttl_of_zero_turns_it_off(make_app: Callable[..., Flask]) -> None:
    assert get_components(make_app(session_cache_ttl=0)).kit.auth.session_cache is None


def test_a_logout_in_one_app_ends_the_token_in_another_of_the_same_host(
    make_app: Callable[..., Flask],
) -> None:
    """Two apps on one instance folder stand for two workers: they share the epoch file."""
    first, second = make_app(), make_app()
    one, two = first.test_client(), second.test_client()
    user = {"username": "alice", "email": "alice@example.com", "password": "violet-harbour-7-x"}
    assert one.post("/auth/register", json=user).status_code == 201
    pair = one.post("/auth/login", json=user).get_json()
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    for _ in range(3):
        assert two.get("/auth/me", headers=headers).status_code == 200
    assert (
        one.post("/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    )
    assert two.get("/auth/me", headers=headers).status_code == 401
