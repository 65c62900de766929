"""The system log handler: stdlib logging through the shared rotating writer."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from authkit.audit import (
    JsonLineFormatter,
    RotatingFileWriter,
    RotatingJsonlHandler,
    RotationPolicy,
    list_archives,
    read_events,
)


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("authkit.tests.audit_handler")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()


def test_records_become_json_lines(tmp_path: Path, logger: logging.Logger) -> None:
    handler = RotatingJsonlHandler(tmp_path / "system.jsonl")
    logger.addHandler(handler)
    logger.info("hello %s", "world", extra={"trace_id": "abc"})
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logger.exception("failed")
    first, second = read_events(tmp_path / "system.jsonl", 10)
    assert first["message"] == "hello world"
    assert first["level"] == "INFO"
    assert first["logger"] == "authkit.tests.audit_handler"
    assert first["trace_id"] == "abc"
    assert first["ts"].endswith("Z")
    assert "RuntimeError: boom" in second["exc_info"]
    assert second["trace_id"] is None, "every line has the key; null outside a request"


def test_extra_fields_join_the_line_and_odd_values_become_text(
    tmp_path: Path, logger: logging.Logger
) -> None:
    """The one formatter of the system and audit logs keeps a record's extras."""
    handler = RotatingJsonlHandler(tmp_path / "system.jsonl")
    logger.addHandler(handler)
    logger.info("served", extra={"status": 200, "route": "/auth/me", "path": tmp_path})
    (line,) = read_events(tmp_path / "system.jsonl", 10)
    assert line["status"] == 200
    assert line["route"] == "/auth/me"
    assert line["path"] == str(tmp_path)
    assert set(line) >= {"ts", "level", "logger", "message", "trace_id"}


def test_multiline_output_stays_one_line(tmp_path: Path, logger: logging.Logger) -> None:
    handler = RotatingJsonlHandler(
        tmp_path / "system.log", formatter=logging.Formatter("%(levelname)s %(message)s")
    )
    logger.addHandler(handler)
    logger.warning("line one\nline two\r\nline three")
    assert (tmp_path / "system.log").read_text() == (
        "WARNING line one\\nline two\\r\\nline three\n"
    )


def test_the_handler_uses_the_shared_rotating_writer(
    tmp_path: Path, logger: logging.Logger
) -> None:
    path = tmp_path / "system.jsonl"
    policy = RotationPolicy(max_bytes=400, backup_count=None, compress=False)
    handler = RotatingJsonlHandler(path, policy)
    assert isinstance(handler.writer, RotatingFileWriter)
    logger.addHandler(handler)
    for n in range(30):
        logger.info("message number %d", n)
    assert list_archives(path)
    messages: list[str] = []
    for file in [*list_archives(path), path]:
        messages += [json.loads(text)["message"] for text in file.read_text().splitlines()]
    assert messages == [f"message number {n}" for n in range(30)]


def test_write_errors_go_to_handle_error(
    tmp_path: Path, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = RotatingJsonlHandler(tmp_path / "system.jsonl")
    failures: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", failures.append)

    def fail(data: bytes) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(handler.writer, "write", fail)
    logger.addHandler(handler)
    logger.error("lost")
    assert [r.getMessage() for r in failures] == ["lost"]


def test_default_formatter_and_repr(tmp_path: Path) -> None:
    handler = RotatingJsonlHandler(tmp_path / "s.jsonl", level=logging.WARNING)
    assert isinstance(handler.formatter, JsonLineFormatter)
    assert "s.jsonl" in repr(handler)
    assert "WARNING" in repr(handler)
    handler.close()
