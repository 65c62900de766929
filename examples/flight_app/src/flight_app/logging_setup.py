"""The system log: JSON lines in ``<log_dir>/system.jsonl``, each with ``trace_id``.

The file goes through authkit's rotating writer, so several gunicorn workers share
it safely and it rotates like the audit log (same ``log_*`` settings).
"""

from __future__ import annotations

import logging
import sys

from authkit.audit import JsonLineFormatter, RotatingJsonlHandler
from authkit_flask import TraceIdFilter
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


__all__ = ["configure_logging"]
