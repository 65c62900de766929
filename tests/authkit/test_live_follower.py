"""Following the shared audit log: new lines only, complete lines only, across rotation."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit.audit import RotatingFileWriter, RotationPolicy, list_archives
from authkit.live import FileEventSource, JsonlFollower


def append(path: Path, text: str) -> None:
    with path.open("ab") as handle:
        handle.write(text.encode())


def test_starts_at_the_end_and_returns_only_new_lines(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    append(path, "old-1\nold-2\n")
    with JsonlFollower(path) as follower:
        assert follower.poll() == []
        append(path, "new-1\nnew-2\n")
        assert follower.poll() == ["new-1", "new-2"]
        assert follower.poll() == []


def test_from_start_reads_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    append(path, "a\nb\n")
    with JsonlFollower(path, from_start=True) as follower:
        assert follower.poll() == ["a", "b"]


def test_a_line_is_returned_only_once_complete(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    path.touch()
    with JsonlFollower(path) as follower:
        follower.poll()
        append(path, '{"event": "par')
        assert follower.poll() == []
        append(path, 'tial"}\r\n\n')
        assert follower.poll() == ['{"event": "partial"}']  # CRLF and blank lines dropped


def test_a_file_that_appears_later_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    with JsonlFollower(path) as follower:
        assert follower.poll() == []
        append(path, "first\n")
        assert follower.poll() == ["first"]


def test_truncation_in_place_restarts_from_the_beginning(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    append(path, "one\ntwo\n")
    with JsonlFollower(path) as follower:
        follower.poll()
        path.write_bytes(b"")
        append(path, "x\n")
        assert follower.poll() == ["x"]


def test_follows_rotation_without_losing_lines_written_before_or_after(tmp_path: Path) -> None:
    """Lines written to the old file after the last poll are read before the new file."""
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=5, compress=True)
    with RotatingFileWriter(path, rotation=policy) as writer, JsonlFollower(path) as follower:
        writer.write(b"before\n")
        follower.poll()  # opens at the end: "before" is old
        writer.write(b"late-in-old\n")
        writer.rotate()  # renamed and gzip-compressed: the plain archive is gone
        writer.write(b"in-new\n")
        assert follower.poll() == ["late-in-old", "in-new"]
        assert [p.name.endswith(".gz") for p in list_archives(path)] == [True]


def test_follows_many_size_rotations_in_order(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=200, backup_count=2, compress=True)
    seen: list[str] = []
    with RotatingFileWriter(path, rotation=policy) as writer, JsonlFollower(path) as follower:
        follower.poll()
        for n in range(300):
            writer.write(json.dumps({"n": n}).encode() + b"\n")
            if n % 3 == 0:  # at most one rotation (about 20 lines) between polls
                seen += follower.poll()
        seen += follower.poll()
    assert [json.loads(line)["n"] for line in seen] == list(range(300))
    assert len(list_archives(path)) == 2  # old archives were purged meanwhile


@pytest.mark.parametrize("compress", [True, False])
def test_several_rotations_between_two_polls_lose_nothing(tmp_path: Path, compress: bool) -> None:
    """Regression (CI): a burst rotated a small log four times within one poll;
    the files started and rotated away meanwhile were never read, so
    ``serve --tail`` missed the lines in them. The archives are read now."""
    path = tmp_path / "system.jsonl"
    policy = RotationPolicy(max_bytes=100, backup_count=50, compress=compress)
    with RotatingFileWriter(path, rotation=policy) as writer, JsonlFollower(path) as follower:
        writer.write(b"before\n")
        follower.poll()
        written = [f"line-{n:03d}" for n in range(60)]  # 600 bytes: about six rotations
        for line in written:
            writer.write(line.encode() + b"\n")
        assert len(list_archives(path)) >= 5
        assert follower.poll() == written
        writer.write(b"after\n")
        assert follower.poll() == ["after"]


def test_archives_older_than_the_start_are_not_replayed(tmp_path: Path) -> None:
    path = tmp_path / "system.jsonl"
    policy = RotationPolicy(max_bytes=50, backup_count=50, compress=True)
    with RotatingFileWriter(path, rotation=policy) as writer:
        for n in range(20):
            writer.write(f"old-{n:02d}\n".encode())
        with JsonlFollower(path) as follower:
            assert follower.poll() == []
            for n in range(20):
                writer.write(f"new-{n:02d}\n".encode())
            assert follower.poll() == [f"new-{n:02d}" for n in range(20)]


def test_a_log_that_appears_and_rotates_before_the_next_poll_is_read_whole(
    tmp_path: Path,
) -> None:
    path = tmp_path / "system.jsonl"
    policy = RotationPolicy(max_bytes=50, backup_count=50, compress=True)
    with JsonlFollower(path) as follower:
        assert follower.poll() == []
        with RotatingFileWriter(path, rotation=policy) as writer:
            for n in range(20):
                writer.write(f"n-{n:02d}\n".encode())
        assert follower.poll() == [f"n-{n:02d}" for n in range(20)]


def test_archives_purged_before_the_poll_are_skipped_and_the_rest_kept_in_order(
    tmp_path: Path,
) -> None:
    """More than ``backup_count`` rotations within one poll: the purged files are
    gone for every reader; what is left comes out once, in order."""
    path = tmp_path / "system.jsonl"
    policy = RotationPolicy(max_bytes=60, backup_count=2, compress=True)
    written = [f"line-{n:03d}" for n in range(80)]
    with RotatingFileWriter(path, rotation=policy) as writer, JsonlFollower(path) as follower:
        follower.poll()
        for line in written:
            writer.write(line.encode() + b"\n")
        seen = follower.poll()
    assert seen == written[len(written) - len(seen) :]  # a tail: nothing twice, nothing reordered
    assert len(seen) > 10  # two archives and the live file


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.one_of(st.integers(1, 40), st.just(0)), min_size=1, max_size=40),
    max_bytes=st.integers(30, 400),
    compress=st.booleans(),
)
def test_any_interleaving_of_writes_and_polls_yields_every_line_once_in_order(
    steps: list[int], max_bytes: int, compress: bool
) -> None:
    """``n > 0`` writes n lines, ``0`` polls; archives are kept, so nothing may be lost."""
    policy = RotationPolicy(max_bytes=max_bytes, backup_count=None, compress=compress)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "system.jsonl"
        written: list[str] = []
        seen: list[str] = []
        with RotatingFileWriter(path, rotation=policy) as writer, JsonlFollower(path) as follower:
            follower.poll()  # before the first line: the file is read from its start
            for step in steps:
                if step == 0:
                    seen += follower.poll()
                for _ in range(step):
                    line = f"{len(written):05d}-" + "x" * (len(written) % 17)
                    writer.write(line.encode() + b"\n")
                    written.append(line)
            seen += follower.poll()
    assert seen == written


def _write_lines(path: str, prefix: str, count: int) -> None:
    policy = RotationPolicy(max_bytes=2000, backup_count=None, compress=True)
    with RotatingFileWriter(Path(path), rotation=policy) as writer:
        for n in range(count):
            writer.write(f"{prefix}-{n:04d}\n".encode())


def test_concurrent_writer_processes_and_a_polling_follower_lose_nothing(tmp_path: Path) -> None:
    """Two processes write and rotate the shared log as fast as they can while the
    follower polls: every line comes out exactly once, each writer's in order."""
    path = tmp_path / "system.jsonl"
    path.touch()
    count = 1500
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_write_lines, args=(str(path), prefix, count)) for prefix in "ab"
    ]
    seen: list[str] = []
    with JsonlFollower(path) as follower:
        follower.poll()
        for process in writers:
            process.start()
        while any(process.is_alive() for process in writers):
            seen += follower.poll()
            time.sleep(0.005)
        for process in writers:
            process.join(10)
            assert process.exitcode == 0
        seen += follower.poll()
    assert len(list_archives(path)) >= 10
    for prefix in "ab":
        assert [line for line in seen if line.startswith(prefix)] == [
            f"{prefix}-{n:04d}" for n in range(count)
        ]
    assert len(seen) == 2 * count


