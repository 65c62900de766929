"""Two app processes sharing one Redis limit: failures on one throttle the other."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.redis]


def test_two_servers_share_the_brute_force_budget(
    start_server: Callable[..., Any], redis_url: str
) -> None:
    # A 3 s window keeps the wait short; the rule is the default one otherwise (5 failures).
    limits = {"ratelimit_storage_url": redis_url, "throttle_pair_window": "3"}
    first = start_server(**limits)
    second = start_server(instance=first.instance, **limits)
    username = f"shared-{uuid.uuid4().hex[:8]}"
    password = "violet marmalade drifts at noon"
    registered = httpx.post(
        f"{first.base_url}/auth/register",
        json={"username": username, "email": f"{username}@example.com", "password": password},
    )
    assert registered.status_code == 201, registered.text

    for _ in range(5):
        failed = httpx.post(
            f"{first.base_url}/auth/login",
            json={"username": username, "password": "wrong guess number"},
        )
        assert failed.status_code == 401

    throttled = httpx.post(
        f"{second.base_url}/auth/login", json={"username": username, "password": password}
    )
    assert throttled.status_code == 429, throttled.text
    assert throttled.json()["code"] == "too_many_attempts"
    retry_after = throttled.json()["retry_after"]
    assert isinstance(retry_after, int)
    assert 1 <= retry_after <= 3
    assert throttled.headers["Retry-After"] == str(retry_after)

    time.sleep(retry_after)  # the acceptance criterion is about real elapsed time
    again = httpx.post(
        f"{second.base_url}/auth/login", json={"username": username, "password": password}
    )
    assert again.status_code == 200, again.text
