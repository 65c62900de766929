"""``GET /openapi.json``: built from the routes' ``api_operation`` entries and the models.

The document must validate against the OpenAPI 3.1 meta-schema, cover every route
of the adapter but its HTML pages, static files and socket, and describe what the
endpoints really answer: the responses below are validated against the document's
own schemas, so a member added to a renderer without its model fails here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Blueprint, Flask, jsonify
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from pydantic import BaseModel
from werkzeug.test import TestResponse

from authkit import Authkit
from authkit.mail import MemoryMailer
from authkit_flask import (
    ApiResponse,
    OpenApiInfo,
    api_operation,
    openapi_coverage,
    openapi_document,
)

MakeApp = Callable[..., Flask]

NOT_JSON_ROUTES = {
    "GET /login",
    "GET /register",
    "GET /account",
    "GET /admin",
    "GET /reset-password",  # the emailed links' pages
    "GET /verify-email",
    "GET /confirm-email",
    "GET /admin/ws",
    "GET /static/authkit/<path:filename>",
    "GET /static/<path:filename>",  # Flask's own static route
}
"""HTML pages, static files and the WebSocket: outside the JSON API."""


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.get_json()
    return document


def _check(document: dict[str, Any], path: str, method: str, response: TestResponse) -> None:
    """``response`` conforms to the document: a declared status, its content type, its schema."""
    operation = document["paths"][path][method]
    declared = operation["responses"].get(str(response.status_code))
    assert declared is not None, f"{method} {path}: {response.status_code} is not declared"
    content = declared.get("content")
    if content is None:
        assert not response.data
        return
    assert response.mimetype in content, (response.mimetype, list(content))
    schema = {**content[response.mimetype]["schema"], "components": document["components"]}
    instance = response.get_json() if response.is_json else response.get_data(as_text=True)
    OAS31Validator(schema).validate(instance)


def test_the_document_validates_against_the_openapi_3_1_meta_schema(client: FlaskClient) -> None:
    document = _document(client)
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_it_is_public_and_cacheable(client: FlaskClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"].startswith("public")
    again = client.get("/openapi.json")
    assert again.headers["ETag"] == response.headers["ETag"]
    assert again.data == response.data


def test_every_route_but_pages_static_and_socket_is_documented(app: Flask) -> None:
    coverage = openapi_coverage(app)
    assert set(coverage.undocumented) == NOT_JSON_ROUTES
    assert coverage.unrouted == ()


def test_it_can_be_turned_off_or_titled(make_app: MakeApp) -> None:
    off = make_app(openapi=False)
    assert off.test_client().get("/openapi.json").status_code == 404
    titled = make_app(openapi=OpenApiInfo(title="Trips", version="9.1", description="Trips API"))
    info = titled.test_client().get("/openapi.json").get_json()["info"]
    assert info == {"title": "Trips", "version": "9.1", "description": "Trips API"}


def test_request_schemas_come_from_the_validating_models(client: FlaskClient) -> None:
    document = _document(client)
    body = document["paths"]["/auth/register"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"username", "email", "password"}
    assert schema["properties"]["password"]["maxLength"] == 1024
    params = {p["name"]: p for p in document["paths"]["/auth/users"]["get"]["parameters"]}
    assert params["page_size"]["schema"]["maximum"] == 100
    assert not params["q"]["required"]
    # An optional query parameter is absent, never null.
    assert "anyOf" not in params["is_active"]["schema"]


def test_statuses_implied_by_body_auth_and_path_are_declared(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    login = set(paths["/auth/login"]["post"]["responses"])
    assert {"400", "413", "422", "429", "503", "401"} <= login
    assert {"401", "403", "404"} <= set(paths["/auth/users/{user_id}"]["get"]["responses"])
    problem = paths["/auth/me"]["get"]["responses"]["401"]["content"]
    assert problem == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert paths["/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/health/live"]["get"]["security"] == []
    csrf = paths["/auth/browser/session/refresh"]["post"]["parameters"]
    assert csrf[0]["name"] == "X-Authkit-CSRF"
    assert csrf[0]["required"]
    metrics = paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(metrics) == ["text/plain"]


def test_security_schemes_include_bearer_and_the_refresh_cookie(client: FlaskClient) -> None:
    schemes = _document(client)["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["bearerAuth"]["description"],
    }
    assert schemes["refreshCookie"]["in"] == "cookie"
    assert schemes["refreshCookie"]["name"] == "authkit_refresh"


def test_the_stateful_links_name_real_operations(client: FlaskClient) -> None:
    document = _document(client)
    ids = {op["operationId"] for ops in document["paths"].values() for op in ops.values()}
    assert len(ids) == sum(len(ops) for ops in document["paths"].values())
    links = [
        link
        for ops in document["paths"].values()
        for op in ops.values()
        for response in op["responses"].values()
        for link in response.get("links", {}).values()
    ]
    assert {link["operationId"] for link in links} >= {"login", "refresh", "logout", "get_user"}
    assert {link["operationId"] for link in links} <= ids


def test_real_answers_conform_to_the_document(
    client: FlaskClient,
    signed_in: Callable[..., dict[str, Any]],
    register: Callable[..., TestResponse],
    login: Callable[..., TestResponse],
) -> None:
    document = _document(client)
    pair = signed_in("alice")
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    _check(document, "/auth/register", "post", register("bob"))
    _check(document, "/auth/register", "post", register("bob"))  # 409
    _check(document, "/auth/register", "post", register("carol", password="short"))  # 422
    _check(document, "/auth/login", "post", login("bob"))
    _check(document, "/auth/login", "post", login("bob", "wrong-password-here"))
    _check(document, "/auth/me", "get", client.get("/auth/me", headers=bearer))
    _check(document, "/auth/me", "get", client.get("/auth/me"))
    refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    _check(document, "/auth/refresh", "post", refreshed)
    _check(document, "/.well-known/jwks.json", "get", client.get("/.well-known/jwks.json"))
    _check(document, "/health/live", "get", client.get("/health/live"))
    _check(document, "/health/ready", "get", client.get("/health/ready"))
    _check(document, "/metrics", "get", client.get("/metrics"))
    _check(document, "/auth/users", "get", client.get("/auth/users", headers=bearer))  # 403
    setup = client.post("/auth/mfa/totp/setup", json={"password": "x" * 20}, headers=bearer)
    _check(document, "/auth/mfa/totp/setup", "post", setup)
    not_json = client.post("/auth/login", data="{", content_type="application/json")
    _check(document, "/auth/login", "post", not_json)


def test_admin_answers_conform_to_the_document(
    client: FlaskClient, signed_in: Callable[..., dict[str, Any]], app: Flask
) -> None:
    document = _document(client)
    pair = signed_in("root")
    state_kit = app.extensions["authkit"].kit
    state_kit.stores.users.set_roles(pair["user"]["id"], ("admin", "user"))
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    user_id = pair["user"]["id"]
    _check(document, "/auth/users", "get", client.get("/auth/users", headers=bearer))
    _check(document, "/auth/users", "get", client.get("/auth/users?page=0", headers=bearer))
    one = client.get(f"/auth/users/{user_id}", headers=bearer)
    _check(document, "/auth/users/{user_id}", "get", one)
    missing = client.get("/auth/users/nobody", headers=bearer)
    _check(document, "/auth/users/{user_id}", "get", missing)
    bulk = client.post(
        "/auth/users/bulk", json={"action": "activate", "ids": [user_id, "x"]}, headers=bearer
    )
    _check(document, "/auth/users/bulk", "post", bulk)
    logs = client.get("/admin/logs?limit=5", headers=bearer)
    _check(document, "/admin/logs", "get", logs)
    reset = client.delete(f"/auth/users/{user_id}/mfa", headers=bearer)
    _check(document, "/auth/users/{user_id}/mfa", "delete", reset)


def _link_token(kit: Authkit, kind: str) -> str:
    assert kit.mail.flush(10)
    assert isinstance(kit.mailer, MemoryMailer)
    sent = [m for m in kit.mailer.sent if m.kind == kind]
    assert sent, kind
    found = re.search(r"#token=([A-Za-z0-9_-]+)", sent[-1].text)
    assert found is not None
    return found.group(1)


def test_account_answers_conform_to_the_document(
    client: FlaskClient,
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    register: Callable[..., TestResponse],
) -> None:
    """The emailed-link flows, deletion and the user's ``email_verified`` (issue 15)."""
    document = _document(client)
    pair = signed_in("alice")
    register("bob")
    bearer = {"Authorization": f"Bearer {pair['access_token']}"}
    password = "violet-harbour-7-lanterns"

    def check(path: str, method: str, response: TestResponse, status: int) -> None:
        assert response.status_code == status, response.get_data(as_text=True)
        _check(document, path, method, response)

    check("/auth/me", "get", client.get("/auth/me", headers=bearer), 200)
    verify_request = client.post("/auth/email/verify/request", headers=bearer)
    check("/auth/email/verify/request", "post", verify_request, 202)
    check("/auth/email/verify/request", "post", client.post("/auth/email/verify/request"), 401)
    dead = client.post("/auth/email/verify", json={"token": "no-such-link"})
    check("/auth/email/verify", "post", dead, 400)
    token = _link_token(kit, "verify_email")
    check(
        "/auth/email/verify", "post", client.post("/auth/email/verify", json={"token": token}), 200
    )
    forgot = client.post("/auth/password/forgot", json={"email": "nobody@example.com"})
    check("/auth/password/forgot", "post", forgot, 202)
    reset = {"token": "no-such-link", "new_password": "copper-meadow-4-kestrels"}
    check("/auth/password/reset", "post", client.post("/auth/password/reset", json=reset), 400)
    change = {"password": password, "new_email": "bob@example.com"}
    taken = client.post("/auth/email/change", json=change, headers=bearer)
    check("/auth/email/change", "post", taken, 409)
    wrong = client.post(
        "/auth/email/change", json={**change, "password": "not-it-at-all"}, headers=bearer
    )
    check("/auth/email/change", "post", wrong, 401)
    change["new_email"] = "alice2@example.com"
    check(
        "/auth/email/change",
        "post",
        client.post("/auth/email/change", json=change, headers=bearer),
        202,
    )
    token = _link_token(kit, "email_change_confirm")
    confirm = client.post("/auth/email/change/confirm", json={"token": token})
    check("/auth/email/change/confirm", "post", confirm, 200)
    again = client.post("/auth/email/change/confirm", json={"token": token})
    check("/auth/email/change/confirm", "post", again, 400)
    check("/auth/me", "delete", client.delete("/auth/me", json={}, headers=bearer), 422)
    check(
        "/auth/me",
        "delete",
        client.delete("/auth/me", json={"password": password}, headers=bearer),
        204,
    )


