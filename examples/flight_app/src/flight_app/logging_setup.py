"""The system log: JSON lines in ``<log_dir>/system.jsonl``, each with ``trace_id``.

The file goes through authkit's rotating writer, so several gunicorn workers share
it safely and it rotates like the audit log (same ``log_*`` settings). The
per-request access lines reach the same file through ``access_log_sink``: made
directly and appended in batches (``access_log_flush_interval``), while every
other record is written as it is logged.
"""

from __future__ import annotations

import logging
import sys

from authkit.audit import BufferedLineWriter, JsonLineFormatter, LineWriter, RotatingJsonlHandler
from authkit_flask import AccessLineSink, TraceIdFilter
from flight_app.settings import Settings

_MARKER = "_flight_app_handler"


def configure_logging(settings: Settings) -> None:
    """Install the JSONL file handler and a stderr handler on the root logger, once."""
    root = logging.getLogger()
    if any(getattr(h, _MARKER, False) for h in root.handlers):
        return
    settings.effective_log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    formatter = JsonLineFormatter()
    trace = TraceIdFilter()
    file_handler = RotatingJsonlHandler(
        settings.effective_log_dir / "system.jsonl",
        settings.authkit_config().audit.rotation,
        formatter,
    )
    stderr_handler = logging.StreamHandler(sys.stderr)
    stderr_handler.setLevel(logging.WARNING)
    for handler in (file_handler, stderr_handler):
        handler.setFormatter(formatter)
        handler.addFilter(trace)
        setattr(handler, _MARKER, True)
        root.addHandler(handler)
    root.setLevel(settings.log_level)
    # Per-statement engine logs would drown the file; warnings still come through.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    # werkzeug's development server logs request lines with their query string,
    # which may hold ?access_token= (the admin WebSocket): keep only its warnings.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def access_log_sink(settings: Settings) -> AccessLineSink:
    """The access lines' way into ``system.jsonl`` (after ``configure_logging``), one per process.

    Buffered for up to ``access_log_flush_interval`` seconds (flushed at exit and
    before a fork too); ``0`` writes each line as the request ends.
    """
    handler = next(
        h
        for h in logging.getLogger().handlers
        if isinstance(h, RotatingJsonlHandler) and getattr(h, _MARKER, False)
    )
    interval = settings.access_log_flush_interval
    key = (id(handler), interval)
    sink = _access_sinks.get(key)
    if sink is None:
        writer: LineWriter = handler.writer
        if interval > 0:
            writer = BufferedLineWriter(writer, flush_interval=interval)
        sink = _access_sinks[key] = AccessLineSink(writer)
    return sink


_access_sinks: dict[tuple[int, float], AccessLineSink] = {}


__all__ = ["access_log_sink", "configure_logging"]
