"""Account recovery and email: verification, password reset, email change, deletion.

``AccountService`` holds the flows; ``ActionTokens`` the one-time links they
email (random, hashed at rest, single use, expiring, bound to the state they act
on); ``ActionTokenStore`` is the contract the backends in ``authkit.storage``
implement.
"""

from authkit.account._config import (
    CONFIRM_EMAIL_PATH,
    RESET_PASSWORD_PATH,
    VERIFY_EMAIL_PATH,
    AccountConfig,
)
from authkit.account._records import ActionPurpose, ActionTokenRecord, ActionTokenStore
from authkit.account._service import (
    ADMIN_DELETE_EVENT,
    CHANGE_EVENT,
    CHANGE_REQUEST_EVENT,
    DELETE_EVENT,
    FORGOT_EVENT,
    RESET_EVENT,
    RESET_LINK_EVENT,
    VERIFY_EVENT,
    VERIFY_REQUEST_EVENT,
    AccountService,
)
from authkit.account._tokens import ActionTokens, IssuedActionToken, hash_action_token

__all__ = [
    "ADMIN_DELETE_EVENT",
    "CHANGE_EVENT",
    "CHANGE_REQUEST_EVENT",
    "CONFIRM_EMAIL_PATH",
    "DELETE_EVENT",
    "FORGOT_EVENT",
    "RESET_EVENT",
    "RESET_LINK_EVENT",
    "RESET_PASSWORD_PATH",
    "VERIFY_EMAIL_PATH",
    "VERIFY_EVENT",
    "VERIFY_REQUEST_EVENT",
    "AccountConfig",
    "AccountService",
    "ActionPurpose",
    "ActionTokenRecord",
    "ActionTokenStore",
    "ActionTokens",
    "IssuedActionToken",
    "hash_action_token",
]
