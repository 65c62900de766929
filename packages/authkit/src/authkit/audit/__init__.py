"""The audit log: pseudonymised JSONL events, multi-process rotation, a tail reader.

``AuditLogger`` writes one JSON object per security event; ``Pseudonymizer``
keeps raw usernames, emails and IP addresses out of it; ``RotatingFileWriter``
(shared with the system log's ``RotatingJsonlHandler``) lets several processes
append to and rotate one file without losing or tearing a line; ``read_events``
returns the last N events for the admin view (``read_recent_events`` continues into
the archives when the current file is short). ``BufferedLineWriter`` gathers
lines that may wait a moment (the per-request access line) into one write.
"""

from authkit.audit._buffered import (
    DEFAULT_BUFFER_BYTES,
    DEFAULT_FLUSH_INTERVAL,
    BufferedLineWriter,
    LineWriter,
    flush_buffered_lines,
)
from authkit.audit._handler import JsonLineFormatter, RotatingJsonlHandler
from authkit.audit._logger import AuditEvent, AuditLogger, FieldValue, Listener, is_sensitive_name
from authkit.audit._pseudonym import Pseudonymizer
from authkit.audit._reader import parse_line, read_events, read_recent_events, tail_lines
from authkit.audit._rotation import RotatingFileWriter, RotationPolicy, list_archives
from authkit.audit._sink import AuditSink, AuditValue

__all__ = [
    "DEFAULT_BUFFER_BYTES",
    "DEFAULT_FLUSH_INTERVAL",
    "AuditEvent",
    "AuditLogger",
    "AuditSink",
    "AuditValue",
    "BufferedLineWriter",
    "FieldValue",
    "JsonLineFormatter",
    "LineWriter",
    "Listener",
    "Pseudonymizer",
    "RotatingFileWriter",
    "RotatingJsonlHandler",
    "RotationPolicy",
    "flush_buffered_lines",
    "is_sensitive_name",
    "list_archives",
    "parse_line",
    "read_events",
    "read_recent_events",
    "tail_lines",
]
