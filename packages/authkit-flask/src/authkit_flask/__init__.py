"""authkit-flask: the Flask adapter of authkit.

``AuthKit(app, kit)`` wires a core built by ``authkit.build`` into a Flask app:
the HTTP contract's blueprints, problem+json errors, trace ids, health, metrics,
the admin live-update socket, and the browser pages (sign-in, registration,
account, admin console; overridable templates) with their cookie-held sessions.
Each JSON route documents itself with ``api_operation`` (an app's routes too), and
``GET /openapi.json`` serves the OpenAPI 3.1 document built from those entries and
the pydantic models. Views are guarded with ``login_required`` / ``roles_required`` and read the
caller with ``current_principal()``. Every module of the package is private;
these names are its surface.
"""

from importlib.metadata import PackageNotFoundError, version

from authkit_flask._access_log import AccessLineSink
from authkit_flask._blueprints.auth import client_address
from authkit_flask._browser import CSRF_HEADER
from authkit_flask._browser_config import BrowserSessionConfig
from authkit_flask._decorators import (
    current_principal,
    enrolment_allowed,
    login_required,
    roles_required,
)
from authkit_flask._extension import DEFAULT_CSP, AuthKit, default_readiness_checks
from authkit_flask._live import LiveUpdates
from authkit_flask._log_format import TraceIdFilter
from authkit_flask._metrics import record_mail_failure, record_mail_sent
from authkit_flask._openapi import (
    ApiOperation,
    ApiResponse,
    OpenApiCoverage,
    OpenApiInfo,
    api_operation,
    openapi_coverage,
    openapi_document,
)
from authkit_flask._openapi_markdown import openapi_markdown
from authkit_flask._problem import PROBLEM_CONTENT_TYPE, STATUS_BY_CODE, problem, problem_from_error
from authkit_flask._request_context import current_trace_id
from authkit_flask._responses import rfc3339, user_json
from authkit_flask._state import AuthKitState, RequestState, get_state, request_state

try:
    __version__ = version("authkit-flask")
    """The installed version of ``authkit-flask``."""
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "CSRF_HEADER",
    "DEFAULT_CSP",
    "PROBLEM_CONTENT_TYPE",
    "STATUS_BY_CODE",
    "AccessLineSink",
    "ApiOperation",
    "ApiResponse",
    "AuthKit",
    "AuthKitState",
    "BrowserSessionConfig",
    "LiveUpdates",
    "OpenApiCoverage",
    "OpenApiInfo",
    "RequestState",
    "TraceIdFilter",
    "__version__",
    "api_operation",
    "client_address",
    "current_principal",
    "current_trace_id",
    "default_readiness_checks",
    "enrolment_allowed",
    "get_state",
    "login_required",
    "openapi_coverage",
    "openapi_document",
    "openapi_markdown",
    "problem",
    "problem_from_error",
    "record_mail_failure",
    "record_mail_sent",
    "request_state",
    "rfc3339",
    "roles_required",
    "user_json",
]
