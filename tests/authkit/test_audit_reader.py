"""The tail reader: last N lines, read backwards, robust to odd endings and bad lines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.audit import parse_line, read_events, tail_lines

line_text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
    max_size=40,
)


def write(path: Path, lines: list[str], *, eol: str = "\n", final_eol: bool = True) -> None:
    text = eol.join(lines) + (eol if final_eol and lines else "")
    path.write_bytes(text.encode("utf-8"))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    lines=st.lists(line_text, max_size=60),
    limit=st.integers(min_value=0, max_value=80),
    block_size=st.integers(min_value=1, max_value=64),
    eol=st.sampled_from(["\n", "\r\n"]),
    final_eol=st.booleans(),
)
def test_tail_equals_the_last_lines(
    tmp_path: Path, lines: list[str], limit: int, block_size: int, eol: str, final_eol: bool
) -> None:
    path = tmp_path / "log.jsonl"
    while not final_eol and lines and lines[-1] == "":
        lines = lines[:-1]  # without a line break an empty last line does not exist
    write(path, lines, eol=eol, final_eol=final_eol)
    expected = lines[-limit:] if limit else []
    assert tail_lines(path, limit, block_size=block_size) == expected


def test_missing_file_gives_nothing(tmp_path: Path) -> None:
    assert tail_lines(tmp_path / "nope.jsonl", 10) == []
    assert read_events(tmp_path / "nope.jsonl", 10) == []


def test_empty_file_gives_nothing(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(b"")
    assert tail_lines(tmp_path / "e.jsonl", 10) == []


def test_negative_limit_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="limit"):
        tail_lines(tmp_path / "x", -1)


def test_cost_grows_with_limit_not_file_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tailing 3 lines of a 5 MB file reads one block, not the file."""
    path = tmp_path / "big.jsonl"
    write(path, [f'{{"n": {i}}}' for i in range(500_000)])
    read: list[int] = []
    real_pread = os.pread

    def counting_pread(fd: int, n: int, offset: int) -> bytes:
        read.append(n)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", counting_pread)
    assert tail_lines(path, 3, block_size=4096) == [
        '{"n": 499997}',
        '{"n": 499998}',
        '{"n": 499999}',
    ]
    assert sum(read) == 4096


def test_multibyte_characters_split_across_blocks(tmp_path: Path) -> None:
    path = tmp_path / "u.jsonl"
    lines = ["héllo wörld €€€", "日本語のテキスト", "🙂🙃"]
    write(path, lines)
    assert tail_lines(path, 3, block_size=3) == lines


def test_invalid_utf8_is_replaced_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\n\xff\xfe broken\n')
    assert tail_lines(path, 2) == ['{"a": 1}', "\ufffd\ufffd broken"]


def test_read_events_parses_and_marks_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"event": "a"}\r\nnot json\n\n[1, 2]\n{"event": "torn"')
    assert read_events(path, 10) == [
        {"event": "a"},
        {"raw": "not json", "parse_error": True},
        {"raw": "[1, 2]", "parse_error": True},
        {"raw": '{"event": "torn"', "parse_error": True},
    ]


def test_read_events_limit_counts_from_the_end(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    write(path, [f'{{"n": {i}}}' for i in range(10)])
    assert read_events(path, 3) == [{"n": 7}, {"n": 8}, {"n": 9}]


def test_parse_line_keeps_json_objects() -> None:
    assert parse_line('{"a": [1, "b"]}') == {"a": [1, "b"]}
    assert parse_line("nan-ish") == {"raw": "nan-ish", "parse_error": True}
