"""Blueprints for the HTTP contract."""

from authkit_flask._blueprints.auth import auth_blueprint
from authkit_flask._blueprints.health import health_blueprint
from authkit_flask._blueprints.jwks import jwks_blueprint
from authkit_flask._blueprints.mfa import mfa_blueprint

__all__ = ["auth_blueprint", "health_blueprint", "jwks_blueprint", "mfa_blueprint"]