def test_a_deleted_file_is_finished_then_followed_when_it_is_back(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    append(path, "")
    with JsonlFollower(path) as follower:
        follower.poll()
        append(path, "last\n")
        os.unlink(path)
        assert follower.poll() == ["last"]
        append(path, "again\n")
        assert follower.poll() == ["again"]


def test_file_event_source_delivers_parsed_events_from_a_daemon_thread(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    append(path, '{"event": "old"}\n')
    received: list[dict[str, Any]] = []
    arrived = threading.Event()

    def deliver(event: dict[str, Any]) -> None:
        received.append(event)
        if event.get("event") == "last":
            arrived.set()

    source = FileEventSource(path, interval=0.05)
    source.start(deliver)
    source.start(deliver)  # idempotent: still one thread
    try:
        threads = [t for t in threading.enumerate() if t.name.startswith("authkit-live-follow")]
        assert len(threads) == 1
        assert threads[0].daemon
        started = time.perf_counter()
        append(path, '{"event": "new"}\nnot json\n[1, 2]\n{"event": "last"}\n')
        assert arrived.wait(2)
        assert time.perf_counter() - started < 1.0
    finally:
        source.stop(timeout=2)
    assert [e["event"] for e in received] == ["new", "last"]  # non-objects skipped
    assert not any(t.name.startswith("authkit-live-follow") for t in threading.enumerate())


def test_file_event_source_survives_a_failing_deliver(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    path.touch()
    calls: list[str] = []
    done = threading.Event()

    def deliver(event: dict[str, Any]) -> None:
        calls.append(str(event["event"]))
        if event["event"] == "boom":
            raise RuntimeError("listener bug")
        done.set()

    source = FileEventSource(path, interval=0.02)
    source.start(deliver)
    try:
        append(path, '{"event": "boom"}\n')
        time.sleep(0.1)
        append(path, '{"event": "fine"}\n')
        assert done.wait(3)
    finally:
        source.stop(timeout=2)
    assert calls == ["boom", "fine"]
