"""The PII lint rule (``scripts/check_pii_logging.py``, run by ``nox -s lint``).

Each planted violation below is one pattern the rule promises to catch (its
docstring and docs/privacy.md list them); the clean snippets are the shapes the
code base uses legitimately and must keep passing; and the real sources pass.
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "check_pii_logging.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_pii_logging", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("check_pii_logging", module)
    spec.loader.exec_module(module)
    return module


rule = _load()


def codes(source: str) -> list[str]:
    return [finding.code for finding in rule.check_source(textwrap.dedent(source))]


PLANTED = {
    "positional-name": ('logger.info("signed in %s", email)', ["PII001"]),
    "extra-key": ('logger.info("seeded", extra={"username": name})', ["PII002"]),
    "extra-key-and-value": (
        'logger.info("seeded", extra={"username": username})',
        ["PII002", "PII001"],
    ),
    "f-string-attribute": ('logger.warning(f"bad password for {user.username}")', ["PII001"]),
    "suffix-token": ('log.info("refreshed %s", refresh_token)', ["PII001"]),
    "camel-case-token": ('logging.info("got %s", accessToken)', ["PII001"]),
    "remote-addr": ('_log.debug("from %s", request.remote_addr)', ["PII001"]),
    "ip-value-under-a-neutral-key": ('logger.info("x", extra={"client": ip})', ["PII001"]),
    "subscript-key": ('current_app.logger.error("x %s", body["password"])', ["PII001"]),
    "dict-call-extra": ('logger.info("x", extra=dict(user_email=e))', ["PII002"]),
    "method-on-raw-value": ('logger.info("x %s", email.lower())', ["PII001"]),
    "percent-tuple": ('logger.info("x %s" % (username,))', ["PII001"]),
    "log-with-level": (
        'logger.log(logging.INFO, "x", extra={"identifier": identifier})',
        ["PII002", "PII001"],
    ),
    "keyword-value": ('error_logger.exception("x", extra={"who": client_address})', ["PII001"]),
    "secret": ('logger.debug("totp %s", totp_secret)', ["PII001"]),
    "audit-field-name": (
        'self._audit.log("login", outcome="success", email=user.email)',
        ["PII002", "PII001"],
    ),
    "audit-field-value": ('audit.log("x", outcome="failure", reason=user.email)', ["PII001"]),
    "audit-sink-by-name": ('audit_sink.log("x", note=f"{username} did it")', ["PII001"]),
    "allow-without-reason": ('logger.info("x %s", username)  # pii: ok', ["PII003"]),
}


@pytest.mark.parametrize(("source", "expected"), PLANTED.values(), ids=PLANTED.keys())
def test_a_planted_violation_is_caught(source: str, expected: list[str]) -> None:
    assert sorted(codes(source)) == sorted(expected)


CLEAN = {
    "ids-and-flags": 'logger.info("x", extra={"user_id": user.id, "email_verified": True})',
    "audit-pseudonymised-slots": (
        'audit.log("login", outcome="success", actor=username, client_address=address)'
    ),
    "explicit-pseudonym": (
        'logger.info("x", extra={"actor": pseudonymizer.pseudonymize(email, kind="user")})'
    ),
    "pseudonym-variable": 'logger.info("x", extra={"actor": username_pseudonym})',
    "counts-and-kinds": 'logger.info("x", extra={"token_count": n, "token_type": "Bearer"})',
    "length-only": 'logger.info("checked %d characters", len(password))',
    "type-name-only": 'logger.warning("failed", extra={"error": type(exc).__name__})',
    "literal-words": 'logger.warning("password changed; tokens revoked for the address")',
    "not-a-logger": "client.info(section)\noutcome.exception()\nredis.log(x)",
    "seed-slot": 'logger.info("seed created user", extra={"account": slot, "roles": roles})',
    "allowed-with-reason": (
        'logger.info("x %s", username)  # pii: ok a fixed service account label, not a person'
    ),
    "allowed-on-a-later-line": """
        logger.info(
            "x %s",
            username,  # pii: ok a fixed service account label, not a person
        )
    """,
    "exc-info": 'logger.error("x", exc_info=password_error)',
}


@pytest.mark.parametrize("source", CLEAN.values(), ids=CLEAN.keys())
def test_clean_code_passes(source: str) -> None:
    assert codes(source) == []


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("email", True),
        ("user_email", True),
        ("refreshToken", True),
        ("client_address", True),
        ("remote_addr", True),
        ("ip", True),
        ("admin_username", True),
        ("email_verified", False),
        ("token_type", False),
        ("user_id", False),
        ("username_pseudonym", False),
        ("tokens_count", False),
        ("zip", False),
        ("description", False),
        ("roles", False),
    ],
)
def test_the_name_heuristic(name: str, sensitive: bool) -> None:
    assert rule.is_sensitive(name) is sensitive


def test_findings_name_the_file_line_and_column(tmp_path: Path) -> None:
    planted = tmp_path / "planted.py"
    planted.write_text('import logging\nlogger = logging.getLogger()\nlogger.info("%s", email)\n')
    [finding] = rule.check_source(planted.read_text(), str(planted))
    assert (finding.path, finding.line, finding.col, finding.code) == (
        str(planted),
        3,
        19,
        "PII001",
    )
    assert str(finding).startswith(f"{planted}:3:19: PII001 raw `email`")


def test_the_command_fails_on_a_planted_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text('logger.info("fine")\n')
    (tmp_path / "pkg" / "bad.py").write_text('logger.info("x", extra={"email": e})\n')
    assert rule.main([str(tmp_path / "pkg")]) == 1
    out, err = capsys.readouterr()
    assert "bad.py:1:" in out
    assert "ok.py" not in out
    assert "1 finding(s) in 2 files" in err


def test_the_command_refuses_a_missing_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert rule.main([str(tmp_path / "nowhere")]) == 2
    assert "no such path" in capsys.readouterr().err


def test_the_real_sources_pass(capsys: pytest.CaptureFixture[str]) -> None:
    roots = [str(ROOT / root) for root in rule.ROOTS]
    assert rule.main(roots) == 0, capsys.readouterr().out
    assert "no raw PII" in capsys.readouterr().out


def test_the_lint_session_runs_the_rule() -> None:
    noxfile = (ROOT / "noxfile.py").read_text("utf-8")
    lint = noxfile[noxfile.index("def lint(") :].split("\n@nox.session", 1)[0]
    assert "scripts/check_pii_logging.py" in lint
