"""The Redis live-update bridge reconnects with exponential backoff and full jitter.

Regression (issue 11): the subscriber waited a fixed, doubling delay, so after a
Redis outage every worker of every host reconnected in the same instant. The
waits are now ``random() * min(cap, base * 2 ** (n - 1))``; the random draw and the
wait itself are injected here, so no test sleeps.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from authkit.live import ReconnectBackoff, RedisEventSource, RedisPublisher

DEAD = "redis://127.0.0.1:1/0"


def draws(*values: float) -> Iterator[float]:
    return itertools.cycle(values)


def test_the_ceiling_doubles_up_to_the_cap() -> None:
    backoff = ReconnectBackoff(base=0.1, cap=5.0)
    assert [backoff.ceiling(n) for n in range(1, 9)] == pytest.approx(
        [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    )
    assert backoff.ceiling(10_000) == 5.0


def test_the_delay_is_the_random_share_of_the_ceiling() -> None:
    values = draws(0.5, 0.25, 1.0)
    backoff = ReconnectBackoff(base=0.1, cap=5.0, random=lambda: next(values))
    assert backoff.delay(1) == pytest.approx(0.05)
    assert backoff.delay(4) == pytest.approx(0.2)
    assert backoff.delay(20) == pytest.approx(5.0)


@given(
    failures=st.integers(min_value=1, max_value=10_000),
    drawn=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    base=st.floats(min_value=0.001, max_value=1.0),
    cap=st.floats(min_value=1.0, max_value=60.0),
)
def test_every_delay_is_bounded(failures: int, drawn: float, base: float, cap: float) -> None:
    backoff = ReconnectBackoff(base=base, cap=cap, random=lambda: drawn)
    delay = backoff.delay(failures)
    assert 0.0 < delay <= min(cap, backoff.ceiling(failures))
    assert backoff.ceiling(failures) <= cap


def test_workers_drawing_different_numbers_spread_out() -> None:
    """The point of jitter: two workers after the same failure wait different times."""
    first = ReconnectBackoff(random=lambda: 0.1).delay(5)
    second = ReconnectBackoff(random=lambda: 0.9).delay(5)
    assert second - first == pytest.approx(0.8 * ReconnectBackoff().ceiling(5))


@pytest.mark.parametrize(("base", "cap"), [(0.0, 1.0), (-1.0, 1.0), (2.0, 1.0)])
def test_a_nonsense_backoff_is_refused(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="base"):
        ReconnectBackoff(base=base, cap=cap)


def test_the_subscriber_waits_jittered_growing_delays_while_redis_is_down() -> None:
    fractions = [0.5, 0.9, 0.1, 0.7, 0.3, 1.0, 0.0, 0.6]
    values = iter(fractions)
    waits: list[float] = []
    done = threading.Event()

    def wait(stopping: threading.Event, seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == len(fractions):
            done.set()
            stopping.set()  # as if stop() were called: the loop ends

    backoff = ReconnectBackoff(base=0.1, cap=1.0, random=lambda: next(values))
    source = RedisEventSource(DEAD, "backoff-test", backoff=backoff, wait=wait)
    source.start(lambda event: None)
    try:
        assert done.wait(20)
    finally:
        source.stop(timeout=5)
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    expected = [max(0.01, f * c) for f, c in zip(fractions, ceilings, strict=True)]
    assert waits == pytest.approx(expected)
    assert not source.subscribed


def test_the_publisher_backs_off_the_same_way_while_redis_is_down() -> None:
    waits: list[float] = []
    done = threading.Event()

    def wait(stopping: threading.Event, seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            done.set()

    backoff = ReconnectBackoff(base=0.2, cap=5.0, random=lambda: 0.5)
    publisher = RedisPublisher(DEAD, "backoff-test", backoff=backoff, wait=wait)
    try:
        for n in range(3):
            publisher({"event": "login", "n": n})
        assert done.wait(20)
    finally:
        publisher.stop(timeout=5)
    assert waits == pytest.approx([0.1, 0.2, 0.4])
    assert publisher.dropped == 3


@pytest.mark.redis
def test_a_confirmed_subscription_resets_the_failure_count(redis_url: str) -> None:
    """After Redis answers again, the next outage starts from the smallest wait."""
    waits: list[float] = []
    source = RedisEventSource(
        redis_url,
        "backoff-reset",
        backoff=ReconnectBackoff(base=0.1, cap=5.0, random=lambda: 1.0),
        wait=lambda stopping, seconds: waits.append(seconds),
    )
    source._failures = 6  # as after six failed attempts
    source.start(lambda event: None)
    try:
        assert source.subscribed
        assert source._failures == 0
    finally:
        source.stop(timeout=5)
    assert waits == []
