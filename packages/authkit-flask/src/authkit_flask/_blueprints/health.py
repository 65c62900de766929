"""Liveness and readiness.

Readiness runs every registered check in parallel with a short timeout, so a hung
dependency makes the probe fail fast (naming it) instead of hanging the probe.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from flask import Blueprint, Response, jsonify

from authkit_flask._api_models import LiveOut, ReadyOut
from authkit_flask._openapi import ApiResponse, api_operation
from authkit_flask._state import get_state

health_blueprint = Blueprint("authkit_health", __name__, url_prefix="/health")
logger = logging.getLogger("authkit_flask.health")


@health_blueprint.get("/live")
@api_operation(
    "GET",
    summary="Liveness: the process answers",
    tags=("operations",),
    responses={200: LiveOut},
    operation_id="health_live",
)
def live() -> Response:
    return jsonify({"status": "ok"})


@health_blueprint.get("/ready")
@api_operation(
    "GET",
    summary="Readiness: the database and every critical dependency answer",
    tags=("operations",),
    responses={
        200: ReadyOut,
        503: ApiResponse(description="A dependency failed; `checks` names it.", model=ReadyOut),
    },
    operation_id="health_ready",
)
def ready() -> tuple[Response, int]:
    state = get_state()
    results: dict[str, str] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, len(state.readiness_checks)))
    try:
        futures = {name: pool.submit(check) for name, check in state.readiness_checks.items()}
        for name, future in futures.items():
            try:
                future.result(timeout=state.readiness_timeout)
                results[name] = "ok"
            except FutureTimeout:
                results[name] = "timeout"
                logger.warning("readiness check timed out", extra={"check": name})
            except Exception as exc:  # a failing dependency, whatever it raises
                results[name] = "unavailable"
                logger.warning(
                    "readiness check failed",
                    extra={"check": name, "error": type(exc).__name__},
                )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    healthy = all(v == "ok" for v in results.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    return jsonify(body), 200 if healthy else 503


__all__ = ["health_blueprint"]
