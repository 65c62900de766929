"""The flight search's own error, in the core's hierarchy so the adapter can map it."""

from __future__ import annotations

from authkit.errors import AuthkitError


class ProviderUnavailable(AuthkitError):
    """The flight provider failed (or its circuit is open) and no stored result exists.

    The Flask layer answers 503 with ``Retry-After: retry_after`` (whole seconds,
    at least 1), which also appears as the problem's ``retry_after`` member.
    """

    code = "provider_unavailable"
    default_message = "The flight provider is unavailable. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after