def test_admin_delete_answers_conform_to_the_document(
    client: FlaskClient, signed_in: Callable[..., dict[str, Any]], app: Flask
) -> None:
    document = _document(client)
    root = signed_in("root")
    app.extensions["authkit"].kit.stores.users.set_roles(root["user"]["id"], ("admin", "user"))
    bearer = {"Authorization": f"Bearer {root['access_token']}"}
    bob = signed_in("bob")
    path = "/auth/users/{user_id}"
    gone = client.delete(f"/auth/users/{bob['user']['id']}", headers=bearer)
    assert gone.status_code == 204
    _check(document, path, "delete", gone)
    missing = client.delete(f"/auth/users/{bob['user']['id']}", headers=bearer)
    assert missing.status_code == 404
    _check(document, path, "delete", missing)
    last = client.delete(f"/auth/users/{root['user']['id']}", headers=bearer)
    assert last.status_code == 409
    _check(document, path, "delete", last)
    anonymous = client.delete(f"/auth/users/{root['user']['id']}")
    assert anonymous.status_code == 401
    _check(document, path, "delete", anonymous)


class _Thing(BaseModel):
    name: str


def test_an_app_documents_its_own_routes_with_the_same_decorator(make_app: MakeApp) -> None:
    app = make_app()
    blueprint = Blueprint("things", __name__)

    @blueprint.get("/api/things/<thing_id>")
    @api_operation("GET", summary="A thing", tags=("things",), responses={200: _Thing})
    def thing(thing_id: str) -> Any:
        return jsonify({"name": thing_id})

    app.register_blueprint(blueprint)
    document = openapi_document(app, title="t", version="1")
    operation = document["paths"]["/api/things/{thing_id}"]["get"]
    assert operation["parameters"][0]["name"] == "thing_id"
    assert "404" in operation["responses"]
    assert "_Thing" in document["components"]["schemas"]
    validate(document)


