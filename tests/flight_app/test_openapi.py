"""The reference app's OpenAPI document: complete, valid, and the docs' copy fresh.

A route of the app without an ``api_operation`` entry (or an entry whose method
its route does not serve) fails here; only the HTML pages, static files and the
admin socket are outside the JSON API, by this explicit list.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from flight_app.app import OPENAPI_INFO

ROOT = Path(__file__).resolve().parents[2]

NOT_JSON_ROUTES = {
    "GET /",  # the flight search page
    "GET /login",
    "GET /register",
    "GET /account",
    "GET /admin",
    "GET /reset-password",  # the emailed links' pages (they post to the JSON endpoints)
    "GET /verify-email",
    "GET /confirm-email",
    "GET /admin/ws",  # WebSocket (docs/http-api.md documents it)
    "GET /static/<path:filename>",
    "GET /static/authkit/<path:filename>",
}

JSON_OPERATIONS = {
    "GET /.well-known/jwks.json",
    "GET /admin/logs",
    "GET /api/airports",
    "GET /api/flights/search",
    "POST /auth/browser/login",
    "POST /auth/browser/session/logout",
    "POST /auth/browser/session/refresh",
    "POST /auth/browser/totp-qr",
    "POST /auth/login",
    "POST /auth/logout",
    "POST /auth/logout-all",
    "GET /auth/me",
    "DELETE /auth/me",
    "POST /auth/email/verify/request",
    "POST /auth/email/verify",
    "POST /auth/email/change",
    "POST /auth/email/change/confirm",
    "POST /auth/password/forgot",
    "POST /auth/password/reset",
    "POST /auth/mfa/totp/disable",
    "POST /auth/mfa/totp/enable",
    "POST /auth/mfa/totp/setup",
    "POST /auth/password",
    "POST /auth/refresh",
    "POST /auth/register",
    "GET /auth/users",
    "POST /auth/users/bulk",
    "GET /auth/users/{user_id}",
    "PATCH /auth/users/{user_id}",
    "DELETE /auth/users/{user_id}",
    "DELETE /auth/users/{user_id}/mfa",
    "GET /health/live",
    "GET /health/ready",
    "GET /metrics",
    "GET /openapi.json",
}
"""Every JSON endpoint of the contract this tree serves (shared/API.md)."""


def _docs_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "openapi_docs", ROOT / "scripts" / "openapi_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.get_json()
    return body


def test_every_route_has_an_entry_and_every_entry_a_route(app: Flask) -> None:
    from authkit_flask import openapi_coverage

    coverage = openapi_coverage(app)
    assert set(coverage.undocumented) == NOT_JSON_ROUTES
    assert coverage.unrouted == ()


def test_it_covers_every_json_endpoint_of_the_contract(document: dict[str, Any]) -> None:
    operations = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
    }
    assert operations == JSON_OPERATIONS


def test_it_validates_against_the_openapi_3_1_meta_schema(document: dict[str, Any]) -> None:
    validate(document)
    assert document["info"]["title"] == OPENAPI_INFO.title


def test_the_flight_search_documents_its_parameters_and_503(document: dict[str, Any]) -> None:
    search = document["paths"]["/api/flights/search"]["get"]
    names = [parameter["name"] for parameter in search["parameters"]]
    assert names == ["origin", "destination", "depart", "return", "adults"]
    adults = search["parameters"][-1]["schema"]
    assert adults["pattern"] == "^[1-9]$"  # the rule validate() applies, stated for clients
    assert {"200", "401", "422", "503"} <= set(search["responses"])
    assert "Retry-After" in search["responses"]["503"]["headers"]
    meta = document["components"]["schemas"]["SearchMeta"]
    assert "return" in meta["properties"]


def test_the_docs_copy_and_its_page_are_fresh(document: dict[str, Any]) -> None:
    """``docs/openapi.json`` and ``docs/http-openapi.md`` are what the app serves now;
    refresh them with ``scripts/openapi_docs.py``."""
    text, page = _docs_script().render(document)
    stored = ROOT / "docs" / "openapi.json"
    assert json.loads(stored.read_text()) == document, "run scripts/openapi_docs.py"
    assert stored.read_text() == text, "run scripts/openapi_docs.py"
    assert (ROOT / "docs" / "http-openapi.md").read_text() == page, "run scripts/openapi_docs.py"
