"""Where the core's services write their audit events; ``AuditLogger`` is the JSONL one.

The protocol is all a service needs, so tests pass a list-backed sink and an app
may send events anywhere (a SIEM, a queue) without the JSONL file.
"""

from __future__ import annotations

from typing import Protocol

AuditValue = str | int | bool | None | list[str]
"""What an event field may hold: plain JSON values, never a nested object."""


class AuditSink(Protocol):
    """Where audit events go: the JSONL ``AuditLogger``, or any object with this ``log``."""

    def log(
        self,
        event: str,
        *,
        outcome: str,
        actor: str | None = None,
        client_address: str | None = None,
        **fields: AuditValue,
    ) -> object: ...


__all__ = ["AuditSink", "AuditValue"]
