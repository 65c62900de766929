r"""Reading the last events of a JSONL log without reading the whole file.

The admin view asks for "the last N lines" of logs that may be hundreds of
megabytes; reading them front to back on every request would cost time in
proportion to the file. Here the file is read backwards in blocks until enough
line breaks have been seen, so the cost grows with N (and line length) only.

Lines are split on ``\n`` bytes alone, never with ``str.splitlines`` (which also
splits on U+2028 and friends that may appear inside a JSON string); a ``\r``
before the ``\n`` (CRLF) is dropped, and a last line without a line break counts
as a line. Bytes that are not UTF-8 come back as U+FFFD rather than an error.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from collections import deque
from pathlib import Path
from typing import Any, Final

from authkit.audit._rotation import list_archives

DEFAULT_BLOCK_SIZE: Final = 64 * 1024


def tail_lines(path: Path, limit: int, *, block_size: int = DEFAULT_BLOCK_SIZE) -> list[str]:
    """The last ``limit`` lines of ``path``, oldest first; ``[]`` when it does not exist.

    Reads from the size the file had when opened, so lines appended meanwhile by
    other processes are simply not seen yet, and a concurrent rotation (a rename)
    does not disturb the open descriptor.
    """
    _check(limit, block_size)
    return _tail_path(path, limit, block_size)[1]


def _check(limit: int, block_size: int) -> None:
    if limit < 0:
        raise ValueError("limit must not be negative.")
    if block_size <= 0:
        raise ValueError("block_size must be positive.")


def _tail_path(
    path: Path, limit: int, block_size: int, *, missing_ok: bool = True
) -> tuple[tuple[int, int] | None, list[str], bool]:
    """(identity of the file read, its last ``limit`` lines, whether that is all of them)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if not missing_ok:
            raise
        return None, [], True
    try:
        st = os.fstat(fd)
        lines, whole = _tail_fd(fd, st.st_size, limit, block_size)
    finally:
        os.close(fd)
    return (st.st_dev, st.st_ino), lines, whole


def _tail_fd(fd: int, size: int, limit: int, block_size: int) -> tuple[list[str], bool]:
    if limit == 0:
        return [], size == 0
    position = size
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
    if not chunks:
        return [], True
    data = b"".join(reversed(chunks))
    pieces = data.split(b"\n")
    if position > 0:
        pieces = pieces[1:]  # the first piece is the tail end of an earlier line
    if ends_with_break:
        pieces = pieces[:-1]
    whole = position == 0 and len(pieces) <= limit
    return [_decode(piece) for piece in pieces[-limit:]], whole


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


_RACE_ATTEMPTS: Final = 3


def read_recent_events(
    path: Path, limit: int, *, block_size: int = DEFAULT_BLOCK_SIZE
) -> list[dict[str, Any]]:
    """The last ``limit`` events of ``path`` and, when it holds fewer, of its archives.

    Right after a rotation the current file may hold only a few lines; the admin
    viewer still wants the last N events, so the newest archives
    (``list_archives``, plain or ``.gz``) are read too, newest first, until
    ``limit`` is reached. The current file and plain archives are read backwards
    as in ``read_events``; a compressed archive cannot be read backwards, so it is
    decompressed as a stream keeping only its last lines (its size is bounded by
    the rotation policy, and this only happens when the current file is short).

    A rotation between reading the current file and listing the archives would
    list the file just read as an archive (events twice): the identity of
    ``path`` is compared before and after, and the read retried if it moved.
    Oldest first; blank lines skipped.
    """
    _check(limit, block_size)
    archives: list[Path] = []
    for _ in range(_RACE_ATTEMPTS):
        identity, lines, whole = _tail_path(path, limit, block_size)
        newest = [line for line in lines if line.strip()]
        if len(newest) >= limit or not whole:
            return [parse_line(line) for line in newest]
        archives = list_archives(path)
        if _identity(path) == identity:
            break
    older: list[list[str]] = []
    need = limit - len(newest)
    for archive in reversed(archives):
        chunk, whole = _tail_archive(archive, need, block_size)
        older.append(chunk)
        need -= len(chunk)
        if need <= 0 or not whole:
            break
    ordered = [line for chunk in reversed(older) for line in chunk] + newest
    return [parse_line(line) for line in ordered]


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino)


def _tail_archive(archive: Path, limit: int, block_size: int) -> tuple[list[str], bool]:
    """The last non-blank lines of an archive and whether they are all of them.

    An archive compressed or purged by a concurrent rotation is looked for under
    its ``.gz`` name, then given up (``([], False)``: older ones are gone too).
    """
    candidates = [archive]
    if archive.suffix != ".gz":
        candidates.append(archive.with_name(archive.name + ".gz"))
    for candidate in candidates:
        try:
            if candidate.suffix == ".gz":
                return _tail_gzip(candidate, limit), True
            _, lines, whole = _tail_path(candidate, limit, block_size, missing_ok=False)
            return [line for line in lines if line.strip()], whole
        except FileNotFoundError:
            continue
        except (OSError, EOFError, zlib.error):
            return [], True  # a damaged archive: skip it, older ones may still be fine
    return [], False


def _tail_gzip(path: Path, limit: int) -> list[str]:
    kept: deque[bytes] = deque(maxlen=limit)
    with gzip.open(path, "rb") as stream:
        for raw in stream:
            if raw.strip():
                kept.append(raw.rstrip(b"\n"))
    return [_decode(raw) for raw in kept]


__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "parse_line",
    "read_events",
    "read_recent_events",
    "tail_lines",
]
