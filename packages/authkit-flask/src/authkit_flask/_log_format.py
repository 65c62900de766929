"""The request's trace id on every log record; the JSON format is the core's.

``TraceIdFilter`` stamps ``record.trace_id`` from the request context, so
``authkit.audit.JsonLineFormatter`` (the one JSONL format of the system and audit
logs) writes it on every line logged while a request is served.
"""

from __future__ import annotations

import logging

from authkit_flask._request_context import current_trace_id


class TraceIdFilter(logging.Filter):
    """Stamps ``record.trace_id`` from the request context (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "trace_id", None) is None:
            record.trace_id = current_trace_id()
        return True


__all__ = ["TraceIdFilter"]
