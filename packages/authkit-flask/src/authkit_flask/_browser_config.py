"""``BrowserSessionConfig``: how browser sessions keep their refresh token.

Apart from the session endpoints (``_browser``) so the per-app state can name it
without importing the blueprints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_COOKIE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, kw_only=True)
class BrowserSessionConfig:
    """How browser sessions keep their refresh token.

    ``cookie_name``: the cookie's name (letters, digits, ``_``, ``-``).
    ``secure``: ``None`` (the default) marks the cookie ``Secure`` whenever the
    request arrived over HTTPS (directly, or per ``X-Forwarded-Proto`` from a
    trusted proxy); ``True`` always, ``False`` never (local development only).
    """

    cookie_name: str = "authkit_refresh"
    secure: bool | None = None

    def __post_init__(self) -> None:
        if not _COOKIE_NAME.match(self.cookie_name):
            raise ValueError("cookie_name must be 1-64 letters, digits, '_' or '-'.")


__all__ = ["BrowserSessionConfig"]
