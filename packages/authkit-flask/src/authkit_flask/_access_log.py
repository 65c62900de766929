"""The one access line per request, written without the ``logging`` machinery.

Through ``logging`` the line costs a ``LogRecord`` (thread and process names,
two clocks), the handler lock, a filter, the generic formatter's walk over the
record's attributes and one locked write to the log file: the largest part of
a fast request once the auth check is cheap. ``AccessLineSink`` makes the same
JSON line directly — the fields, their order and the timestamp format of
``authkit.audit.JsonLineFormatter``, so readers (``/admin/logs``, ``jq``) cannot
tell the difference — and hands it to a line writer, typically an
``authkit.audit.BufferedLineWriter`` over the system log's file (nginx's
buffered access log: one write per many requests).

Without a sink (``AuthKit(access_log=None)``, the default) the line goes through
``logging`` as before, to whatever handlers the app configured.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii

from authkit.audit import LineWriter

ACCESS_LOGGER = "authkit_flask.access"
"""The logger name on every access line, whichever way it is written."""


def _text(value: str | None) -> str:
    """A JSON string (ASCII, escaped by the json module's C encoder) or null."""
    return "null" if value is None else encode_basestring_ascii(value)


def _number(value: float | None) -> str:
    """A JSON number as ``json.dumps`` writes it, or null."""
    return "null" if value is None else float.__repr__(float(value))


class AccessLineSink:
    """Formats access lines as ``JsonLineFormatter`` would and writes them to ``writer``."""

    def __init__(self, writer: LineWriter) -> None:
        self.writer = writer

    def __repr__(self) -> str:
        return f"AccessLineSink({self.writer!r})"

    def write(
        self,
        *,
        trace_id: str | None,
        method: str,
        path: str,
        route: str | None,
        status: int,
        duration_ms: float | None,
    ) -> None:
        """Write one access line, stamped now (RFC 3339 UTC, milliseconds, ``Z``)."""
        # The formatter's own steps (datetime rounds to the microsecond, isoformat
        # truncates to the millisecond), so the stamp is the same to the last digit.
        stamp = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        line = (
            f'{{"ts":"{stamp[:-6]}Z","level":"INFO",'
            f'"logger":"{ACCESS_LOGGER}","message":"request","trace_id":{_text(trace_id)},'
            f'"method":{_text(method)},"path":{_text(path)},"route":{_text(route)},'
            f'"status":{int(status)},"duration_ms":{_number(duration_ms)}}}\n'
        )
        self.writer.write(line.encode("ascii"))


__all__ = ["ACCESS_LOGGER", "AccessLineSink"]
