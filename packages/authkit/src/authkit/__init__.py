"""authkit: a framework-agnostic authentication core.

Passwords (argon2id and a policy), a JWT key ring with rotation and JWKS,
refresh-token rotation with reuse detection, brute-force throttling, TOTP MFA,
users and roles, and a pseudonymising audit logger. No web framework imports.

Start with ``build``:

    from authkit import AuthkitConfig, build

    kit = build(AuthkitConfig(service_name="myapp", secret_key="..."), audit="auth.jsonl")
    kit.auth.register(...)

Each capability is a namespace (``authkit.passwords``, ``authkit.tokens``,
``authkit.storage``, ...); this module names one thing per capability.
"""

from importlib.metadata import PackageNotFoundError, version

from authkit import (
    account,
    audit,
    clock,
    errors,
    keys,
    live,
    mfa,
    passwords,
    roles,
    sessions,
    storage,
    throttle,
    tokens,
)
from authkit._auth import AuthService, Principal, TokenPair
from authkit._build import Authkit, build
from authkit._config import AuditConfig, AuthkitConfig, MfaConfig
from authkit.account._service import AccountService
from authkit.audit._logger import AuditLogger
from authkit.clock import Clock, SystemClock
from authkit.errors import AuthkitError
from authkit.keys._manager import KeyManager
from authkit.mfa._service import MfaService
from authkit.passwords._policy import PasswordPolicy
from authkit.storage._url import Stores, open_stores
from authkit.storage.sql._tables import users
from authkit.throttle import LoginThrottle
from authkit.users._admin import AdminService
from authkit.users._model import User

try:
    __version__ = version("authkit-core")
    """The installed version of ``authkit-core``."""
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "AccountService",
    "AdminService",
    "AuditConfig",
    "AuditLogger",
    "AuthService",
    "Authkit",
    "AuthkitConfig",
    "AuthkitError",
    "Clock",
    "KeyManager",
    "LoginThrottle",
    "MfaConfig",
    "MfaService",
    "PasswordPolicy",
    "Principal",
    "Stores",
    "SystemClock",
    "TokenPair",
    "User",
    "__version__",
    "account",
    "audit",
    "build",
    "clock",
    "errors",
    "keys",
    "live",
    "mfa",
    "open_stores",
    "passwords",
    "roles",
    "sessions",
    "storage",
    "throttle",
    "tokens",
    "users",
]
