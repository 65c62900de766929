"""The audit logger: the line format, PII minimisation, listeners, threads."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from authkit.audit import AuditEvent, AuditLogger, Pseudonymizer, is_sensitive_name, read_events
from authkit.clock import FrozenClock

KEY = b"0123456789abcdef0123456789abcdef"
PSEUDONYMS = Pseudonymizer(KEY)


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 4, 5, 6, 7, 891234, tzinfo=UTC))


@pytest.fixture
def audit(tmp_path: Path, clock: FrozenClock) -> AuditLogger:
    return AuditLogger(
        tmp_path / "auth.jsonl",
        pseudonymizer=PSEUDONYMS,
        clock=clock,
        trace_id_provider=lambda: "trace-1",
    )


def test_one_line_with_the_envelope_and_fields(audit: AuditLogger) -> None:
    audit.log(
        "login",
        outcome="success",
        actor="Alice@Example.com",
        client_address="192.0.2.7",
        method="password",
        attempts=2,
        mfa=True,
        note=None,
        roles=["admin", "user"],
    )
    [event] = lines_of(audit.path)
    assert list(event)[:6] == ["ts", "event", "outcome", "trace_id", "actor", "client"]
    assert event == {
        "ts": "2026-03-04T05:06:07.891Z",
        "event": "login",
        "outcome": "success",
        "trace_id": "trace-1",
        "actor": PSEUDONYMS.pseudonymize("alice@example.com", kind="user"),
        "client": PSEUDONYMS.pseudonymize("192.0.2.7", kind="ip"),
        "method": "password",
        "attempts": 2,
        "mfa": True,
        "note": None,
        "roles": ["admin", "user"],
    }


def test_timestamp_is_rfc3339_utc_in_milliseconds(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS)
    event = audit.log("x", outcome="success")
    ts = event["ts"]
    assert isinstance(ts, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", ts)


def test_missing_actor_client_and_trace_are_null(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS)
    audit.log("startup", outcome="success", actor="  ")
    [event] = lines_of(audit.path)
    assert (event["actor"], event["client"], event["trace_id"]) == (None, None, None)


@pytest.mark.parametrize(
    "name",
    [
        "password",
        "new_password",
        "refresh_token",
        "accessToken",
        "mfa_secret",
        "otp",
        "recovery_code",
        "password_hash",
        "email",
        "user_email",
        "ip",
        "client_ip",
        "clientIP",
        "IPAddress",
        "remote_addr",
        "username",
    ],
)
def test_sensitive_field_names_are_refused(audit: AuditLogger, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        audit.log("login", outcome="failure", **{name: "value"})
    assert not audit.path.exists() or audit.path.read_text() == ""


@pytest.mark.parametrize(
    "name", ["method", "reason", "user_id", "kid", "description", "zip_area", "attempts"]
)
def test_ordinary_field_names_are_allowed(name: str) -> None:
    assert not is_sensitive_name(name)


@pytest.mark.parametrize("name", ["ts", "trace_id", "client"])
def test_envelope_names_cannot_be_overridden(audit: AuditLogger, name: str) -> None:
    with pytest.raises(ValueError, match="reserved"):
        audit.log("login", outcome="success", **{name: "forged"})


@pytest.mark.parametrize("value", [1.5, {"a": "b"}, ["a", 1], b"bytes", ("a",)])
def test_other_value_types_are_refused(audit: AuditLogger, value: object) -> None:
    with pytest.raises(TypeError):
        audit.log("login", outcome="success", detail=value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("event", "outcome"), [("", "success"), ("login", "")])
def test_event_and_outcome_are_required(audit: AuditLogger, event: str, outcome: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        audit.log(event, outcome=outcome)


def test_raw_password_email_and_ip_never_reach_the_file(audit: AuditLogger) -> None:
    """Regression: PII and secrets passed any way the API allows stay out of the log."""
    password, email, ip = "Tr0ub4dor&3-horse", "carol@example.org", "203.0.113.99"
    for name, value in [("password", password), ("email", email), ("ip", ip), ("token", "t")]:
        with pytest.raises(ValueError, match="never"):
            audit.log("login", outcome="failure", **{name: value})
    # The same values under innocent names, and as actor / client.
    audit.log(
        "login",
        outcome="failure",
        actor=email,
        client_address=ip,
        reason=email,
        origin=ip,
        aliases=[email, ip, "plain"],
    )
    text = audit.path.read_text()
    for raw in (password, email, ip, "carol", "203.0.113"):
        assert raw not in text
    [event] = lines_of(audit.path)
    assert event["reason"] == event["actor"]
    assert event["origin"] == event["client"]
    assert event["aliases"] == [event["actor"], event["client"], "plain"]


def test_listeners_get_the_event_after_it_is_written(audit: AuditLogger) -> None:
    seen: list[AuditEvent] = []

    def listener(event: AuditEvent) -> None:
        assert read_events(audit.path, 1)[0] == event  # already on disk
        seen.append(event)

    audit.add_listener(listener)
    written = audit.log("logout", outcome="success", actor="alice")
    assert seen == [written]
    audit.remove_listener(listener)
    audit.log("logout", outcome="success", actor="alice")
    assert len(seen) == 1


def test_a_failing_listener_never_breaks_logging(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[AuditEvent] = []

    def broken(event: AuditEvent) -> None:
        raise RuntimeError("listener bug")

    audit = AuditLogger(
        tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS, listeners=[broken, seen.append]
    )
    audit.log("login", outcome="success")
    assert len(seen) == 1
    assert len(lines_of(audit.path)) == 1
    assert "listener" in caplog.text


def test_listeners_cannot_alter_what_others_see(tmp_path: Path) -> None:
    seen: list[AuditEvent] = []

    def meddler(event: AuditEvent) -> None:
        event["event"] = "forged"
        roles = event["roles"]
        assert isinstance(roles, list)
        roles.append("root")

    audit = AuditLogger(
        tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS, listeners=[meddler, seen.append]
    )
    audit.log("login", outcome="success", roles=["user"])
    assert seen[0]["event"] == "login"
    assert seen[0]["roles"] == ["user"]


def test_lines_are_ascii_json_even_with_line_separators(audit: AuditLogger) -> None:
    audit.log("login", outcome="failure", reason="a\u2028b\nc\u00e9")
    raw = audit.path.read_bytes()
    assert raw.count(b"\n") == 1
    assert raw.isascii()
    assert read_events(audit.path, 5)[0]["reason"] == "a\u2028b\nc\u00e9"


def test_threads_of_one_process_never_tear_lines(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS)

    def work(n: int) -> None:
        for i in range(500):
            audit.log("tick", outcome="success", thread=n, i=i, pad="x" * 300)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = lines_of(audit.path)
    assert sorted((e["thread"], e["i"]) for e in events) == [
        (n, i) for n in range(8) for i in range(500)
    ]


def test_close_and_context_manager_reopen_on_demand(tmp_path: Path) -> None:
    with AuditLogger(tmp_path / "a.jsonl", pseudonymizer=PSEUDONYMS) as audit:
        audit.log("a", outcome="success")
    audit.log("b", outcome="success")  # a closed logger reopens lazily
    audit.close()
    assert [e["event"] for e in lines_of(audit.path)] == ["a", "b"]
    assert "a.jsonl" in repr(audit)


def test_parent_directories_are_created(tmp_path: Path) -> None:
    audit = AuditLogger(tmp_path / "logs" / "deep" / "a.jsonl", pseudonymizer=PSEUDONYMS)
    audit.log("a", outcome="success")
    assert audit.path.exists()
