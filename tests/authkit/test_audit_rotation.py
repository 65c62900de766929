"""Rotation by size and age, retention, compression, and following a rotated file."""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from authkit.audit import RotatingFileWriter, RotationPolicy, list_archives
from authkit.clock import FrozenClock

START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def line(n: int, pad: int = 0) -> bytes:
    return json.dumps({"n": n, "pad": "x" * pad}).encode() + b"\n"


def numbers(*paths: Path) -> list[int]:
    found: list[int] = []
    for path in paths:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as f:
            found += [json.loads(text)["n"] for text in f]
    return found


def all_numbers(path: Path) -> list[int]:
    return numbers(*list_archives(path), path)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


def test_size_rotation_keeps_every_line_in_order(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=200, backup_count=None, compress=False)
    with RotatingFileWriter(path, rotation=policy, clock=clock) as writer:
        for n in range(50):
            writer.write(line(n, pad=20))
            clock.advance(0.1)
    archives = list_archives(path)
    assert len(archives) >= 10
    assert all(a.stat().st_size <= 200 for a in [*archives, path])
    assert all_numbers(path) == list(range(50))


def test_archive_names_are_utc_stamps_with_a_counter(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=None, compress=False)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    for n in range(12):
        writer.write(line(n))
        writer.rotate()
    names = [a.name for a in list_archives(path)]
    stamp = "20260102T030405Z"
    assert names == [
        f"auth.{stamp}.jsonl",
        *(f"auth.{stamp}.{i}.jsonl" for i in range(1, 12)),
    ]  # numeric order: .2 before .10
    assert numbers(*list_archives(path)) == list(range(12))


def test_a_single_oversized_line_is_written_whole(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    writer = RotatingFileWriter(path, rotation=RotationPolicy(max_bytes=10, compress=False))
    writer.write(line(1, pad=100))
    writer.write(line(2, pad=100))
    assert all_numbers(path) == [1, 2]
    assert len(list_archives(path)) == 1


def test_age_rotation_follows_the_injected_clock(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, max_age_seconds=60, backup_count=None, compress=False)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    writer.write(line(0))
    clock.advance(59)
    writer.write(line(1))
    assert list_archives(path) == []
    clock.advance(1)
    writer.write(line(2))
    [archive] = list_archives(path)
    assert archive.name == "auth.20260102T030505Z.jsonl"
    assert numbers(archive) == [0, 1]
    assert numbers(path) == [2]


def test_an_empty_file_is_not_archived_when_it_ages(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, max_age_seconds=60, compress=False)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    writer.write(line(0))
    clock.advance(61)
    writer.write(line(1))  # rotates: the new file starts now
    clock.advance(120)
    assert writer.rotate() is not None
    assert writer.rotate() is None  # empty: nothing to archive
    assert len(list_archives(path)) == 2


def test_age_is_shared_between_writers(tmp_path: Path, clock: FrozenClock) -> None:
    """A second process that opens the file later measures age from the same start."""
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, max_age_seconds=60, compress=False)
    first = RotatingFileWriter(path, rotation=policy, clock=clock)
    first.write(line(0))
    clock.advance(50)
    second = RotatingFileWriter(path, rotation=policy, clock=clock)
    second.write(line(1))
    clock.advance(10)
    second.write(line(2))
    first.write(line(3))
    assert [numbers(a) for a in list_archives(path)] == [[0, 1]]
    assert numbers(path) == [2, 3]


def test_retention_by_count_keeps_the_newest(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=2, compress=False)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    for n in range(5):
        writer.write(line(n))
        clock.advance(1)
        writer.rotate()
    assert numbers(*list_archives(path)) == [3, 4]


def test_purging_within_one_second_never_reuses_a_counter(
    tmp_path: Path, clock: FrozenClock
) -> None:
    """Regression: the counter took the first free number, so after the purge of
    ``.jsonl`` and ``.1.jsonl`` the next archive of the same second was named
    ``.jsonl`` again and sorted as the oldest: the purge then deleted the newest."""
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=2, compress=True)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    for n in range(7):
        writer.write(line(n))
        writer.rotate()  # the frozen clock: all in one second
    assert numbers(*list_archives(path)) == [5, 6]
    assert [a.name for a in list_archives(path)] == [
        "auth.20260102T030405Z.5.jsonl.gz",
        "auth.20260102T030405Z.6.jsonl.gz",
    ]


