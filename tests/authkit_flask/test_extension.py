"""The Flask adapter on its own: a tiny app wired to a core built on memory stores.

No ``flight_app`` here: whatever the reference app adds, the extension, its
decorators, its problem+json helper, its request ids and its log format have to
work for any Flask app.
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from authkit import Authkit, AuthkitConfig, build
from authkit.audit import JsonLineFormatter
from authkit_flask import (
    PROBLEM_CONTENT_TYPE,
    AuthKit,
    TraceIdFilter,
    current_principal,
    current_trace_id,
    get_state,
    login_required,
    problem,
    roles_required,
)
from authkit_flask._request_context import bind_trace_id, reset_trace_id, resolve_ids

PASSWORD = "violet-harbour-7-lanterns"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"

MakeApp = Callable[..., Flask]


@login_required
def whoami() -> dict[str, Any]:
    """Any signed-in user."""
    return {"username": current_principal().user.username}


@roles_required("admin")
def admin_report() -> dict[str, Any]:
    """Only for admins."""
    return {"report": "ok", "roles": list(current_principal().user.roles)}


@roles_required("admin", "auditor")
def audit_report() -> dict[str, Any]:
    return {"report": "audit"}


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    """An app of the extension's routes and a few of its own, using the decorators."""
    app = make_app()
    app.add_url_rule("/whoami", view_func=whoami)
    app.add_url_rule("/admin-report", view_func=admin_report)
    app.add_url_rule("/audit-report", view_func=audit_report)

    @app.get("/page")
    def page() -> str:
        return "<p>hello</p>"

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("internal detail that must not leak")

    @app.get("/logs")
    def logs() -> dict[str, Any]:
        logging.getLogger("adapter_test.view").info("inside the view", extra={"answer": 42})
        return {"trace_id": current_trace_id()}

    return app


@pytest.fixture
def bare_kit(config: AuthkitConfig, tmp_path: Path) -> Iterator[Authkit]:
    """A core of its own (memory stores, memory keys) for apps the test wires by hand."""
    with build(config, audit=tmp_path / "bare" / "auth.jsonl") as kit:
        yield kit


def access_token(kit: Authkit, username: str, roles: tuple[str, ...] = ("user",)) -> str:
    kit.auth.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, roles=roles
    )
    pair = kit.auth.login(identifier=username, password=PASSWORD, address="192.0.2.1")
    return pair.access_token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem_body(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    body: dict[str, Any] = json.loads(response.get_data(as_text=True))
    assert body["type"] == f"urn:authkit:error:{code}"
    assert body["code"] == code
    assert body["status"] == status
    return body


# -- registration ---------------------------------------------------------------------


def test_registering_the_extension_twice_raises_runtime_error(app: Flask, kit: Authkit) -> None:
    with pytest.raises(RuntimeError, match="already registered"):
        AuthKit(app, kit)
    with pytest.raises(RuntimeError):
        AuthKit().init_app(app, kit)


def test_an_app_without_a_core_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="kit"):
        AuthKit(Flask("no_core"))


def test_init_app_keeps_state_in_app_extensions(bare_kit: Authkit) -> None:
    app = Flask("late_init")
    extension = AuthKit()
    extension.init_app(app, bare_kit, max_content_length=2048)
    assert get_state(app).kit is bare_kit
    assert app.config["MAX_CONTENT_LENGTH"] == 2048
    assert not hasattr(extension, "app")


def test_one_extension_object_serves_several_apps(bare_kit: Authkit) -> None:
    extension = AuthKit()
    first, second = Flask("first"), Flask("second")
    extension.init_app(first, bare_kit)
    extension.init_app(second, bare_kit, max_content_length=4096)
    assert get_state(first).kit is get_state(second).kit is bare_kit
    assert first.config["MAX_CONTENT_LENGTH"] == 1024 * 1024
    assert second.config["MAX_CONTENT_LENGTH"] == 4096


def test_get_state_of_an_app_without_the_extension_raises() -> None:
    with pytest.raises(RuntimeError, match="not initialised"):
        get_state(Flask("bare"))


def test_the_blueprints_of_the_contract_are_registered(app: Flask) -> None:
    rules = {rule.rule for rule in app.url_map.iter_rules()}
    assert {
        "/auth/register",
        "/auth/login",
        "/auth/refresh",
        "/auth/logout",
        "/auth/logout-all",
        "/auth/me",
        "/auth/password",
        "/health/live",
        "/health/ready",
        "/.well-known/jwks.json",
    } <= rules


# -- decorators -----------------------------------------------------------------------


