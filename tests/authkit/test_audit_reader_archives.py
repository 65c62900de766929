"""``read_recent_events``: the last N events, continuing into archives after a rotation."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from authkit.audit import (
    RotatingFileWriter,
    RotationPolicy,
    list_archives,
    read_events,
    read_recent_events,
)
from authkit.audit import _reader as reader_module


def line(n: int) -> bytes:
    return json.dumps({"n": n}).encode() + b"\n"


def numbers(events: list[dict[str, object]]) -> list[object]:
    return [event.get("n", event.get("raw")) for event in events]


def write_rotated(path: Path, *, per_file: int, files: int, compress: bool) -> int:
    """``files`` files of ``per_file`` lines each; the last one stays current."""
    policy = RotationPolicy(max_bytes=None, backup_count=None, compress=compress)
    n = 0
    with RotatingFileWriter(path, rotation=policy) as writer:
        for index in range(files):
            for _ in range(per_file):
                writer.write(line(n))
                n += 1
            if index < files - 1:
                writer.rotate()
    return n


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gzip"])
def test_a_short_current_file_is_completed_from_the_newest_archives(
    tmp_path: Path, compress: bool
) -> None:
    path = tmp_path / "auth.jsonl"
    total = write_rotated(path, per_file=10, files=4, compress=compress)
    assert len(list_archives(path)) == 3
    assert numbers(read_events(path, 25)) == list(range(30, 40))  # the old reader stops
    assert numbers(read_recent_events(path, 25)) == list(range(total - 25, total))


def test_the_current_file_alone_answers_when_it_holds_enough(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    write_rotated(path, per_file=10, files=2, compress=True)
    assert numbers(read_recent_events(path, 10)) == list(range(10, 20))
    assert numbers(read_recent_events(path, 3)) == [17, 18, 19]


def test_fewer_come_back_when_every_file_is_exhausted(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    write_rotated(path, per_file=3, files=3, compress=True)
    assert numbers(read_recent_events(path, 1000)) == list(range(9))


def test_right_after_a_rotation_the_empty_current_file_is_no_obstacle(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=None, compress=True)
    with RotatingFileWriter(path, rotation=policy) as writer:
        for n in range(5):
            writer.write(line(n))
        writer.rotate()
    assert path.exists()
    assert path.stat().st_size == 0
    assert numbers(read_recent_events(path, 3)) == [2, 3, 4]


def test_a_missing_log_with_no_archives_is_empty(tmp_path: Path) -> None:
    assert read_recent_events(tmp_path / "nothing.jsonl", 10) == []


def test_limit_zero_and_negative(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    write_rotated(path, per_file=2, files=2, compress=False)
    assert read_recent_events(path, 0) == []
    with pytest.raises(ValueError, match="limit"):
        read_recent_events(path, -1)


def test_unparseable_and_blank_lines_in_archives(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    archive = tmp_path / "auth.20260101T000000Z.jsonl.gz"
    with gzip.open(archive, "wb") as handle:
        handle.write(line(0) + b"\n" + b"torn {\n" + line(1))
    path.write_bytes(line(2))
    events = read_recent_events(path, 10)
    assert numbers(events) == [0, "torn {", 1, 2]
    assert events[1] == {"raw": "torn {", "parse_error": True}


def test_a_damaged_archive_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "auth.jsonl"
    (tmp_path / "auth.20260101T000000Z.jsonl").write_bytes(line(0))
    (tmp_path / "auth.20260102T000000Z.jsonl.gz").write_bytes(b"not gzip at all")
    path.write_bytes(line(2))
    assert numbers(read_recent_events(path, 10)) == [0, 2]


def test_an_archive_compressed_meanwhile_is_read_under_its_gz_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.jsonl"
    plain = tmp_path / "auth.20260101T000000Z.jsonl"
    with gzip.open(plain.with_name(plain.name + ".gz"), "wb") as handle:
        handle.write(line(0) + line(1))
    path.write_bytes(line(2))
    monkeypatch.setattr(reader_module, "list_archives", lambda _path: [plain])
    assert numbers(read_recent_events(path, 10)) == [0, 1, 2]


def test_a_rotation_between_reading_and_listing_does_not_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file just read becoming an archive is noticed, and the read is retried."""
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=None, backup_count=None, compress=False)
    writer = RotatingFileWriter(path, rotation=policy)
    for n in range(3):
        writer.write(line(n))
    real_list = list_archives
    rotated: list[bool] = []

    def list_after_rotating(target: Path) -> list[Path]:
        if not rotated:
            rotated.append(True)
            writer.rotate()
            writer.write(line(3))
        return real_list(target)

    monkeypatch.setattr(reader_module, "list_archives", list_after_rotating)
    try:
        assert numbers(read_recent_events(path, 10)) == [0, 1, 2, 3]
    finally:
        writer.close()


def test_cost_does_not_depend_on_older_archives_when_the_current_file_suffices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.jsonl"
    write_rotated(path, per_file=50, files=3, compress=True)

    def forbidden(_path: Path) -> list[Path]:
        raise AssertionError("archives listed although the current file had enough")

    monkeypatch.setattr(reader_module, "list_archives", forbidden)
    assert len(read_recent_events(path, 50)) == 50
