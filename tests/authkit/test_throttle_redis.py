"""Throttling against a real Redis server: what only a shared storage can show.

The backend-independent behaviour suite runs on Redis too (``test_throttle.py``,
parameter ``redis``); here are the reasons Redis is used at all: several processes
share one budget, atomically, and the keys it stores reveal nothing.
Needs ``AUTHKIT_TEST_REDIS_URL``, e.g. ``redis://127.0.0.1:6379/0``.
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from authkit import LoginThrottle
from authkit.errors import TooManyAttempts
from authkit.throttle import ThrottleRules

REDIS_URL = os.environ.get("AUTHKIT_TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        not REDIS_URL, reason="AUTHKIT_TEST_REDIS_URL is not set: no Redis server to test against"
    ),
]

ADDR = "192.0.2.1"

# Run in a fresh interpreter: argv = url, prefix, action, address, username.
CHILD = """
import sys
from authkit.errors import TooManyAttempts
from authkit.throttle import LoginThrottle, ThrottleRules

url, prefix, action, address, username = sys.argv[1:6]
throttle = LoginThrottle(
    url, ThrottleRules(pair_failures=3, registrations=12), key_prefix=prefix
)
if action == "fail":
    for _ in range(3):
        throttle.record_failure(address, username)
elif action == "check":
    try:
        throttle.check_login(address, username)
    except TooManyAttempts as exc:
        print(f"refused {exc.retry_after}")
    else:
        print("allowed")
elif action == "register":
    allowed = 0
    for _ in range(10):
        try:
            throttle.register_attempt(address)
            allowed += 1
        except TooManyAttempts:
            pass
    print(allowed)
"""


@pytest.fixture
def throttles() -> Iterator[list[LoginThrottle]]:
    """Throttles a test made, closed afterwards so no Redis socket outlives it."""
    made: list[LoginThrottle] = []
    yield made
    for throttle in made:
        throttle.close()


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    value = f"test-{uuid.uuid4().hex}"
    yield value
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"LIMITS:{value}/*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def child(prefix: str, action: str, address: str = ADDR, username: str = "alice") -> str:
    return subprocess.run(
        [sys.executable, "-c", CHILD, REDIS_URL, prefix, action, address, username],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()


def honest_retry_after(started: float, window: int = 60) -> range:
    """The retry_after values that are honest for failures recorded after ``started``.

    The window frees ``window`` seconds after the oldest failure, which happened
    between ``started`` and now; how long a child process took to start is the
    machine's business, so the test accepts exactly that span and nothing more.
    """
    elapsed = time.time() - started
    return range(max(1, math.floor(window - elapsed) + 1), window + 2)


def test_failures_in_one_process_throttle_another(
    prefix: str, throttles: list[LoginThrottle]
) -> None:
    started = time.time()
    child(prefix, "fail")
    throttle = LoginThrottle(REDIS_URL, ThrottleRules(pair_failures=3), key_prefix=prefix)
    throttles.append(throttle)
    with pytest.raises(TooManyAttempts) as info:
        throttle.check_login(ADDR, "Alice")
    assert info.value.retry_after in honest_retry_after(started)


def test_a_success_in_one_process_clears_the_pair_for_another(
    prefix: str, throttles: list[LoginThrottle]
) -> None:
    throttle = LoginThrottle(REDIS_URL, ThrottleRules(pair_failures=3), key_prefix=prefix)
    throttles.append(throttle)
    started = time.time()
    for _ in range(3):
        throttle.record_failure(ADDR, "alice")
    verdict, _, seconds = child(prefix, "check").partition(" ")
    assert verdict == "refused"
    assert int(seconds) in honest_retry_after(started)

    throttle.record_success(ADDR, "alice")
    assert child(prefix, "check") == "allowed"


def test_processes_registering_at_once_share_one_exact_budget(prefix: str) -> None:
    """Two interpreters, 10 attempts each, one budget of 12: exactly 12 get through."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, REDIS_URL, prefix, "register", ADDR, "-"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    allowed = [int(proc.communicate(timeout=60)[0]) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    assert sum(allowed) == 12


def test_stored_keys_reveal_no_address_or_username(
    prefix: str, throttles: list[LoginThrottle]
) -> None:
    username = "alice@example.com"
    throttle = LoginThrottle(REDIS_URL, key_prefix=prefix)
    throttles.append(throttle)
    throttle.record_failure(ADDR, username)
    throttle.register_attempt(ADDR)

    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        keys = sorted(client.scan_iter(match=f"LIMITS:{prefix}/*"))
        ttls = [client.ttl(key) for key in keys]
    finally:
        client.close()

    def digest(value: str) -> str:
        return hashlib.sha256(value.encode()).hexdigest()

    assert keys == sorted(
        [
            f"LIMITS:{prefix}/pair/{digest(ADDR)}/{digest(username)}/5/60/second",
            f"LIMITS:{prefix}/address/{digest(ADDR)}/30/60/second",
            f"LIMITS:{prefix}/account/{digest(username)}/100/86400/second",
            f"LIMITS:{prefix}/registration/{digest(ADDR)}/10/3600/second",
        ]
    )
    assert not any(ADDR in key or "alice" in key for key in keys)
    assert all(0 < ttl <= 86_400 for ttl in ttls)
