"""``GET /admin/logs``: the last N lines of the auth or system log, for admins.

Reads backwards from the end of the file (``read_recent_events``), so a request
costs the same on a 1 GB log as on a 1 MB one; right after a rotation it
continues into the newest archives, so the viewer still shows N lines. Lines that
are not JSON come back as ``{"raw": ..., "parse_error": true}`` instead of hiding
the lines around them. ``Cache-Control: no-store``: the answer is live data about
accounts, never to be kept by a browser or proxy.
"""

from __future__ import annotations

from typing import Final

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from authkit.audit import read_recent_events
from authkit.errors import ValidationFailed
from authkit.roles import ADMIN
from authkit_flask._api_models import LogsOut
from authkit_flask._decorators import roles_required
from authkit_flask._openapi import api_operation
from authkit_flask._state import get_state

DEFAULT_SOURCE: Final = "auth"
DEFAULT_LIMIT: Final = 100
MAX_LIMIT: Final = 1000

admin_logs_blueprint = Blueprint("authkit_admin_logs", __name__, url_prefix="/admin")


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    source: str = Field(default=DEFAULT_SOURCE, min_length=1, max_length=64)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


def _parse_query(known_sources: list[str]) -> LogQuery:
    try:
        query = LogQuery.model_validate(request.args.to_dict(flat=True))
    except ValidationError as exc:
        raise ValidationFailed(
            [{"loc": ["query", *map(str, e["loc"])], "msg": e["msg"]} for e in exc.errors()]
        ) from exc
    if query.source not in known_sources:
        choices = ", ".join(repr(name) for name in known_sources)
        raise ValidationFailed(
            [{"loc": ["query", "source"], "msg": f"Input should be one of {choices}"}]
        )
    return query


@admin_logs_blueprint.get("/logs")
@api_operation(
    "GET",
    summary="The last lines of the auth or system log, oldest first (admin)",
    tags=("admin",),
    auth="admin",
    query=LogQuery,
    responses={200: LogsOut},
    operation_id="admin_logs",
)
@roles_required(ADMIN)
def logs() -> Response:
    sources = get_state().log_sources
    query = _parse_query(sorted(sources))
    items = read_recent_events(sources[query.source], query.limit)
    response = jsonify(
        {
            "items": items,
            "meta": {"source": query.source, "limit": query.limit, "returned": len(items)},
        }
    )
    response.headers["Cache-Control"] = "no-store"
    return response


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "LogQuery", "admin_logs_blueprint"]
