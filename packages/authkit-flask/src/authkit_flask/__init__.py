"""authkit-flask: the Flask adapter of authkit."""

from importlib.metadata import PackageNotFoundError, version

from authkit_flask.blueprints.auth import client_address
from authkit_flask.decorators import (
    current_principal,
    enrolment_allowed,
    login_required,
    roles_required,
)
from authkit_flask.extension import DEFAULT_CSP, AuthKit
from authkit_flask.live import LiveUpdates
from authkit_flask.log_format import TraceIdFilter
from authkit_flask.problem import PROBLEM_CONTENT_TYPE, STATUS_BY_CODE, problem
from authkit_flask.request_context import current_trace_id
from authkit_flask.responses import rfc3339, user_json
from authkit_flask.state import AuthKitState, get_state

try:
    __version__ = version("authkit-flask")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "DEFAULT_CSP",
    "PROBLEM_CONTENT_TYPE",
    "STATUS_BY_CODE",
    "AuthKit",
    "AuthKitState",
    "LiveUpdates",
    "TraceIdFilter",
    "__version__",
    "client_address",
    "current_principal",
    "current_trace_id",
    "enrolment_allowed",
    "get_state",
    "login_required",
    "problem",
    "rfc3339",
    "roles_required",
    "user_json",
]
