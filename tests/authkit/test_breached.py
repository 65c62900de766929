"""The HIBP range checker against a local stand-in server; the real API is never contacted."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from authkit.passwords import HibpRangeChecker, NotBreached, PasswordContext, PasswordPolicy

BREACHED = "hunter2-but-longer!"
CLEAN = "a password nobody has ever leaked 7"


def sha1_upper(password: str) -> str:
    return hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()


@dataclass
class Stub:
    """What the fake API answers, and everything it was sent."""

    base_url: str = ""
    status: int = 200
    body: str = ""
    hang: threading.Event | None = None
    paths: list[str] = field(default_factory=list)
    raw_requests: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


def padded_body(*lines: str) -> str:
    padding = [f"{i:035X}:0" for i in range(5)]
    return "\r\n".join([*padding, *lines])


@pytest.fixture
def stub() -> Iterator[Stub]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.paths.append(self.path)
            state.raw_requests.append(self.requestline + "\n" + str(self.headers))
            state.headers.append(dict(self.headers.items()))
            if state.hang is not None:
                state.hang.wait(timeout=5)
                return
            payload = state.body.encode("ascii")
            self.send_response(state.status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    state.base_url = f"http://{host!s}:{port}"
    try:
        yield state
    finally:
        if state.hang is not None:
            state.hang.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def assert_only_prefixes_sent(stub: Stub, *passwords: str) -> None:
    """k-anonymity: each request carries a 5-hex prefix and nothing else of the password."""
    assert stub.paths
    for path in stub.paths:
        prefix = path.removeprefix("/range/")
        assert len(prefix) == 5
        assert prefix == prefix.upper()
        int(prefix, 16)
    for password in passwords:
        digest = sha1_upper(password)
        for raw in stub.raw_requests:
            assert password not in raw
            assert digest[5:] not in raw.upper()
            assert digest[:6] not in raw.upper()


def test_a_breached_password_is_found_from_its_prefix(stub: Stub) -> None:
    digest = sha1_upper(BREACHED)
    stub.body = padded_body(f"{digest[5:]}:42", "0" * 35 + ":3")
    checker = HibpRangeChecker(base_url=stub.base_url)
    assert checker.is_compromised(BREACHED) is True
    assert stub.paths == [f"/range/{digest[:5]}"]
    assert stub.headers[0]["Add-Padding"] == "true"
    assert stub.headers[0]["User-Agent"]
    assert_only_prefixes_sent(stub, BREACHED)


def test_an_unlisted_password_is_not_compromised(stub: Stub) -> None:
    stub.body = padded_body(f"{sha1_upper(BREACHED)[5:]}:42")
    assert HibpRangeChecker(base_url=stub.base_url + "/").is_compromised(CLEAN) is False
    assert_only_prefixes_sent(stub, CLEAN)


def test_padding_lines_with_count_zero_are_ignored(stub: Stub) -> None:
    stub.body = padded_body(f"{sha1_upper(BREACHED)[5:]}:0")
    assert HibpRangeChecker(base_url=stub.base_url).is_compromised(BREACHED) is False


def test_suffixes_match_case_insensitively_and_min_count_applies(stub: Stub) -> None:
    stub.body = f"{sha1_upper(BREACHED)[5:].lower()}:2\n"
    assert HibpRangeChecker(base_url=stub.base_url).is_compromised(BREACHED) is True
    assert HibpRangeChecker(base_url=stub.base_url, min_count=3).is_compromised(BREACHED) is False


@pytest.mark.parametrize(("fail_open", "expected"), [(True, False), (False, True)])
def test_server_errors_fail_as_configured(
    stub: Stub, fail_open: bool, expected: bool, caplog: pytest.LogCaptureFixture
) -> None:
    stub.status, stub.body = 503, "busy"
    checker = HibpRangeChecker(base_url=stub.base_url, fail_open=fail_open)
    with caplog.at_level(logging.WARNING, logger="authkit.passwords"):
        assert checker.is_compromised(BREACHED) is expected
    assert "HTTPError" in caplog.text
    assert BREACHED not in caplog.text
    assert sha1_upper(BREACHED)[:5] not in caplog.text


@pytest.mark.parametrize(("fail_open", "expected"), [(True, False), (False, True)])
def test_malformed_answers_fail_as_configured(stub: Stub, fail_open: bool, expected: bool) -> None:
    stub.body = f"{sha1_upper(BREACHED)[5:]}:lots"
    checker = HibpRangeChecker(base_url=stub.base_url, fail_open=fail_open)
    assert checker.is_compromised(BREACHED) is expected


@pytest.mark.parametrize(("fail_open", "expected"), [(True, False), (False, True)])
def test_timeouts_fail_as_configured(stub: Stub, fail_open: bool, expected: bool) -> None:
    stub.hang = threading.Event()
    checker = HibpRangeChecker(base_url=stub.base_url, timeout=0.2, fail_open=fail_open)
    assert checker.is_compromised(BREACHED) is expected
    assert_only_prefixes_sent(stub, BREACHED)


@pytest.mark.parametrize(("fail_open", "expected"), [(True, False), (False, True)])
def test_refused_connections_fail_as_configured(fail_open: bool, expected: bool) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    checker = HibpRangeChecker(base_url=f"http://127.0.0.1:{port}", fail_open=fail_open)
    assert checker.is_compromised(BREACHED) is expected


def test_oversized_answers_are_refused(stub: Stub) -> None:
    stub.body = padded_body(f"{sha1_upper(BREACHED)[5:]}:42") + "\r\n" + "A" * (1 << 20)
    assert HibpRangeChecker(base_url=stub.base_url).is_compromised(BREACHED) is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "file:///etc/passwd"},
        {"base_url": "api.pwnedpasswords.com"},
        {"timeout": 0},
        {"min_count": 0},
    ],
)
def test_settings_are_validated(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must"):
        HibpRangeChecker(**kwargs)  # type: ignore[arg-type]


def test_defaults_point_at_the_real_api_without_calling_it() -> None:
    checker = HibpRangeChecker()
    assert checker.base_url == "https://api.pwnedpasswords.com"
    assert (checker.timeout, checker.fail_open) == (2.0, True)


def test_not_breached_rule_in_a_policy(stub: Stub) -> None:
    stub.body = padded_body(f"{sha1_upper(BREACHED)[5:]}:42")
    rule = NotBreached(checker=HibpRangeChecker(base_url=stub.base_url))
    [violation] = rule.check(BREACHED, PasswordContext())
    assert violation.as_dict() == {
        "code": "breached_password",
        "message": "This password has appeared in a data breach; choose a different one.",
    }
    policy = PasswordPolicy.nist().with_rules(rule)
    assert [v.code for v in policy.check(BREACHED)] == ["breached_password"]
    assert policy.check(CLEAN) == []
    assert_only_prefixes_sent(stub, BREACHED, CLEAN)


def test_the_policy_sends_the_nfc_form(stub: Stub) -> None:
    nfc = "crème brûlée for two, please"
    stub.body = padded_body(f"{sha1_upper(nfc)[5:]}:7")
    policy = PasswordPolicy.nist().with_rules(
        NotBreached(checker=HibpRangeChecker(base_url=stub.base_url))
    )
    nfd = unicodedata.normalize("NFD", nfc)
    assert [v.code for v in policy.check(nfd)] == ["breached_password"]
    assert stub.paths == [f"/range/{sha1_upper(nfc)[:5]}"]
