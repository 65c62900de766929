"""The reference app's side of the fault suite (``tests/e2e/test_faults.py``).

- ``/health/ready`` names ``redis`` when ``FLIGHT_APP_REDIS_URL`` is set and Redis
  does not answer (it used to check only the rate-limit storage).
- A booting gunicorn worker holds no listening socket: connections the kernel
  would have queued on it during its whole boot (a SIGKILLed worker's
  replacement) went unanswered for seconds.
"""

from __future__ import annotations

import importlib
import logging
import socket
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from gunicorn.config import Config
from gunicorn.sock import create_sockets


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _connects(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_readiness_names_redis_when_it_does_not_answer(make_app: Callable[..., Flask]) -> None:
    app = make_app(redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    answer = app.test_client().get("/health/ready")
    assert answer.status_code == 503
    assert answer.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }


@pytest.mark.redis
def test_readiness_checks_a_live_redis(make_app: Callable[..., Flask], redis_url: str) -> None:
    app = make_app(redis_url=redis_url)
    answer = app.test_client().get("/health/ready")
    assert answer.status_code == 200
    assert answer.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_a_worker_listens_only_once_its_app_is_loaded(app_env: None) -> None:
    hooks: Any = importlib.import_module("flight_app.gunicorn_conf")
    port = _closed_port()
    cfg = Config()
    cfg.set("bind", f"127.0.0.1:{port}")
    cfg.set("reuse_port", True)
    log = logging.getLogger("test.gunicorn")
    pipe = (0, 1)
    worker = SimpleNamespace(cfg=cfg, log=log, sockets=create_sockets(cfg, log), PIPE=pipe)
    assert _connects(port)  # gunicorn bound it right after the fork

    hooks.post_fork(None, worker)
    assert worker.sockets == []
    assert not _connects(port)  # booting: the kernel queues nothing on this worker

    hooks._bind_after_load(worker)
    try:
        assert len(worker.sockets) == 1
        assert worker.wait_fds == [*worker.sockets, pipe[0]]
        assert _connects(port)
    finally:
        for listener in worker.sockets:
            listener.close()


def test_without_reuse_port_the_shared_sockets_are_left_alone(app_env: None) -> None:
    hooks: Any = importlib.import_module("flight_app.gunicorn_conf")
    cfg = Config()
    cfg.set("reuse_port", False)
    shared = [object()]
    worker = SimpleNamespace(cfg=cfg, sockets=shared)
    hooks.post_fork(None, worker)
    hooks._bind_after_load(worker)
    assert worker.sockets is shared
