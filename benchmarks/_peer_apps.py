"""The contestants of ``compare_peers.py``: one ``GET /me`` per library, same answer shape.

Each factory builds a Flask app whose ``/me`` authenticates the request the way
that library does and answers the caller as JSON. Everything a contestant needs
(the SQLite files, the EdDSA key, the authkit instance folder) lives in one
folder, so the parent process and every gunicorn worker build the same app and a
token issued in the parent is valid in all of them. ``headers(name, folder)``
gives the request headers of a signed-in user.

The peers (Flask-JWT-Extended, Flask-Security-Too, Flask-SQLAlchemy) are the
``peers`` dependency group: ``uv run --group peers``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, jsonify

View = Callable[..., Any]
Decorator = Callable[[View], View]

NAMES = (
    "bare_flask",
    "fje_hs256",
    "fje_eddsa",
    "fje_hs256_user",
    "fje_eddsa_user",
    "fst_token",
    "authkit",
)
LABELS = {
    "bare_flask": "bare Flask `jsonify`",
    "fje_hs256": "Flask-JWT-Extended HS256",
    "fje_eddsa": "Flask-JWT-Extended EdDSA",
    "fje_hs256_user": "Flask-JWT-Extended HS256 + SQLAlchemy user lookup",
    "fje_eddsa_user": "Flask-JWT-Extended EdDSA + SQLAlchemy user lookup",
    "fst_token": "Flask-Security-Too token (SQLite user lookup)",
    "authkit": "**authkit reference app `/auth/me`**",
}
PATHS = dict.fromkeys(NAMES, "/me") | {"authkit": "/auth/me"}
_HS_SECRET = "compare-peers-hs256-secret-" + "x" * 40
_USER_ID = "00000000-0000-4000-8000-000000000001"
FOLDER_VARIABLE = "AUTHKIT_PEERS_FOLDER"


def create(name: str, folder: Path | None = None) -> Flask:
    """The app of contestant ``name`` (``folder`` defaults to ``$AUTHKIT_PEERS_FOLDER``)."""
    folder = folder or Path(os.environ[FOLDER_VARIABLE])
    folder.mkdir(parents=True, exist_ok=True)
    if name == "bare_flask":
        return _bare()
    if name.startswith("fje_"):
        return _fje(folder, eddsa="eddsa" in name, lookup=name.endswith("_user"))
    if name == "fst_token":
        return _fst(folder)
    if name == "authkit":
        return _authkit(folder)
    raise ValueError(f"unknown contestant {name!r}")


def headers(name: str, app: Flask, folder: Path) -> dict[str, str]:
    """Headers of an authenticated ``GET /me`` for ``app`` (built by ``create``)."""
    if name == "bare_flask":
        return {}
    if name.startswith("fje_"):
        from flask_jwt_extended import create_access_token

        with app.app_context():
            token = create_access_token(identity=_USER_ID)
        return {"Authorization": f"Bearer {token}"}
    if name == "fst_token":
        with app.test_client() as client:
            response = client.post(
                "/login?include_auth_token",
                json={"email": "bench@example.com", "password": "violet marmalade drifts"},
            )
            token = response.get_json()["response"]["user"]["authentication_token"]
        return {"Authentication-Token": token}
    if name == "authkit":
        token = json.loads((folder / "authkit" / "bench-token.json").read_text())["access_token"]
        return {"Authorization": f"Bearer {token}"}
    raise ValueError(f"unknown contestant {name!r}")


def _bare() -> Flask:
    app = Flask("bare_flask")

    @app.get("/me")
    def me() -> Any:
        return jsonify({"id": _USER_ID, "username": "bench"})

    return app


def _eddsa_keys(folder: Path) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = folder / "eddsa.pem"
    if not path.exists():
        pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.write_bytes(pem)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path.read_bytes(), public


def _fje(folder: Path, *, eddsa: bool, lookup: bool) -> Flask:
    from flask_jwt_extended import JWTManager, current_user, get_jwt_identity, jwt_required
    from flask_sqlalchemy import SQLAlchemy

    app = Flask("fje")
    if eddsa:
        private, public = _eddsa_keys(folder)
        app.config.update(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=private, JWT_PUBLIC_KEY=public)
    else:
        app.config["JWT_SECRET_KEY"] = _HS_SECRET
    jwt = JWTManager(app)
    required: Decorator = jwt_required()
    if not lookup:

        @app.get("/me")
        @required
        def me() -> Any:
            return jsonify({"id": get_jwt_identity()})

        return app

    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder / 'fje.db'}"
    db = SQLAlchemy(app)

    class User(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = "users"
        id = db.Column(db.String(36), primary_key=True)
        username = db.Column(db.String(150), nullable=False)
        is_active = db.Column(db.Boolean, nullable=False)

    with app.app_context():
        db.create_all()
        if db.session.get(User, _USER_ID) is None:
            db.session.add(User(id=_USER_ID, username="bench", is_active=True))
            db.session.commit()

    lookup_loader: Decorator = jwt.user_lookup_loader

    @lookup_loader
    def load_user(_header: dict[str, Any], data: dict[str, Any]) -> Any:
        user = db.session.get(User, data["sub"])
        return user if user is not None and user.is_active else None

    @app.get("/me")
    @required
    def me_user() -> Any:
        return jsonify({"id": current_user.id, "username": current_user.username})

    return app


def _fst(folder: Path) -> Flask:
    from flask_security import (
        Security,
        SQLAlchemyUserDatastore,
        auth_token_required,
        current_user,
        hash_password,
    )
    from flask_security.models import fsqla_v3 as fsqla
    from flask_sqlalchemy import SQLAlchemy

    app = Flask("fst")
    app.config.update(
        SECRET_KEY="compare-peers-fst-secret-" + "y" * 40,
        SECURITY_PASSWORD_SALT="compare-peers-fst-salt",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{folder / 'fst.db'}",
        WTF_CSRF_ENABLED=False,
        SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS=True,
    )
    db = SQLAlchemy(app)
    fsqla.FsModels.set_db_info(db)

    class Role(db.Model, fsqla.FsRoleMixin):  # type: ignore[name-defined,misc]
        pass

    class User(db.Model, fsqla.FsUserMixin):  # type: ignore[name-defined,misc]
        pass

    datastore = SQLAlchemyUserDatastore(db, User, Role)
    Security(app, datastore)
    with app.app_context():
        db.create_all()
        if datastore.find_user(email="bench@example.com") is None:
            datastore.create_user(
                email="bench@example.com", password=hash_password("violet marmalade drifts")
            )
            db.session.commit()

    token_required: Decorator = auth_token_required

    @app.get("/me")
    @token_required
    def me() -> Any:
        return jsonify({"id": current_user.fs_uniquifier, "email": current_user.email})

    return app


def _authkit(folder: Path) -> Flask:
    """The reference app on production settings (``_reference``), signed in once."""
    from _reference import build, prod_environment

    instance = folder / "authkit"
    marker = instance / "bench-token.json"
    if not marker.exists():
        reference = build(folder=instance)
        marker.write_text(json.dumps({"access_token": reference.access_token}))
        app: Flask = reference.app
        return app
    os.environ.update(prod_environment(instance))
    from flight_app.app import create_app

    built: Flask = create_app()
    return built


def wsgi(name: str) -> Flask:
    """gunicorn's entry: ``_peer_apps:wsgi('fje_hs256')`` with ``$AUTHKIT_PEERS_FOLDER`` set."""
    return create(name)


__all__ = ["FOLDER_VARIABLE", "LABELS", "NAMES", "PATHS", "create", "headers", "wsgi"]