def test_backup_count_zero_purges(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    writer = RotatingFileWriter(path, rotation=RotationPolicy(max_bytes=None, backup_count=0))
    writer.write(line(0))
    assert writer.rotate() is None
    assert list_archives(path) == []
    assert path.read_bytes() == b""


def test_retention_by_age(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(
        max_bytes=None, backup_count=None, retention_seconds=3600, compress=False
    )
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    for n in range(4):
        writer.write(line(n))
        writer.rotate()
        clock.advance(1800)
    # Archives closed at 0, 1800, 3600, 5400 s; the rotation at 5400 s keeps >= 1800 s.
    assert numbers(*list_archives(path)) == [1, 2, 3]


def test_compressed_archives(tmp_path: Path, clock: FrozenClock) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=300, backup_count=None, compress=True)
    writer = RotatingFileWriter(path, rotation=policy, clock=clock)
    for n in range(40):
        writer.write(line(n, pad=30))
    archives = list_archives(path)
    assert archives
    assert all(a.name.endswith(".jsonl.gz") for a in archives)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]
    assert all_numbers(path) == list(range(40))


def test_a_writer_follows_a_rotation_done_by_another(tmp_path: Path, clock: FrozenClock) -> None:
    """Two writers on one path behave like two processes: separate descriptors and locks."""
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=None, compress=True)
    a = RotatingFileWriter(path, rotation=policy, clock=clock)
    b = RotatingFileWriter(path, rotation=policy, clock=clock)
    a.write(line(0))
    b.write(line(1))
    archive = a.rotate()
    assert archive is not None
    b.write(line(2))  # must reopen: its old file has been compressed and deleted
    a.write(line(3))
    assert numbers(archive) == [0, 1]
    assert numbers(path) == [2, 3]


def test_a_deleted_file_is_recreated(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    writer = RotatingFileWriter(path)
    writer.write(line(0))
    path.unlink()
    writer.write(line(1))
    assert numbers(path) == [1]


def test_rotation_without_a_policy_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    writer = RotatingFileWriter(path)
    for n in range(3):
        writer.write(line(n))
        writer.rotate()
    assert numbers(*list_archives(path)) == [0, 1, 2]


def test_list_archives_ignores_other_files(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    for name in ["auth.jsonl.lock", "system.20260101T000000Z.jsonl", "auth.2026.jsonl", "x"]:
        (tmp_path / name).write_text("")
    assert list_archives(path) == []
    assert list_archives(tmp_path / "missing" / "auth.jsonl") == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_bytes": 0},
        {"max_bytes": -1},
        {"max_age_seconds": 0},
        {"retention_seconds": 0},
        {"backup_count": -1},
        {"max_bytes": True},
    ],
)
def test_policy_validation(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        RotationPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen_and_keyword_only() -> None:
    policy = RotationPolicy()
    with pytest.raises(AttributeError):
        policy.max_bytes = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        RotationPolicy(1)  # type: ignore[call-arg]


@pytest.mark.skipif(threading.active_count() > 1, reason="fork with threads is unsafe")
def test_a_forked_child_gets_its_own_lock(tmp_path: Path) -> None:
    """flock belongs to the open file description; a child sharing it would not be excluded."""
    path = tmp_path / "auth.jsonl"
    writer = RotatingFileWriter(path)
    writer.write(line(0))
    assert writer._lock_fd is not None
    fcntl.flock(writer._lock_fd, fcntl.LOCK_EX)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 1
        try:
            fcntl.flock(writer._lock_fd_for_this_process(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            code = 0
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    fcntl.flock(writer._lock_fd, fcntl.LOCK_UN)
    assert os.waitstatus_to_exitcode(status) == 0
    writer.write(line(1))
    assert numbers(path) == [0, 1]


def test_a_failed_compression_keeps_the_plain_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Disk full while compressing must not lose the archive nor the line being written."""
    path = tmp_path / "a+b.jsonl"  # regex characters in the name, too

    def no_space(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(gzip, "open", no_space)
    writer = RotatingFileWriter(path, rotation=RotationPolicy(max_bytes=30, compress=True))
    writer.write(line(0))
    writer.write(line(1))
    [archive] = list_archives(path)
    assert archive.name.endswith(".jsonl")
    assert all_numbers(path) == [0, 1]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [archive.name, "a+b.jsonl", "a+b.jsonl.lock"]
    )
