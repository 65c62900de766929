"""``/health/ready`` checks Redis when ``FLIGHT_APP_REDIS_URL`` is set (issue 11).

Regression: readiness answered 200 with Redis down, although the live updates, the
flight circuit and its cache of every worker go through it. The ``redis`` check
PINGs with a 1 s timeout and no retries; here against the real Redis, a closed
port, and a port that accepts connections but never answers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator

import pytest
import redis
from flask import Flask

from flight_app.app import close_app
from flight_app.readiness import REDIS_CHECK_TIMEOUT, RedisCheck

MakeApp = Callable[..., Flask]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port whose listener completes the handshake and then says nothing."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield int(listener.getsockname()[1])
    finally:
        listener.close()


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.redis
def test_ready_names_redis_when_it_answers(make_app: MakeApp, redis_url: str) -> None:
    response = make_app(redis_url=redis_url).test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_ready_is_503_naming_redis_on_a_dead_port(make_app: MakeApp) -> None:
    client = make_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0").test_client()
    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "redis": "unavailable"},
    }


def test_a_redis_that_never_answers_fails_within_the_check_timeout(
    make_app: MakeApp, silent_port: int
) -> None:
    client = make_app(redis_url=f"redis://127.0.0.1:{silent_port}/0").test_client()
    started = time.monotonic()
    response = client.get("/health/ready")
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] in {"unavailable", "timeout"}
    assert REDIS_CHECK_TIMEOUT * 0.8 <= elapsed < 2.5


def test_the_check_asks_once_without_retries(silent_port: int) -> None:
    """redis-py retries 3 times by default; a probe must not take 4 timeouts."""
    check = RedisCheck(f"redis://127.0.0.1:{silent_port}/0", timeout=0.3)
    started = time.monotonic()
    try:
        with pytest.raises(redis.exceptions.TimeoutError):
            check()
    finally:
        check.close()
    assert time.monotonic() - started < 0.9


def test_the_check_does_not_show_the_url() -> None:
    check = RedisCheck("redis://:hunter2-secret@127.0.0.1:1/0")
    try:
        assert "hunter2" not in repr(check)
    finally:
        check.close()


def test_without_a_redis_url_there_is_no_redis_check(make_app: MakeApp) -> None:
    response = make_app().test_client().get("/health/ready")
    assert response.get_json()["checks"] == {"database": "ok"}


def test_closing_the_app_closes_the_redis_check(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[RedisCheck] = []
    real_close = RedisCheck.close

    def spy(self: RedisCheck) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(RedisCheck, "close", spy)
    app = make_app(redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    assert close_app(app) == []
    assert len(closed) == 1
