"""``GET /admin/logs`` over HTTP: every parameter, every error, archives, odd lines.

The app reads two sources, ``auth`` (the core's audit log) and ``system`` (the JSON
log the ``system_log`` fixture writes, as an app's logging setup would).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import AuditLogger, Authkit

ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]


@pytest.fixture
def make_admin(
    kit: Authkit,
    signed_in: Callable[..., dict[str, Any]],
    login: Callable[..., TestResponse],
) -> Callable[[str], str]:
    """``make_admin(username)``: register, grant ``admin`` in the store, sign in: a token."""

    def call(username: str = "root") -> str:
        pair = signed_in(username)
        granted = kit.stores.users.set_roles(pair["user"]["id"], [*pair["user"]["roles"], "admin"])
        assert granted is not None
        token: str = login(username).get_json()["access_token"]
        return token

    return call


@pytest.fixture
def admin_headers(make_admin: Callable[[str], str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_admin('root')}"}


def get_logs(client: FlaskClient, headers: dict[str, str], query: str = "") -> TestResponse:
    return client.get(f"/admin/logs{query}", headers=headers)


def test_without_a_token_is_401(client: FlaskClient, expect_problem: ExpectProblem) -> None:
    response = client.get("/admin/logs")
    expect_problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_non_admin_is_403(
    client: FlaskClient, signed_in: Callable[..., dict[str, Any]], expect_problem: ExpectProblem
) -> None:
    token = signed_in("alice")["access_token"]
    response = get_logs(client, {"Authorization": f"Bearer {token}"})
    expect_problem(response, 403, "forbidden")


def test_defaults_are_the_auth_log_and_100_lines_oldest_first(
    client: FlaskClient,
    admin_headers: dict[str, str],
    audit: AuditLogger,
    read_log: Callable[[str], list[dict[str, Any]]],
) -> None:
    for n in range(150):
        audit.log("test.event", outcome="success", n=n)
    response = get_logs(client, admin_headers)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["meta"] == {"source": "auth", "limit": 100, "returned": 100}
    assert body["items"] == read_log("auth.jsonl")[-100:]
    assert [item["n"] for item in body["items"]] == list(range(50, 150))


@pytest.mark.parametrize("limit", [1, 7, 1000])
def test_limit_in_range_returns_at_most_that_many(
    client: FlaskClient, admin_headers: dict[str, str], audit: AuditLogger, limit: int
) -> None:
    for n in range(20):
        audit.log("test.event", outcome="success", n=n)
    body = get_logs(client, admin_headers, f"?limit={limit}").get_json()
    assert body["meta"]["limit"] == limit
    assert body["meta"]["returned"] == len(body["items"]) == min(limit, body["meta"]["returned"])
    assert body["items"][-1]["n"] == 19
    if limit <= 20:
        assert [item["n"] for item in body["items"]] == list(range(20 - limit, 20))


@pytest.mark.parametrize("value", ["0", "-1", "1001", "abc", "", "1.5", "99999999999999999999"])
def test_limit_out_of_range_or_not_a_number_is_422(
    client: FlaskClient, admin_headers: dict[str, str], expect_problem: ExpectProblem, value: str
) -> None:
    body = expect_problem(
        get_logs(client, admin_headers, f"?limit={value}"), 422, "validation_error"
    )
    assert [error["loc"] for error in body["errors"]] == [["query", "limit"]]
    assert all(isinstance(error["msg"], str) for error in body["errors"])


@pytest.mark.parametrize("value", ["nope", "AUTH", "", "../auth"])
def test_unknown_source_is_422(
    client: FlaskClient, admin_headers: dict[str, str], expect_problem: ExpectProblem, value: str
) -> None:
    body = expect_problem(
        get_logs(client, admin_headers, f"?source={value}"), 422, "validation_error"
    )
    assert [error["loc"] for error in body["errors"]] == [["query", "source"]]


def test_both_parameters_bad_report_both(
    client: FlaskClient, admin_headers: dict[str, str], expect_problem: ExpectProblem
) -> None:
    body = expect_problem(
        get_logs(client, admin_headers, "?limit=0&source=auth"), 422, "validation_error"
    )
    assert ["query", "limit"] in [error["loc"] for error in body["errors"]]


@pytest.mark.usefixtures("system_log")
def test_the_system_log(
    client: FlaskClient,
    admin_headers: dict[str, str],
    read_log: Callable[[str], list[dict[str, Any]]],
) -> None:
    get_logs(client, admin_headers)  # leaves access lines in the system log
    body = get_logs(client, admin_headers, "?source=system&limit=5").get_json()
    assert body["meta"] == {"source": "system", "limit": 5, "returned": len(body["items"])}
    assert 1 <= len(body["items"]) <= 5
    # This request's own access line is written after the view has read the log.
    assert body["items"] == read_log("system.jsonl")[-len(body["items"]) - 1 : -1]
    assert any(item.get("message") == "request" for item in body["items"])


def test_unparseable_lines_come_back_marked(
    client: FlaskClient, admin_headers: dict[str, str], audit_path: Path
) -> None:
    path = audit_path
    with path.open("ab") as handle:
        handle.write(b'{"event": "ok", "n": 1}\nnot json at all\n[1, 2]\n')
        handle.write(b'\xff\xfe\n{"event": "ok", "n": 2}\n')
    items = get_logs(client, admin_headers, "?limit=5").get_json()["items"]
    assert items[-5:] == [
        {"event": "ok", "n": 1},
        {"raw": "not json at all", "parse_error": True},
        {"raw": "[1, 2]", "parse_error": True},
        {"raw": "\ufffd\ufffd", "parse_error": True},
        {"event": "ok", "n": 2},
    ]


def test_right_after_a_rotation_the_archives_fill_the_page(
    client: FlaskClient, admin_headers: dict[str, str], audit: AuditLogger
) -> None:
    for n in range(30):
        audit.log("test.event", outcome="success", n=n)
    archive = audit.writer.rotate()
    assert archive is not None
    assert archive.name.endswith(".jsonl.gz")
    audit.log("test.event", outcome="success", n=30)
    items = get_logs(client, admin_headers, "?limit=10").get_json()["items"]
    assert [item["n"] for item in items] == list(range(21, 31))


def test_query_parameters_other_than_source_and_limit_are_ignored(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    response = get_logs(client, admin_headers, "?limit=2&unknown=1")
    assert response.status_code == 200
    assert response.get_json()["meta"]["limit"] == 2


def test_items_are_json_objects_in_a_json_response(
    client: FlaskClient, admin_headers: dict[str, str]
) -> None:
    response = get_logs(client, admin_headers, "?limit=3")
    assert response.mimetype == "application/json"
    assert all(isinstance(item, dict) for item in json.loads(response.get_data())["items"])
