"""Reading the last events of a JSONL log without reading the whole file.

The admin view asks for "the last N lines" of logs that may be hundreds of
megabytes; reading them front to back on every request would cost time in
proportion to the file. Here the file is read backwards in blocks until enough
line breaks have been seen, so the cost grows with N (and line length) only.

Lines are split on ``\\n`` bytes alone, never with ``str.splitlines`` (which also
splits on U+2028 and friends that may appear inside a JSON string); a ``\\r``
before the ``\\n`` (CRLF) is dropped, and a last line without a line break counts
as a line. Bytes that are not UTF-8 come back as U+FFFD rather than an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Final

DEFAULT_BLOCK_SIZE: Final = 64 * 1024


def tail_lines(path: Path, limit: int, *, block_size: int = DEFAULT_BLOCK_SIZE) -> list[str]:
    """The last ``limit`` lines of ``path``, oldest first; ``[]`` when it does not exist.

    Reads from the size the file had when opened, so lines appended meanwhile by
    other processes are simply not seen yet, and a concurrent rotation (a rename)
    does not disturb the open descriptor.
    """
    if limit < 0:
        raise ValueError("limit must not be negative.")
    if block_size <= 0:
        raise ValueError("block_size must be positive.")
    if limit == 0:
        return []
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return []
    try:
        position = os.fstat(fd).st_size
        chunks: list[bytes] = []
        breaks = 0
        ends_with_break: bool | None = None
        while position > 0:
            step = min(block_size, position)
            position -= step
            chunk = os.pread(fd, step, position)
            if ends_with_break is None:
                ends_with_break = chunk.endswith(b"\n")
            chunks.append(chunk)
            breaks += chunk.count(b"\n")
            # Each break before the final one ends a complete line that started after it.
            if breaks - int(ends_with_break) >= limit:
                break
    finally:
        os.close(fd)
    if not chunks:
        return []
    data = b"".join(reversed(chunks))
    pieces = data.split(b"\n")
    if position > 0:
        pieces = pieces[1:]  # the first piece is the tail end of an earlier line
    if ends_with_break:
        pieces = pieces[:-1]
    return [_decode(piece) for piece in pieces[-limit:]]


def _decode(raw: bytes) -> str:
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    return raw.decode("utf-8", "replace")


def parse_line(line: str) -> dict[str, Any]:
    """One event; a line that is not a JSON object comes back as ``{"raw", "parse_error"}``.

    A torn or foreign line (a stray print, a crash mid-write) must not hide the
    events around it, so it is returned marked rather than raised or dropped.
    """
    try:
        value = json.loads(line)
    except ValueError:
        return {"raw": line, "parse_error": True}
    if not isinstance(value, dict):
        return {"raw": line, "parse_error": True}
    return value


def read_events(
    path: Path, limit: int, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> list[dict[str, Any]]:
    """The last ``limit`` lines of ``path`` as parsed events, oldest first.

    Blank lines are not events and are skipped (so fewer than ``limit`` may come
    back from a file that has them).
    """
    lines = tail_lines(path, limit, block_size=block_size)
    return [parse_line(line) for line in lines if line.strip()]


__all__ = ["DEFAULT_BLOCK_SIZE", "parse_line", "read_events", "tail_lines"]
