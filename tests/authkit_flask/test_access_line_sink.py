"""``AccessLineSink`` and the leaner request hooks.

The sink's line must be the line ``JsonLineFormatter`` makes for the same access
record (same keys, same order, same values, same timestamp), so a reader of
``system.jsonl`` cannot tell which way it was written. The request ids are bound
by WSGI middleware now: still echoed, bound for the whole view, reset after;
security headers are added once, never next to a view's own; metrics bound the
method label.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, Response, jsonify
from hypothesis import example, given
from hypothesis import strategies as st

from authkit.audit import JsonLineFormatter
from authkit_flask import AccessLineSink, current_trace_id
from authkit_flask import _access_log as access_log_module

MakeApp = Callable[..., Flask]
SignedIn = Callable[..., dict[str, Any]]
TS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


class Lines:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, line: bytes) -> None:
        self.writes.append(line)

    def records(self) -> list[dict[str, Any]]:
        out = []
        for chunk in self.writes:
            out += [json.loads(x) for x in chunk.splitlines()]
        return out


FIELDS: dict[str, Any] = {
    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
    "method": "GET",
    "path": "/auth/me",
    "route": "/auth/me",
    "status": 200,
    "duration_ms": 1.25,
}


def formatter_line(now: float, fields: dict[str, Any]) -> str:
    """What ``JsonLineFormatter`` writes for the access record the logging path makes."""
    extra = {k: v for k, v in fields.items() if k != "trace_id"}
    record = logging.getLogger("authkit_flask.access").makeRecord(
        "authkit_flask.access", logging.INFO, __file__, 0, "request", (), None, extra=extra
    )
    record.created = now
    record.trace_id = fields["trace_id"]
    return JsonLineFormatter().format(record)


class _FrozenTime:
    """Stands in for the ``time`` module inside ``authkit_flask._access_log``."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.gmtime = time.gmtime
        self.strftime = time.strftime

    def time(self) -> float:
        return self.now


