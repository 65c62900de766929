"""``flight-app serve --tail`` follows the system log across rotation, whole lines only.

Regression: the tail noticed a rotation only when the file shrank, so the lines
written to the old file between the last poll and the rotation were lost (and,
when the new file was already longer, the head of the new file too); and it
decoded each read on its own, so a UTF-8 character split across two reads came
out as two replacement characters. The tail now reads through authkit's
``JsonlFollower``; these tests drive it with authkit's real ``RotatingFileWriter``.
"""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from authkit.audit import RotatingFileWriter, RotationPolicy, list_archives
from authkit.live import JsonlFollower
from flight_app import cli


def _line(index: int) -> bytes:
    return json.dumps({"n": index, "msg": f"request {index} done"}).encode() + b"\n"


def _printed(out: io.BytesIO) -> list[int]:
    return [json.loads(line)["n"] for line in out.getvalue().decode().splitlines()]


def test_lines_written_just_before_a_rotation_are_printed(tmp_path: Path) -> None:
    log = tmp_path / "system.jsonl"
    # Small files, no compression: a rotation every few lines.
    writer = RotatingFileWriter(
        log, rotation=RotationPolicy(max_bytes=200, backup_count=50, compress=False)
    )
    out = io.BytesIO()
    try:
        writer.write(_line(0))  # there before the tail starts: not shown
        follower = JsonlFollower(log)
        follower.poll()
        written = 0
        for batch in range(12):
            # Between two polls: a few lines, then a rotation, then a few more lines
            # that leave the new file longer than the old position (the case the
            # size comparison could not see at all).
            for _ in range(batch % 4 + 3):
                written += 1
                writer.write(_line(written))
            cli._print_new_lines(follower, out)
        follower.close()
    finally:
        writer.close()
    assert len(list_archives(log)) >= 5, "the test must really rotate"
    assert _printed(out) == list(range(1, written + 1))


def test_a_file_shrunk_in_place_is_read_again_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "system.jsonl"
    log.write_bytes(_line(0) + _line(1))
    out = io.BytesIO()
    with JsonlFollower(log) as follower:
        follower.poll()
        log.write_bytes(_line(2))  # truncated and rewritten, same inode
        cli._print_new_lines(follower, out)
    assert _printed(out) == [2]


@settings(max_examples=60, deadline=None)
@given(
    text=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]),
        min_size=1,
        max_size=40,
    ),
    cut=st.integers(min_value=1, max_value=200),
)
def test_utf8_split_across_reads_is_printed_intact(text: str, cut: int) -> None:
    """Any cut through the bytes of a line, even inside a character, prints the line whole."""
    data = json.dumps({"msg": text}, ensure_ascii=False).encode("utf-8") + b"\n"
    cut = min(cut, len(data) - 1)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "system.jsonl"
        log.touch()
        out = io.BytesIO()
        with JsonlFollower(log) as follower:
            follower.poll()
            with log.open("ab", buffering=0) as handle:
                handle.write(data[:cut])
                assert cli._print_new_lines(follower, out) == 0  # half a line: wait
                handle.write(data[cut:])
            assert cli._print_new_lines(follower, out) == 1
    assert out.getvalue() == data
    assert json.loads(out.getvalue())["msg"] == text


def test_a_multibyte_character_cut_in_two_is_not_garbled(tmp_path: Path) -> None:
    log = tmp_path / "system.jsonl"
    log.touch()
    data = '{"msg": "Zürich → Kraków ✈"}\n'.encode()
    cut = data.index("→".encode()) + 1  # inside the arrow's three bytes
    out = io.BytesIO()
    with JsonlFollower(log) as follower, log.open("ab", buffering=0) as handle:
        follower.poll()
        handle.write(data[:cut])
        cli._print_new_lines(follower, out)
        handle.write(data[cut:])
        cli._print_new_lines(follower, out)
    assert out.getvalue().decode("utf-8") == '{"msg": "Zürich → Kraków ✈"}\n'
    assert "\ufffd" not in out.getvalue().decode("utf-8")
