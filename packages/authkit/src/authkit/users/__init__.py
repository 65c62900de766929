"""Accounts: the user record, identity rules, listing and bulk changes, and administration.

``AdminService`` holds the operator's rules (last-admin guard, revocation on
deactivation, audit); ``UserStore`` is the contract the backends in
``authkit.storage`` implement.
"""

from authkit.users._admin import BULK_EVENT, UPDATE_EVENT, AdminService
from authkit.users._identity import USERNAME_PATTERN, validate_identity
from authkit.users._model import NewUser, User, canonical
from authkit.users._query import (
    BULK_ACTIONS,
    DEFAULT_PAGE_SIZE,
    MAX_BULK_IDS,
    MAX_PAGE_SIZE,
    BulkAction,
    BulkResult,
    UserPage,
    UserQuery,
    classify,
    escape_like,
    last_admin_conflict,
)
from authkit.users._store import UserStore

__all__ = [
    "BULK_ACTIONS",
    "BULK_EVENT",
    "DEFAULT_PAGE_SIZE",
    "MAX_BULK_IDS",
    "MAX_PAGE_SIZE",
    "UPDATE_EVENT",
    "USERNAME_PATTERN",
    "AdminService",
    "BulkAction",
    "BulkResult",
    "NewUser",
    "User",
    "UserPage",
    "UserQuery",
    "UserStore",
    "canonical",
    "classify",
    "escape_like",
    "last_admin_conflict",
    "validate_identity",
]
