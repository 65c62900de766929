"""Blueprints for the HTTP contract."""

from authkit_flask.blueprints.auth import auth_blueprint
from authkit_flask.blueprints.health import health_blueprint
from authkit_flask.blueprints.jwks import jwks_blueprint
from authkit_flask.blueprints.mfa import mfa_blueprint

__all__ = ["auth_blueprint", "health_blueprint", "jwks_blueprint", "mfa_blueprint"]
