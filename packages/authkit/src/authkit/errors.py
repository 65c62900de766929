"""The one error hierarchy of authkit.

Every error carries a stable machine-readable ``code`` (the adapter maps it to an
HTTP status in a single table) and a safe ``message`` that never contains a
secret, a token or a hash. Extra, safe, structured data goes in ``extra``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class AuthkitError(Exception):
    """Root of every error authkit raises on purpose."""

    code: ClassVar[str] = "authkit_error"
    default_message: ClassVar[str] = "An authentication error occurred."

    def __init__(
        self, message: str | None = None, *, field: str | None = None, **extra: Any
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        """The input or setting at fault, by its name in the core (``username``,
        ``pair_failures``); adapters add where it came from (body, query, variable)."""
        self.extra: Mapping[str, Any] = extra
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidRequest(AuthkitError):
    """The input could not be understood at all."""

    code = "invalid_request"
    default_message = "The request is malformed."


class ValidationFailed(AuthkitError):
    """Well-formed input with fields that are missing, ill-typed or out of range."""

    code = "validation_error"
    default_message = "The request has invalid fields."

    def __init__(self, errors: list[dict[str, Any]], message: str | None = None) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class WeakPassword(AuthkitError):
    """A password broke one or more rules of the password policy."""

    code = "weak_password"
    default_message = "The password does not meet the password policy."

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(None, errors=errors)
        self.errors = errors


class Conflict(AuthkitError):
    """A unique value (username, email) is already taken, or a state forbids the change."""

    code = "conflict"
    default_message = "The resource conflicts with an existing one."


class RegistrationClosed(AuthkitError):
    """Registration is switched off (``registration_open=False``)."""

    code = "registration_closed"
    default_message = "Registration is closed."


class InvalidCredentials(AuthkitError):
    """Unknown user or wrong password: one answer for both, so usernames cannot be probed."""

    code = "invalid_credentials"
    default_message = "The username or password is incorrect."


class AccountDisabled(AuthkitError):
    """A deactivated account; told only after a correct password, so guessers learn nothing."""

    code = "account_disabled"
    default_message = "This account is disabled."


class EmailUnverified(AuthkitError):
    """Sign-in refused until the account's email is verified (only after a correct password).

    The message names the way back when the verification link has expired (a new
    one can only be asked for signed in): a completed password reset, whose link
    goes to the same address, verifies it. It says nothing about the account that
    the correct password did not already reveal.
    """

    code = "email_unverified"
    default_message = (
        "Verify your email address before signing in: open the link in the latest "
        "verification message. If it has expired, use \u201cForgot password?\u201d: "
        "completing a password reset from that address also verifies it."
    )


class MfaRequired(AuthkitError):
    """The password was right and the account has TOTP: send ``otp`` or ``recovery_code`` too."""

    code = "mfa_required"
    default_message = "A one-time code is required for this account."


class MfaEnrolmentRequired(AuthkitError):
    """The account's role requires MFA; only the enrolment endpoints are open until then."""

    code = "mfa_enrolment_required"
    default_message = "Enrol a second factor (TOTP) before using this endpoint."


class InvalidOtp(AuthkitError):
    """A wrong, expired or already used TOTP or recovery code; counted as a failed sign-in."""

    code = "invalid_otp"
    default_message = "The one-time code is invalid."


class InvalidToken(AuthkitError):
    """A token that is missing, malformed, expired, wrongly signed, revoked or of the wrong type."""

    code = "invalid_token"
    default_message = "The token is invalid or expired."


class TokenReused(AuthkitError):
    """A refresh token that was already rotated was presented again (RFC 9700 §4.14.2)."""

    code = "token_reused"
    default_message = "The refresh token was already used; the session has been revoked."


class Forbidden(AuthkitError):
    """Authenticated, but without the role the action needs."""

    code = "forbidden"
    default_message = "You do not have permission to do this."


class NotFound(AuthkitError):
    """No such resource; an id of the wrong shape is simply not found."""

    code = "not_found"
    default_message = "The resource was not found."


class TooManyAttempts(AuthkitError):
    """A throttling rule is exhausted; ``retry_after`` is whole seconds, at least 1."""

    code = "too_many_attempts"
    default_message = "Too many attempts. Try again later."

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        retry_after = max(1, int(retry_after))
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class ServiceUnavailable(AuthkitError):
    """A dependency (rate-limit storage, database) did not answer; try again later.

    Throttling fails closed: when its storage is down, sign-ins are refused rather
    than let through unthrottled.
    """

    code = "service_unavailable"
    default_message = "The service is temporarily unavailable. Try again later."


class MailDeliveryError(ServiceUnavailable):
    """A mail server refused a message or could not be reached (after any retries).

    The message names the server and the failure, never the recipient, the body,
    the link or the SMTP password. Mail is sent after the response, so this error
    reaches the system log and the metrics, not the user who asked for the mail.
    """

    code = "mail_delivery_failed"
    default_message = "The mail could not be delivered."

    def __init__(self, message: str | None = None, *, transient: bool = False) -> None:
        super().__init__(message, transient=transient)
        self.transient = transient
        """True when trying again later may succeed (connection refused, timeout,
        an SMTP 4xx); a retry policy retries only these."""


class ConfigurationError(AuthkitError, ValueError):
    """Settings or persisted state (a key ring file, say) that authkit cannot use.

    Also a ``ValueError``: a configuration value the core refuses is a bad value.
    """

    code = "configuration_error"
    default_message = "authkit is misconfigured."


class KeyRingError(ConfigurationError):
    """The key ring cannot be used or changed (unknown kid, retiring the active key, a bad file)."""

    code = "keyring_error"
    default_message = "The key ring cannot be used."


__all__ = [
    "AccountDisabled",
    "AuthkitError",
    "ConfigurationError",
    "Conflict",
    "EmailUnverified",
    "Forbidden",
    "InvalidCredentials",
    "InvalidOtp",
    "InvalidRequest",
    "InvalidToken",
    "KeyRingError",
    "MailDeliveryError",
    "MfaEnrolmentRequired",
    "MfaRequired",
    "NotFound",
    "RegistrationClosed",
    "ServiceUnavailable",
    "TokenReused",
    "TooManyAttempts",
    "ValidationFailed",
    "WeakPassword",
]
