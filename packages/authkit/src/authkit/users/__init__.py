"""Accounts: the user record, identity rules, listing and bulk changes, and administration.

``AdminService`` holds the operator's rules (last-admin guard, revocation on
deactivation, audit); ``UserStore`` is the contract the backends in
``authkit.storage`` implement.
"""

from authkit.users._admin import BULK_EVENT, MFA_RESET_EVENT, UPDATE_EVENT, AdminService, MfaReset
from authkit.users._identity import USERNAME_PATTERN, normalise_identity, validate_identity
from authkit.users._model import NewUser, User, canonical
from authkit.users._query import (
    BULK_ACTIONS,
    DEFAULT_PAGE_SIZE,
    EXACT_COUNT_LIMIT,
    EXACT_TEXT_COUNT_LIMIT,
    MAX_BULK_IDS,
    MAX_PAGE_SIZE,
    BulkAction,
    BulkResult,
    ListPosition,
    UserPage,
    UserQuery,
    classify,
    escape_like,
    last_admin_conflict,
)
from authkit.users._store import SessionUserLookup, SignInRecorder, UserStore
from authkit.users._unicode import invisible_characters, skeleton, skeleton_digest

__all__ = [
    "BULK_ACTIONS",
    "BULK_EVENT",
    "DEFAULT_PAGE_SIZE",
    "EXACT_COUNT_LIMIT",
    "EXACT_TEXT_COUNT_LIMIT",
    "MAX_BULK_IDS",
    "MAX_PAGE_SIZE",
    "MFA_RESET_EVENT",
    "UPDATE_EVENT",
    "USERNAME_PATTERN",
    "AdminService",
    "BulkAction",
    "BulkResult",
    "ListPosition",
    "MfaReset",
    "NewUser",
    "SessionUserLookup",
    "SignInRecorder",
    "User",
    "UserPage",
    "UserQuery",
    "UserStore",
    "canonical",
    "classify",
    "escape_like",
    "invisible_characters",
    "last_admin_conflict",
    "normalise_identity",
    "skeleton",
    "skeleton_digest",
    "validate_identity",
]
