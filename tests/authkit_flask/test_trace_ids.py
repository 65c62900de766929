"""Generated trace ids: 128 random bits as 32 hex digits, never repeated, per process.

They are drawn from ``os.urandom`` in batches (one system call per 256 ids, not
one per request); a forked child must not hand out ids its parent will.
"""

from __future__ import annotations

import os
import re
import threading

from authkit_flask._request_context import _random_ids, _RandomIds, resolve_ids

HEX32 = re.compile(r"^[0-9a-f]{32}$")


def test_a_request_without_ids_gets_a_fresh_random_trace_id() -> None:
    first, second = resolve_ids(None, None), resolve_ids(None, None)
    assert first[0] == first[1]
    assert HEX32.fullmatch(first[1])
    assert HEX32.fullmatch(second[1])
    assert first != second


def test_ids_are_distinct_across_batches_and_threads() -> None:
    ids = _RandomIds()
    seen: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [ids.new() for _ in range(3 * _RandomIds.BATCH)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 12 * _RandomIds.BATCH
    assert len(set(seen)) == len(seen)
    assert all(HEX32.fullmatch(i) for i in seen)


def test_a_forked_child_does_not_hand_out_its_parents_next_ids() -> None:
    _random_ids.new()  # the parent holds a batch with ids still to come
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its first ids, then leave at once
        os.close(read)
        os.write(write, "".join(_random_ids.new() for _ in range(4)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read()
    os.waitpid(pid, 0)
    parent = "".join(_random_ids.new() for _ in range(4))
    assert len(child) == len(parent) == 128
    assert child != parent
