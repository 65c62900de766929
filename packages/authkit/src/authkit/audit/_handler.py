"""A stdlib ``logging`` handler for the system log, on the audit log's writer.

The system log has the same needs as the audit log (several gunicorn workers,
one file, rotation that loses nothing), so it reuses ``RotatingFileWriter``
instead of ``logging.handlers.RotatingFileHandler``, which rotates per process
and loses or misplaces lines when several processes share a file.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from authkit.audit._rotation import RotatingFileWriter, RotationPolicy
from authkit.clock import Clock, SystemClock

_SYSTEM_CLOCK = SystemClock()
_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "trace_id"}
)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record, the one format of every JSONL log authkit writes.

    ``ts`` (RFC 3339 UTC with ``Z``, as in the audit log), ``level``, ``logger``,
    ``message``, ``trace_id`` (from the record, which an adapter's filter stamps;
    null outside a request), then the record's extra fields, and ``exc_info`` as
    text when there is an exception. Values JSON cannot hold are written as text.
    """

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.fromtimestamp(record.created, UTC)
        payload: dict[str, object] = {
            "ts": created.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in payload:
                payload[key] = value
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=True, separators=(",", ":"), default=str)


class RotatingJsonlHandler(logging.Handler):
    r"""Writes each record as one line through a shared ``RotatingFileWriter``.

    A formatted record that spans several lines (a plain formatter with a
    traceback) has its line breaks escaped as ``\n``, so one record stays one
    line and the reader never sees a torn event.
    """

    def __init__(
        self,
        path: Path,
        rotation: RotationPolicy | None = None,
        formatter: logging.Formatter | None = None,
        *,
        level: int = logging.NOTSET,
        clock: Clock = _SYSTEM_CLOCK,
    ) -> None:
        super().__init__(level)
        self.setFormatter(formatter or JsonLineFormatter())
        self.writer = RotatingFileWriter(Path(path), rotation=rotation, clock=clock)

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<{type(self).__name__} {str(self.writer.path)!r} ({level})>"

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record).replace("\r", "\\r").replace("\n", "\\n")
            self.writer.write(text.encode("utf-8", "backslashreplace") + b"\n")
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            super().close()


__all__ = ["JsonLineFormatter", "RotatingJsonlHandler"]
