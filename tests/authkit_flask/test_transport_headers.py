"""Caching and transport headers (security probe, finding 11; API.md "Conventions").

Every answer to an authenticated request is that user's personal data: no shared
cache may keep it. A request that arrived over HTTPS, directly or per
``X-Forwarded-Proto`` from a trusted proxy, gets HSTS; a forged header from an
untrusted client never does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authkit import Authkit

SignedIn = Callable[..., dict[str, Any]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(signed_in: SignedIn, kit: Authkit) -> dict[str, str]:
    pair = signed_in("root")
    kit.stores.users.set_roles(pair["user"]["id"], ["admin", "user"])
    return bearer(pair["access_token"])


@pytest.mark.parametrize(
    "path", ["/auth/me", "/auth/users", "/auth/users?q=root", "/admin/logs?source=auth"]
)
def test_personal_data_is_never_stored_by_a_cache(
    client: FlaskClient, admin: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=admin)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


def test_public_answers_keep_their_own_caching(client: FlaskClient) -> None:
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.headers["Cache-Control"].startswith("public, max-age=")
    assert "no-store" not in client.get("/health/live").headers.get("Cache-Control", "")


def test_hsts_over_https_only(client: FlaskClient) -> None:
    assert "Strict-Transport-Security" not in client.get("/health/live").headers
    secure = client.get("/health/live", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_hsts_behind_a_trusted_proxy_and_never_for_a_forged_header(
    make_app: Callable[..., Flask],
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = make_app().test_client().get("/health/live", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers, "no proxy is trusted"
    proxied = make_app(trusted_proxies=1).test_client().get("/health/live", headers=forwarded)
    assert proxied.headers["Strict-Transport-Security"].startswith("max-age=")
