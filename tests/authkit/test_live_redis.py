"""The Redis fan-out: events published by one process reach every subscriber."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest

from authkit.live import RedisEventSource, RedisPublisher


@pytest.mark.redis
def test_published_events_reach_every_subscriber_within_a_second(redis_url: str) -> None:
    channel = f"authkit-test-{uuid.uuid4().hex}"
    inboxes: list[list[dict[str, Any]]] = [[], []]
    arrived = [threading.Event(), threading.Event()]
    sources = [RedisEventSource(redis_url, channel) for _ in inboxes]
    for source, inbox, flag in zip(sources, inboxes, arrived, strict=True):

        def deliver(
            event: dict[str, Any], inbox: list[dict[str, Any]] = inbox, flag: threading.Event = flag
        ) -> None:
            inbox.append(event)
            flag.set()

        source.start(deliver)
        assert source.subscribed  # start returns once the subscription is live
    publisher = RedisPublisher(redis_url, channel)
    try:
        started = time.perf_counter()
        publisher({"event": "login", "outcome": "failure", "n": 1})
        assert all(flag.wait(2) for flag in arrived)
        assert time.perf_counter() - started < 1.0
        assert publisher.flush()
    finally:
        publisher.stop(timeout=2)
        for source in sources:
            source.stop(timeout=2)
    assert inboxes == [[{"event": "login", "outcome": "failure", "n": 1}]] * 2
    names = [t.name for t in threading.enumerate()]
    assert not any(name.startswith("authkit-live-") and channel in name for name in names)


def test_publishing_never_waits_for_an_unreachable_redis() -> None:
    """A sign-in's audit listener only queues; a dead Redis costs the live view, not the caller."""
    publisher = RedisPublisher("redis://127.0.0.1:1/0", "unreachable", queue_size=5)
    try:
        started = time.perf_counter()
        for n in range(100):
            publisher({"event": "login", "n": n})
        assert time.perf_counter() - started < 0.5
        assert publisher.dropped >= 90  # the bounded queue overflowed instead of blocking
    finally:
        publisher.stop(timeout=3)


def test_a_subscriber_without_redis_returns_promptly_and_keeps_retrying() -> None:
    source = RedisEventSource("redis://127.0.0.1:1/0", "unreachable")
    started = time.perf_counter()
    source.start(lambda event: None)
    try:
        assert time.perf_counter() - started < 3.0
        assert not source.subscribed
    finally:
        source.stop(timeout=6)