def test_a_route_without_an_entry_and_an_entry_without_a_route_are_reported(
    make_app: MakeApp,
) -> None:
    app = make_app()

    @app.get("/api/plain")
    def plain() -> Any:
        return jsonify({})

    @app.route("/api/wrong", methods=["GET"])
    @api_operation("POST", summary="Says POST, routed GET", tags=("x",), responses={204: "ok"})
    def wrong() -> Any:
        return jsonify({})

    coverage = openapi_coverage(app)
    assert "GET /api/plain" in coverage.undocumented
    assert "GET /api/wrong" in coverage.undocumented
    assert coverage.unrouted == ("POST /api/wrong",)


def test_documenting_one_method_twice_is_an_error() -> None:
    def view() -> None:
        return None

    api_operation("GET", summary="a", tags=(), responses={204: "ok"})(view)
    with pytest.raises(ValueError, match="documented twice"):
        api_operation("GET", summary="b", tags=(), responses={204: "ok"})(view)


def test_a_non_json_answer_is_documented_with_its_media_type(make_app: MakeApp) -> None:
    app = make_app()

    @app.get("/api/text")
    @api_operation(
        "GET",
        summary="Text",
        tags=("x",),
        responses={200: ApiResponse(description="t", media_type="text/csv", schema={})},
    )
    def text() -> str:
        return "a,b"

    operation = openapi_document(app, title="t", version="1")["paths"]["/api/text"]["get"]
    assert operation["responses"]["200"]["content"] == {"text/csv": {"schema": {}}}


def test_a_throttled_operation_with_its_storage_down_answers_a_declared_503(
    make_app: MakeApp,
) -> None:
    app = make_app(rate_limits="redis://127.0.0.1:1/0")  # nothing listens on port 1
    client = app.test_client()
    document = _document(client)
    response = client.post("/auth/login", json={"username": "alice", "password": "x" * 20})
    assert response.status_code == 503
    _check(document, "/auth/login", "post", response)
