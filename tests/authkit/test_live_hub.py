"""The live hub: fan-out to every subscriber, bounded queues, slow subscribers dropped."""

from __future__ import annotations

import threading
import time

import pytest

from authkit.live import OVERFLOW, SHUTDOWN, Hub, HubFull, SubscriptionClosed
from authkit.live._hub import UNSUBSCRIBED


def test_every_subscriber_gets_every_item_in_order() -> None:
    hub: Hub[int] = Hub()
    first, second = hub.subscribe(), hub.subscribe()
    for item in range(5):
        assert hub.publish(item) == 2
    assert [first.get(timeout=0) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert [second.get(timeout=0) for _ in range(5)] == [0, 1, 2, 3, 4]
    assert first.get(timeout=0) is None


def test_a_slow_subscriber_is_dropped_and_the_others_keep_receiving() -> None:
    """The full queue closes that subscription only; publishing never waits for it."""
    hub: Hub[int] = Hub(queue_size=3)
    slow, fast = hub.subscribe(), hub.subscribe()
    for item in range(3):
        hub.publish(item)
        assert fast.get(timeout=0) == item
    assert hub.publish(3) == 1  # slow's queue was full: dropped here
    assert fast.get(timeout=0) == 3
    assert len(hub) == 1
    assert hub.dropped == 1
    with pytest.raises(SubscriptionClosed) as closed:
        slow.get(timeout=0)
    assert closed.value.reason == OVERFLOW
    assert hub.publish(4) == 1


def test_publish_does_not_block_on_a_subscriber_that_never_reads() -> None:
    hub: Hub[int] = Hub(queue_size=10)
    hub.subscribe()  # never read
    reader = hub.subscribe()
    started = time.perf_counter()
    for item in range(10_000):
        hub.publish(item)
        reader.get(timeout=0)
    assert time.perf_counter() - started < 2.0
    assert len(hub) == 1


def test_a_blocked_reader_is_woken_when_its_subscription_is_dropped() -> None:
    hub: Hub[int] = Hub(queue_size=1)
    subscription = hub.subscribe()
    hub.publish(0)
    outcome: list[str] = []

    def reader() -> None:
        subscription.get(timeout=0)  # takes item 0
        try:
            while True:
                subscription.get(timeout=5)
        except SubscriptionClosed as exc:
            outcome.append(exc.reason)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.05)
    hub.publish(1)
    hub.publish(2)  # overflow while the reader may still hold item 1
    hub.close()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert len(outcome) == 1
    assert outcome[0] in {OVERFLOW, SHUTDOWN}


def test_close_wakes_every_reader_with_shutdown_and_refuses_new_subscribers() -> None:
    hub: Hub[int] = Hub()
    subscription = hub.subscribe()
    results: list[str] = []

    def reader() -> None:
        try:
            subscription.get(timeout=10)
        except SubscriptionClosed as exc:
            results.append(exc.reason)

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.05)
    started = time.perf_counter()
    hub.close()
    thread.join(timeout=5)
    assert results == [SHUTDOWN]
    assert time.perf_counter() - started < 1.0
    with pytest.raises(HubFull):
        hub.subscribe()
    assert hub.publish(1) == 0


def test_max_subscribers_is_enforced_and_freed_by_leaving() -> None:
    hub: Hub[int] = Hub(max_subscribers=2)
    first = hub.subscribe()
    hub.subscribe()
    assert hub.full
    with pytest.raises(HubFull):
        hub.subscribe()
    with first:
        pass  # leaving the context unsubscribes
    assert len(hub) == 1
    with pytest.raises(SubscriptionClosed) as closed:
        first.get(timeout=0)
    assert closed.value.reason == UNSUBSCRIBED
    hub.subscribe()


def test_get_times_out_with_none() -> None:
    hub: Hub[str] = Hub()
    subscription = hub.subscribe()
    started = time.perf_counter()
    assert subscription.get(timeout=0.05) is None
    assert time.perf_counter() - started >= 0.04


def test_concurrent_publishers_lose_nothing_for_a_keeping_up_subscriber() -> None:
    hub: Hub[tuple[int, int]] = Hub(queue_size=100_000)
    subscription = hub.subscribe()

    def publish(worker: int) -> None:
        for n in range(2_000):
            hub.publish((worker, n))

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = []
    while (item := subscription.get(timeout=0)) is not None:
        received.append(item)
    assert sorted(received) == [(w, n) for w in range(4) for n in range(2_000)]
    for worker in range(4):  # per publisher, order is kept
        ns = [n for w, n in received if w == worker]
        assert ns == sorted(ns)


@pytest.mark.parametrize(("queue_size", "max_subscribers"), [(0, None), (1, 0)])
def test_invalid_sizes_are_refused(queue_size: int, max_subscribers: int | None) -> None:
    with pytest.raises(ValueError, match="must be at least 1"):
        Hub(queue_size=queue_size, max_subscribers=max_subscribers)