def sink_line(now: float, fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    lines = Lines()
    monkeypatch.setattr(access_log_module, "time", _FrozenTime(now))
    AccessLineSink(lines).write(**fields)
    assert len(lines.writes) == 1
    assert lines.writes[0].endswith(b"\n")
    return lines.writes[0][:-1].decode("ascii")


@pytest.mark.parametrize(
    "fields",
    [
        FIELDS,
        {**FIELDS, "trace_id": None, "route": None, "duration_ms": None, "status": 404},
        {**FIELDS, "path": '/flights/Zürich \u2603"quoted"\\', "method": "PROPFIND"},
    ],
)
def test_the_sink_writes_the_formatters_line(
    fields: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    now = 1764558123.25
    ours = sink_line(now, fields, monkeypatch)
    theirs = formatter_line(now, fields)
    assert list(json.loads(ours).items()) == list(json.loads(theirs).items())
    assert ours == theirs
    assert TS.fullmatch(json.loads(ours)["ts"])


def test_the_timestamp_is_the_formatters_at_a_millisecond_edge(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1764558000.001 is stored as 1764558000.00099992...: the formatter says .001."""
    now = 1764558000.001
    ours = json.loads(sink_line(now, FIELDS, monkeypatch))["ts"]
    theirs = json.loads(formatter_line(now, FIELDS))["ts"]
    assert ours == theirs


@given(now=st.floats(min_value=1_600_000_000, max_value=2_000_000_000))
@example(now=1764557999.9999995)  # rounds into the next second in the formatter
@example(now=1764558000.001)
def test_the_timestamp_is_the_formatters_for_any_time(now: float) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        ours = json.loads(sink_line(now, FIELDS, monkeypatch))["ts"]
    theirs = json.loads(formatter_line(now, FIELDS))["ts"]
    assert TS.fullmatch(ours)
    assert ours == theirs


# -- through the adapter --------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def access_info() -> Iterator[None]:
    """The access logger at INFO, as an app that keeps access lines configures it."""
    logger = logging.getLogger("authkit_flask.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    yield
    logger.setLevel(level)


@pytest.mark.usefixtures("access_info")
def test_the_adapter_writes_one_line_per_request_through_the_sink(make_app: MakeApp) -> None:
    lines = Lines()
    app = make_app(access_log=lines)
    response = app.test_client().get(
        "/health/live", headers={"traceparent": f"00-{FIELDS['trace_id']}-00f067aa0ba902b7-01"}
    )
    assert response.status_code == 200
    [line] = lines.records()
    assert list(line) == [
        "ts", "level", "logger", "message", "trace_id",
        "method", "path", "route", "status", "duration_ms",
    ]  # fmt: skip
    assert line["trace_id"] == FIELDS["trace_id"]
    assert (line["method"], line["path"], line["route"], line["status"]) == (
        "GET", "/health/live", "/health/live", 200,
    )  # fmt: skip
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert line["logger"] == "authkit_flask.access"
    assert line["message"] == "request"


@pytest.mark.usefixtures("access_info")
def test_a_sink_object_is_used_as_given(make_app: MakeApp) -> None:
    lines = Lines()
    app = make_app(access_log=AccessLineSink(lines))
    app.test_client().get("/nowhere")
    [line] = lines.records()
    assert (line["route"], line["status"]) == (None, 404)


def _app_with_views(make_app: MakeApp, **options: Any) -> tuple[Flask, list[str | None]]:
    app = make_app(**options)
    seen: list[str | None] = []

    @app.get("/test/trace")
    def trace() -> Response:
        seen.append(current_trace_id())
        logging.getLogger("test.view").warning("inside the view")
        return jsonify(trace_id=current_trace_id())

    @app.get("/test/own-headers")
    def own_headers() -> Response:
        response = jsonify(ok=True)
        response.headers["referrer-policy"] = "same-origin"  # lower case on purpose
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "private, max-age=5"
        return response

    @app.get("/test/page")
    def page() -> Response:
        response = Response("<p>hi</p>", mimetype="text/html")
        response.headers["Content-Security-Policy"] = "default-src 'none'"
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
        return response

    return app, seen


def test_the_request_and_trace_ids_are_echoed(make_app: MakeApp) -> None:
    app, _seen = _app_with_views(make_app)
    client = app.test_client()
    echoed = client.get("/health/live", headers={"X-Request-ID": "req-abc-123"})
    assert echoed.headers.getlist("X-Request-ID") == ["req-abc-123"]
    trace = "0af7651916cd43dd8448eb211c80319c"
    both = client.get(
        "/test/trace",
        headers={"X-Request-ID": "req-xyz", "traceparent": f"00-{trace}-b7ad6b7169203331-01"},
    )
    assert both.headers.getlist("X-Request-ID") == ["req-xyz"]
    assert both.get_json() == {"trace_id": trace}
    fresh = client.get("/health/live")
    assert len(fresh.headers["X-Request-ID"]) >= 16
    assert fresh.headers["X-Request-ID"] != client.get("/health/live").headers["X-Request-ID"]


def test_the_trace_id_is_bound_during_the_view_and_reset_after(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    from authkit_flask import TraceIdFilter

    app, seen = _app_with_views(make_app)
    assert current_trace_id() is None
    handler = caplog.handler
    handler.addFilter(TraceIdFilter())
    try:
        with caplog.at_level(logging.WARNING, logger="test.view"):
            response = app.test_client().get("/test/trace", headers={"X-Request-ID": "trace-me-1"})
    finally:
        handler.removeFilter(next(f for f in handler.filters if isinstance(f, TraceIdFilter)))
    assert seen == ["trace-me-1"]
    assert response.get_json() == {"trace_id": "trace-me-1"}
    [record] = [r for r in caplog.records if r.name == "test.view"]
    assert getattr(record, "trace_id", None) == "trace-me-1"
    assert current_trace_id() is None


def test_the_trace_id_is_reset_after_a_failing_view(make_app: MakeApp) -> None:
    app = make_app()
    app.config["TESTING"] = False
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test/boom")
    def boom() -> Response:
        raise RuntimeError("boom")

    response = app.test_client().get("/test/boom", headers={"X-Request-ID": "trace-boom"})
    assert response.status_code == 500
    assert current_trace_id() is None


def test_authenticated_answers_are_no_store(make_app: MakeApp, signed_in: SignedIn) -> None:
    app, _seen = _app_with_views(make_app)
    pair = signed_in("alice")
    client = app.test_client()
    me = client.get("/auth/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200
    assert me.headers.getlist("Cache-Control") == ["no-store"]
    refused = client.get("/auth/me")
    assert refused.status_code == 401
    assert refused.headers.getlist("Cache-Control") == ["no-store"]


def test_a_views_own_security_headers_are_kept_and_not_doubled(make_app: MakeApp) -> None:
    app, _seen = _app_with_views(make_app)
    client = app.test_client()
    own = client.get("/test/own-headers")
    assert own.headers.getlist("Referrer-Policy") == ["same-origin"]
    assert own.headers.getlist("X-Content-Type-Options") == ["nosniff"]
    assert len(own.headers.getlist("X-Request-ID")) == 1
    page = client.get("/test/page")
    assert page.headers.getlist("Content-Security-Policy") == ["default-src 'none'"]
    assert page.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert page.headers.getlist("Referrer-Policy") == ["no-referrer"]
    plain = client.get("/health/live")
    for name in ("Referrer-Policy", "X-Content-Type-Options", "X-Request-ID"):
        assert len(plain.headers.getlist(name)) == 1, name


def test_hsts_only_over_https(make_app: MakeApp) -> None:
    client = make_app().test_client()
    assert "Strict-Transport-Security" not in client.get("/health/live").headers
    secure = client.get("/health/live", base_url="https://localhost")
    assert secure.headers.getlist("Strict-Transport-Security") == [
        "max-age=31536000; includeSubDomains"
    ]


def _count(metrics: str, method: str, route: str, status: str) -> float:
    pattern = re.compile(
        r'^authkit_requests_total\{(?=[^}]*method="' + re.escape(method) + r'")'
        r'(?=[^}]*route="' + re.escape(route) + r'")'
        r'(?=[^}]*status="' + re.escape(status) + r'")[^}]*\} (\S+)$',
        re.MULTILINE,
    )
    match = pattern.search(metrics)
    return float(match.group(1)) if match else 0.0


def test_an_unknown_method_is_counted_as_other(make_app: MakeApp) -> None:
    client = make_app().test_client()

    def scrape() -> str:
        return client.get("/metrics").get_data(as_text=True)

    before_other = _count(scrape(), "OTHER", "<unmatched>", "405")
    before_get = _count(scrape(), "GET", "/health/live", "200")
    for method in ("PROPFIND", "BREW", "X" * 40, "PROPFIND"):
        assert client.open("/health/live", method=method).status_code == 405
    client.get("/health/live")
    after = scrape()
    assert _count(after, "OTHER", "<unmatched>", "405") == before_other + 4
    assert _count(after, "GET", "/health/live", "200") == before_get + 1
    assert 'method="PROPFIND"' not in after
    assert 'method="BREW"' not in after
