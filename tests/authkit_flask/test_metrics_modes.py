"""``GET /metrics`` in its three modes (API.md, Operations): off, public, token.

Also the exposition's ``Content-Type``, which once carried ``charset=utf-8`` twice
(Flask appended its own charset to prometheus_client's full content type).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import CONTENT_TYPE_LATEST

from authkit_flask import PROBLEM_CONTENT_TYPE

MakeApp = Callable[..., Flask]

TOKEN = "metrics-scrape-token-7f3a9c"


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert (body["code"], body["status"]) == (code, status)
    assert body["type"] == f"urn:authkit:error:{code}"
    return body


def scrape(client: FlaskClient, authorization: str | None = None) -> Any:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return client.get("/metrics", headers=headers)


def test_the_content_type_names_its_charset_once(make_app: MakeApp) -> None:
    """Regression: ``text/plain; version=1.0.0; charset=utf-8; charset=utf-8`` was sent."""
    response = scrape(make_app(metrics_mode="public").test_client())
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type == CONTENT_TYPE_LATEST
    assert content_type.lower().count("charset") == 1
    assert "authkit_requests_total" in response.get_data(as_text=True)


def test_off_answers_404_as_a_problem_and_reveals_nothing(make_app: MakeApp) -> None:
    client = make_app(metrics_mode="off").test_client()
    client.get("/health/live")  # something to count, were it exposed
    for authorization in (None, f"Bearer {TOKEN}"):
        response = scrape(client, authorization)
        body = problem(response, 404, "not_found")
        assert "authkit_" not in response.get_data(as_text=True)
        assert body["detail"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Bearer wrong-token",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN[:-1]}",
        f"Basic {TOKEN}",
        TOKEN,
    ],
    ids=[
        "no-header",
        "empty",
        "scheme-only",
        "scheme-and-space",
        "wrong",
        "longer",
        "prefix",
        "other-scheme",
        "no-scheme",
    ],
)
def test_token_mode_refuses_a_missing_or_wrong_token(
    make_app: MakeApp, authorization: str | None
) -> None:
    client = make_app(metrics_mode="token", metrics_token=TOKEN).test_client()
    response = scrape(client, authorization)
    problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "authkit_" not in response.get_data(as_text=True)
    assert TOKEN not in response.get_data(as_text=True)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_token_mode_serves_the_exposition_for_the_right_token(
    make_app: MakeApp, scheme: str
) -> None:
    client = make_app(metrics_mode="token", metrics_token=TOKEN).test_client()
    response = scrape(client, f"{scheme} {TOKEN}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert "authkit_requests_total" in response.get_data(as_text=True)


def test_token_mode_compares_in_constant_time(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The presented token is checked with ``hmac.compare_digest``, never ``==``."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    client = make_app(metrics_mode="token", metrics_token=TOKEN).test_client()
    assert scrape(client, "Bearer guess").status_code == 401
    assert scrape(client, f"Bearer {TOKEN}").status_code == 200
    assert (b"guess", TOKEN.encode()) in calls
    assert (TOKEN.encode(), TOKEN.encode()) in calls


@pytest.mark.parametrize("token", [None, ""])
def test_token_mode_without_a_token_is_refused_at_startup(
    make_app: MakeApp, token: str | None
) -> None:
    with pytest.raises(ValueError, match="metrics token"):
        make_app(metrics_mode="token", metrics_token=token)


def test_the_default_mode_is_public(app: Flask) -> None:
    assert scrape(app.test_client()).status_code == 200
