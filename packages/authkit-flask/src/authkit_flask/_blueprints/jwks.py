"""``/.well-known/jwks.json``: the public keys of the ring (RFC 7517)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from authkit_flask._api_models import JwksOut
from authkit_flask._openapi import api_operation
from authkit_flask._state import get_state

jwks_blueprint = Blueprint("authkit_jwks", __name__)


@jwks_blueprint.get("/.well-known/jwks.json")
@api_operation(
    "GET",
    summary="The public keys that verify access tokens (JWK Set)",
    tags=("auth",),
    responses={200: JwksOut},
    operation_id="jwks",
)
def jwks() -> Response:
    state = get_state()
    response = jsonify(state.kit.keys.jwks())
    response.headers["Cache-Control"] = f"public, max-age={state.jwks_max_age}"
    return response


__all__ = ["jwks_blueprint"]