def test_login_required_refuses_a_request_without_a_token(app: Flask) -> None:
    response = app.test_client().get("/whoami")
    problem_body(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_login_required_serves_a_valid_token(app: Flask, kit: Authkit) -> None:
    token = access_token(kit, "carol")
    response = app.test_client().get("/whoami", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"username": "carol"}


def test_roles_required_gives_403_forbidden_without_the_role(app: Flask, kit: Authkit) -> None:
    token = access_token(kit, "carol")
    response = app.test_client().get("/admin-report", headers=bearer(token))
    problem_body(response, 403, "forbidden")
    assert "WWW-Authenticate" not in response.headers


def test_roles_required_serves_a_user_with_the_role(app: Flask, kit: Authkit) -> None:
    token = access_token(kit, "root", roles=("admin", "user"))
    response = app.test_client().get("/admin-report", headers=bearer(token))
    assert response.status_code == 200
    assert response.get_json() == {"report": "ok", "roles": ["admin", "user"]}


def test_roles_required_needs_every_listed_role(app: Flask, kit: Authkit) -> None:
    token = access_token(kit, "root", roles=("admin", "user"))
    response = app.test_client().get("/audit-report", headers=bearer(token))
    problem_body(response, 403, "forbidden")


def test_roles_required_without_a_token_gives_401_not_403(app: Flask) -> None:
    response = app.test_client().get("/admin-report")
    problem_body(response, 401, "invalid_token")


def test_decorated_views_keep_their_name_and_docstring() -> None:
    assert whoami.__name__ == "whoami"
    assert admin_report.__name__ == "admin_report"
    assert admin_report.__doc__ == "Only for admins."
    assert audit_report.__name__ == "audit_report"


def test_decorated_views_get_their_own_endpoints(app: Flask) -> None:
    endpoints = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints["/whoami"] == "whoami"
    assert endpoints["/admin-report"] == "admin_report"
    assert endpoints["/audit-report"] == "audit_report"


# -- problem details ------------------------------------------------------------------


@pytest.fixture
def bound_trace() -> Iterator[str]:
    token = bind_trace_id("trace-unit-1")
    yield "trace-unit-1"
    reset_trace_id(token)


def test_problem_builds_an_rfc9457_body(app: Flask, bound_trace: str) -> None:
    with app.test_request_context():
        response = problem("conflict", "That name is taken.")
    assert response.status_code == 409
    assert response.mimetype == PROBLEM_CONTENT_TYPE
    assert json.loads(response.get_data(as_text=True)) == {
        "type": "urn:authkit:error:conflict",
        "title": "Conflict",
        "status": 409,
        "detail": "That name is taken.",
        "code": "conflict",
        "trace_id": bound_trace,
    }


def test_problem_extra_members_never_override_the_standard_ones(
    app: Flask, bound_trace: str
) -> None:
    with app.test_request_context():
        response = problem(
            "validation_error",
            "Bad fields.",
            extra={"errors": [{"loc": ["body"], "msg": "x"}], "code": "other", "status": 200},
        )
    body = json.loads(response.get_data(as_text=True))
    assert body["errors"] == [{"loc": ["body"], "msg": "x"}]
    assert body["code"] == "validation_error"
    assert body["status"] == 422


def test_problem_status_override_headers_and_unknown_codes(app: Flask, bound_trace: str) -> None:
    with app.test_request_context():
        custom = problem("invalid_request", "Odd.", status=418, headers={"X-Extra": "1"})
        unknown = problem("no_such_code", "Hm.")
    assert custom.status_code == 418
    assert custom.headers["X-Extra"] == "1"
    assert json.loads(custom.get_data(as_text=True))["title"]
    assert unknown.status_code == 500


def test_problem_adds_retry_after_and_www_authenticate(app: Flask, bound_trace: str) -> None:
    with app.test_request_context():
        throttled = problem("too_many_attempts", "Slow down.", extra={"retry_after": 17})
        unauthenticated = problem("invalid_token", "No.")
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "17"
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unexpected_error_gives_500_without_its_message(app: Flask) -> None:
    response = app.test_client().get("/boom")
    body = problem_body(response, 500, "internal_error")
    assert "internal detail" not in response.get_data(as_text=True)
    assert body["trace_id"] == response.headers["X-Request-ID"]


def test_core_errors_from_the_blueprints_are_problems(app: Flask, kit: Authkit) -> None:
    access_token(kit, "carol")
    response = app.test_client().post(
        "/auth/login", json={"username": "carol", "password": "not-the-password"}
    )
    problem_body(response, 401, "invalid_credentials")


# -- headers and health ---------------------------------------------------------------


def test_security_headers_and_a_csp_on_html(app: Flask) -> None:
    client = app.test_client()
    html = client.get("/page")
    assert html.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in html.headers["Content-Security-Policy"]
    data = client.get("/health/live")
    assert data.headers["X-Content-Type-Options"] == "nosniff"
    assert data.headers["X-Request-ID"]


def test_readiness_names_the_failing_and_the_hung_checks(bare_kit: Authkit) -> None:
    """Checks given to the extension join (and may replace) the built-in ones."""
    release = threading.Event()

    def failing() -> None:
        raise ConnectionError("down")

    def hung() -> None:
        release.wait(5)

    app = Flask("readiness")
    AuthKit(
        app,
        bare_kit,
        readiness_checks={"database": lambda: None, "cache": failing, "queue": hung},
    )
    get_state(app).readiness_timeout = 0.2
    try:
        response = app.test_client().get("/health/ready")
    finally:
        release.set()
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "cache": "unavailable", "queue": "timeout"},
    }


def test_in_process_rate_limits_are_no_readiness_check(client: FlaskClient) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok"}}


