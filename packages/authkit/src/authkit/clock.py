"""Injected time, so every expiry, window and TOTP step is testable without sleeping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Where time comes from; inject one so expiries and windows are testable without sleeping."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        return datetime.now(UTC)


@dataclass
class FrozenClock:
    """A clock that moves only when told to (tests, simulations)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        """The frozen time."""
        return self.current

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.current += timedelta(seconds=seconds)


def utc(dt: datetime) -> datetime:
    """Treat a naive datetime (as SQLite returns them) as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


__all__ = ["Clock", "FrozenClock", "SystemClock", "utc"]
