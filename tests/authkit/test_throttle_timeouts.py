"""A hung or stopped Redis rate-limit storage: sign-ins fail closed, and fast.

Regression of the fault suite (``tests/e2e/test_faults.py``): redis-py waits
forever for an answer by default, so a Redis server that hung (SIGSTOP, a full
network buffer) held every sign-in thread until it came back. The throttle now
gives a Redis storage connect and command timeouts unless its URI sets them, and
turns the failure into ``ServiceUnavailable`` (503), never an unthrottled attempt.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import pytest

from authkit import LoginThrottle
from authkit.errors import ServiceUnavailable
from authkit.throttle import REDIS_TIMEOUT_SECONDS


def _connection_kwargs(throttle: LoginThrottle) -> dict[str, Any]:
    client = throttle._storage.storage  # type: ignore[attr-defined]
    kwargs: dict[str, Any] = client.connection_pool.connection_kwargs
    return kwargs


def test_a_redis_storage_gets_default_timeouts() -> None:
    throttle = LoginThrottle("redis://127.0.0.1:6399/0")
    try:
        kwargs = _connection_kwargs(throttle)
        assert kwargs["socket_timeout"] == REDIS_TIMEOUT_SECONDS
        assert kwargs["socket_connect_timeout"] == REDIS_TIMEOUT_SECONDS
    finally:
        throttle.close()


def test_timeouts_in_the_uri_win() -> None:
    throttle = LoginThrottle("redis://127.0.0.1:6399/0?socket_timeout=3&socket_connect_timeout=4")
    try:
        kwargs = _connection_kwargs(throttle)
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (3.0, 4.0)
    finally:
        throttle.close()


def test_a_hung_redis_refuses_sign_ins_within_a_bound(silent_server: int) -> None:
    throttle = LoginThrottle(f"redis://127.0.0.1:{silent_server}/0")
    try:
        for attempt in (throttle.acquire_login, throttle.check_login):
            started = time.monotonic()
            with pytest.raises(ServiceUnavailable):
                attempt("192.0.2.1", "alice")
            # One timeout per try, redis-py's three retries, their short backoff.
            assert time.monotonic() - started < 4 * REDIS_TIMEOUT_SECONDS + 2
        assert throttle.ping() is False
    finally:
        throttle.close()


def test_a_stopped_redis_refuses_sign_ins_at_once() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    throttle = LoginThrottle(f"redis://127.0.0.1:{port}/0")
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable):
            throttle.acquire_login("192.0.2.1", "alice")
        with pytest.raises(ServiceUnavailable):
            throttle.register_attempt("192.0.2.1")
        assert time.monotonic() - started < 2
    finally:
        throttle.close()