@pytest.mark.redis
def test_shared_rate_limits_are_a_readiness_check(make_app: MakeApp, redis_url: str) -> None:
    response = make_app(rate_limits=redis_url).test_client().get("/health/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "ratelimit": "ok"}}


def test_unreachable_rate_limit_storage_makes_the_app_unready(make_app: MakeApp) -> None:
    app = make_app(rate_limits="redis://127.0.0.1:1/0")
    get_state(app).readiness_timeout = 5.0
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["ratelimit"] != "ok"


# -- request ids ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_id", "traceparent", "expected"),
    [
        pytest.param("abc", None, ("abc", "abc"), id="valid-request-id"),
        pytest.param("A.b_c-9", None, ("A.b_c-9", "A.b_c-9"), id="all-allowed-characters"),
        pytest.param("r" * 128, None, ("r" * 128, "r" * 128), id="128-characters"),
        pytest.param(None, TRACEPARENT, (TRACE_ID, TRACE_ID), id="traceparent-only"),
        pytest.param("req-1", TRACEPARENT, ("req-1", TRACE_ID), id="both"),
        pytest.param("req-2", f"  {TRACEPARENT} ", ("req-2", TRACE_ID), id="padded-traceparent"),
        pytest.param(
            "req-3", f"00-{'0' * 32}-00f067aa0ba902b7-01", ("req-3", "req-3"), id="zero-trace-id"
        ),
        pytest.param("req-4", "garbage", ("req-4", "req-4"), id="garbage-traceparent"),
    ],
)
def test_resolve_ids_known_cases(
    request_id: str | None, traceparent: str | None, expected: tuple[str, str]
) -> None:
    assert resolve_ids(request_id, traceparent) == expected


@pytest.mark.parametrize(
    "request_id",
    [None, "", "r" * 129, "has space", "semi;colon", "slash/", "new\nline", "caf\u00e9"],
)
def test_resolve_ids_replaces_a_missing_or_invalid_request_id(request_id: str | None) -> None:
    new_id, trace_id = resolve_ids(request_id, None)
    assert new_id != request_id
    assert new_id == trace_id
    assert len(new_id) == 32
    int(new_id, 16)
    assert resolve_ids(request_id, None)[0] != new_id


def test_the_request_id_is_echoed_and_bound_only_during_the_request(app: Flask) -> None:
    response = app.test_client().get("/logs", headers={"X-Request-ID": "req-echo"})
    assert response.headers["X-Request-ID"] == "req-echo"
    assert response.get_json() == {"trace_id": "req-echo"}
    assert current_trace_id() is None


# -- log format -----------------------------------------------------------------------
# The JSON line format is the core's (``authkit.audit.JsonLineFormatter``); the
# adapter's part is ``TraceIdFilter``, which puts the request's trace id on records.


def _record(message: str = "hello %s", args: tuple[Any, ...] = ("world",)) -> logging.LogRecord:
    return logging.LogRecord("adapter.test", logging.INFO, __file__, 1, message, args, None)


def _line(record: logging.LogRecord) -> dict[str, Any]:
    """``record`` through the filter and the core's formatter, as an app's handler does."""
    assert TraceIdFilter().filter(record)
    line: dict[str, Any] = json.loads(JsonLineFormatter().format(record))
    return line


def test_log_lines_get_the_bound_trace_id_and_keep_extras(bound_trace: str) -> None:
    record = _record()
    record.user_count = 3
    line = _line(record)
    assert line["trace_id"] == bound_trace
    assert line["message"] == "hello world"
    assert line["level"] == "INFO"
    assert line["logger"] == "adapter.test"
    assert line["user_count"] == 3
    assert "ts" in line


def test_log_lines_outside_a_request_have_a_null_trace_id() -> None:
    line = _line(_record())
    assert "trace_id" in line
    assert line["trace_id"] is None


def test_log_lines_include_the_exception() -> None:
    try:
        raise ValueError("kaput")
    except ValueError:
        record = logging.LogRecord(
            "adapter.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    assert "ValueError: kaput" in _line(record)["exc_info"]


def test_trace_id_filter_stamps_records(bound_trace: str) -> None:
    record = _record()
    assert TraceIdFilter().filter(record)
    assert getattr(record, "trace_id", None) == bound_trace
    kept = _record()
    kept.trace_id = "already-set"
    TraceIdFilter().filter(kept)
    assert getattr(kept, "trace_id", None) == "already-set"


def test_log_lines_written_while_serving_carry_the_request_trace_id(app: Flask) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    handler.addFilter(TraceIdFilter())
    loggers = [logging.getLogger("adapter_test.view"), logging.getLogger("authkit_flask.access")]
    previous = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
        lg.propagate = False
    try:
        app.test_client().get("/logs", headers={"traceparent": TRACEPARENT})
    finally:
        for lg, (level, propagate) in zip(loggers, previous, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
            lg.propagate = propagate
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["adapter_test.view", "authkit_flask.access"]
    assert all(line["trace_id"] == TRACE_ID for line in lines)
    assert lines[0]["answer"] == 42
    assert lines[1]["status"] == 200
    assert lines[1]["path"] == "/logs"
