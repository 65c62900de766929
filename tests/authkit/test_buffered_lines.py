"""``BufferedLineWriter``: lines reach the writer whole, in order, and only once.

A flush happens on demand, when the buffer is full, within ``flush_interval``
(a background thread), at close, and before a fork; a forked child never writes
the parent's lines a second time, and a failing disk is logged, not raised.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import pytest

from authkit.audit import BufferedLineWriter, RotatingFileWriter, flush_buffered_lines


class Recorder:
    """An underlying writer that records each write call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.lock = threading.Lock()

    def write(self, line: bytes) -> None:
        with self.lock:
            self.writes.append(line)

    @property
    def data(self) -> bytes:
        with self.lock:
            return b"".join(self.writes)


class Failing:
    def write(self, line: bytes) -> None:
        raise OSError(28, "No space left on device")


def line(i: int) -> bytes:
    return f'{{"n":{i}}}\n'.encode()


def test_lines_wait_in_memory_until_a_flush_then_go_in_one_write() -> None:
    target = Recorder()
    writer = BufferedLineWriter(target, flush_interval=60)
    for i in range(5):
        writer.write(line(i))
    assert target.writes == []
    writer.flush()
    assert target.writes == [b"".join(line(i) for i in range(5))]
    writer.flush()  # nothing new: no empty write
    assert len(target.writes) == 1
    writer.close()


def test_a_full_buffer_is_written_at_once() -> None:
    target = Recorder()
    writer = BufferedLineWriter(target, buffer_bytes=30, flush_interval=60)
    writer.write(b"x" * 14 + b"\n")
    assert target.writes == []
    writer.write(b"y" * 14 + b"\n")  # 30 bytes: full
    assert target.data == b"x" * 14 + b"\n" + b"y" * 14 + b"\n"
    writer.close()


def test_lines_are_written_within_the_flush_interval() -> None:
    target = Recorder()
    writer = BufferedLineWriter(target, flush_interval=0.05)
    started = time.monotonic()
    writer.write(line(1))
    while not target.data and time.monotonic() - started < 5:
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    assert target.data == line(1)
    assert elapsed < 0.05 + 0.5  # the interval, with room for a busy machine
    writer.close()


def test_close_flushes_and_later_lines_go_straight_through() -> None:
    target = Recorder()
    writer = BufferedLineWriter(target, flush_interval=60)
    writer.write(line(1))
    writer.close()
    assert target.data == line(1)
    writer.write(line(2))
    assert target.writes[-1] == line(2)


def test_flush_buffered_lines_flushes_every_writer() -> None:
    first, second = Recorder(), Recorder()
    writers = [BufferedLineWriter(t, flush_interval=60) for t in (first, second)]
    writers[0].write(line(1))
    writers[1].write(line(2))
    flush_buffered_lines()
    assert first.data == line(1)
    assert second.data == line(2)
    for writer in writers:
        writer.close()


def test_order_is_kept_across_threads_and_flushes() -> None:
    target = Recorder()
    writer = BufferedLineWriter(target, buffer_bytes=200, flush_interval=0.01)

    def produce(name: str) -> None:
        for i in range(300):
            writer.write(f"{name} {i}\n".encode())

    threads = [threading.Thread(target=produce, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    lines = target.data.decode().splitlines()
    assert len(lines) == 1200
    for n in range(4):
        mine = [int(x.split()[1]) for x in lines if x.startswith(f"t{n} ")]
        assert mine == list(range(300))


def test_a_failing_disk_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    writer = BufferedLineWriter(Failing(), buffer_bytes=10, flush_interval=60)
    with caplog.at_level(logging.ERROR, logger="authkit.audit"):
        writer.write(b"0123456789\n")  # fills the buffer: the flush fails inside write
        writer.write(line(1))
        writer.flush()
    assert any("buffered log lines" in r.getMessage() for r in caplog.records)
    assert all(r.exc_info for r in caplog.records if "buffered" in r.getMessage())
    writer._closed = True  # close() would log once more; the thread is told to stop
    writer._wake.set()


@pytest.mark.parametrize(
    ("buffer_bytes", "flush_interval"),
    [(0, 1.0), (-1, 1.0), (1.5, 1.0), (True, 1.0), (10, 0), (10, -1), (10, 61), (10, float("nan"))],
)
def test_bad_settings_are_refused(buffer_bytes: object, flush_interval: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        BufferedLineWriter(Recorder(), buffer_bytes=buffer_bytes, flush_interval=flush_interval)  # type: ignore[arg-type]


def test_a_forked_child_does_not_write_the_parents_lines_again(tmp_path: Path) -> None:
    """The parent's buffered lines are written once, by the parent (flushed before the fork)."""
    path = tmp_path / "access.jsonl"
    file_writer = RotatingFileWriter(path)
    writer = BufferedLineWriter(file_writer, flush_interval=60)
    writer.write(b"parent-1\n")
    pid = os.fork()
    if pid == 0:  # the child: write one line of its own, flush, leave without teardown
        code = 1
        try:
            writer.write(b"child-1\n")
            writer.flush()
            flush_buffered_lines()
            code = 0
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    writer.write(b"parent-2\n")
    writer.close()
    file_writer.close()
    lines = path.read_bytes().splitlines()
    assert sorted(lines) == [b"child-1", b"parent-1", b"parent-2"]
    assert lines.index(b"parent-1") < lines.index(b"parent-2")


def test_a_forked_child_flushes_its_own_lines_on_its_own_thread(tmp_path: Path) -> None:
    """After a fork the flusher thread is gone; the child's first write starts a new one."""
    path = tmp_path / "access.jsonl"
    file_writer = RotatingFileWriter(path)
    writer = BufferedLineWriter(file_writer, flush_interval=0.05)
    writer.write(b"parent\n")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            writer.write(b"child\n")
            deadline = time.monotonic() + 5
            while b"child" not in path.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.01)
            code = 0 if b"child" in path.read_bytes() else 3
        finally:
            os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    writer.close()
    file_writer.close()
    assert sorted(path.read_bytes().splitlines()) == [b"child", b"parent"]


class Slow(Recorder):
    """A disk that takes its time: each write blocks until released."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def write(self, line: bytes) -> None:
        self.entered.set()
        assert self.release.wait(10)
        super().write(line)


def test_lines_are_buffered_while_a_flush_waits_for_the_disk() -> None:
    """Under a threaded server, requests must not queue behind the disk: a write
    during a slow flush returns at once, and the batches still reach the file in
    the order they were buffered."""
    target = Slow()
    writer = BufferedLineWriter(target, flush_interval=60)
    writer.write(line(0))
    flushing = threading.Thread(target=writer.flush)
    flushing.start()
    assert target.entered.wait(10)
    began = time.monotonic()
    for i in range(1, 50):
        writer.write(line(i))
    appended_in = time.monotonic() - began
    second = threading.Thread(target=writer.flush)  # queues behind the first
    second.start()
    target.release.set()
    flushing.join(10)
    second.join(10)
    writer.close()
    assert appended_in < 5, "writes waited for the slow flush"
    assert target.writes[0] == line(0)
    assert target.data == b"".join(line(i) for i in range(50))
