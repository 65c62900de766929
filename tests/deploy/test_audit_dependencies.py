"""``scripts/audit_dependencies.py`` (``nox -s audit``): what each pip-audit outcome means.

pip-audit's outcomes are faked (its exit status, JSON report and stderr, shaped
like pip-audit 2.x writes them, including the two ways it fails on this machine),
and so is the direct probe of the vulnerability service. The rule under test: exit
0 with one ``NOT RUN`` line only when nothing could be audited *and* the service
does not answer a direct query; never a ``PASS`` unless every package was audited.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "audit_dependencies", ROOT / "scripts" / "audit_dependencies.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_dependencies"] = module
    spec.loader.exec_module(module)
    return module


audit = _load()
Outcome = audit.Outcome

# What pip-audit --strict prints here with the default (pypi) service: the index
# serves the simple API, not /pypi/<name>/<version>/json, so the first package is
# "not found" and --strict stops before writing any report.
STRICT_NOT_FOUND = (
    "WARNING:pip_audit._cli:--no-deps is supported, but users are encouraged to fully hash\n"
    "ERROR:pip_audit._cli:airportsdata: Dependency not found on PyPI and could not be "
    "audited: airportsdata (20260905)\n"
)
# What it prints with --vulnerability-service osv when api.osv.dev does not resolve.
OSV_DNS_FAILURE = (
    "Traceback (most recent call last):\n"
    "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.osv.dev', "
    "port=443): Max retries exceeded with url: /v1/query (Caused by NameResolutionError"
    "(\"Failed to resolve 'api.osv.dev' ([Errno -2] Name or service not known)\"))\n"
)


def _dep(name: str, version: str = "1.0", vulns: list[dict[str, Any]] | None = None) -> Any:
    return {"name": name, "version": version, "vulns": vulns or []}


def _skipped(name: str) -> dict[str, str]:
    return {
        "name": name,
        "skip_reason": f"Dependency not found on PyPI and could not be audited: {name} (1.0)",
    }


def _report(*dependencies: dict[str, Any]) -> dict[str, Any]:
    return {"dependencies": list(dependencies), "fixes": []}


PROBED: list[bool] = []


def _classify(run: Any, *, answers: bool) -> Any:
    """classify() with a fake probe; PROBED says whether it was asked."""
    PROBED.clear()

    def service_answers() -> bool:
        PROBED.append(True)
        return answers

    return audit.classify(run, service_answers=service_answers)


def test_every_package_audited_and_clean_is_a_pass() -> None:
    run = audit.AuditRun(0, _report(_dep("flask"), _dep("jinja2")), "")
    verdict = _classify(run, answers=True)
    assert verdict.outcome is Outcome.PASSED
    assert verdict.audited == 2
    assert audit.EXIT_CODES[verdict.outcome] == 0
    assert audit.report_lines(verdict, "pypi")[0].startswith("audit: PASS - 2 packages")


def test_a_known_vulnerability_fails_and_is_listed() -> None:
    vuln = {"id": "GHSA-xxxx-yyyy-zzzz", "fix_versions": ["3.1.5"], "aliases": []}
    run = audit.AuditRun(1, _report(_dep("flask"), _dep("werkzeug", "3.1.4", [vuln])), "")
    verdict = _classify(run, answers=True)
    assert verdict.outcome is Outcome.VULNERABLE
    assert audit.EXIT_CODES[verdict.outcome] == 1
    lines = audit.report_lines(verdict, "pypi")
    assert lines[0] == "audit: FAIL - 1 known vulnerability in the locked dependencies:"
    assert lines[1] == "  werkzeug 3.1.4: GHSA-xxxx-yyyy-zzzz (fixed in: 3.1.5)"
    assert not PROBED


def test_vulnerabilities_fail_even_when_other_packages_were_skipped() -> None:
    vuln = {"id": "PYSEC-1", "fix_versions": []}
    run = audit.AuditRun(1, _report(_skipped("private-pkg"), _dep("jinja2", "3.0", [vuln])), "")
    verdict = _classify(run, answers=False)
    assert verdict.outcome is Outcome.VULNERABLE
    assert "no fixed version yet" in audit.report_lines(verdict, "pypi")[1]


def test_strict_stop_on_an_unreachable_service_is_not_run_never_pass() -> None:
    verdict = _classify(audit.AuditRun(1, None, STRICT_NOT_FOUND), answers=False)
    assert verdict.outcome is Outcome.UNREACHABLE
    assert PROBED, "an outage is only believed after a direct query fails"
    assert audit.EXIT_CODES[verdict.outcome] == 0
    lines = audit.report_lines(verdict, "pypi")
    assert len(lines) == 1
    assert lines[0].startswith("audit: NOT RUN - ")
    assert "not a pass" in lines[0]
    assert "PASS -" not in lines[0]


def test_osv_connection_error_is_not_run() -> None:
    verdict = _classify(audit.AuditRun(1, None, OSV_DNS_FAILURE), answers=False)
    assert verdict.outcome is Outcome.UNREACHABLE
    assert "OSV" in audit.report_lines(verdict, "osv")[0]


@pytest.mark.parametrize("stderr", [STRICT_NOT_FOUND, OSV_DNS_FAILURE])
def test_an_answering_service_turns_the_same_output_into_a_failure(stderr: str) -> None:
    """A package missing from PyPI (a private one) is a failure, not an outage."""
    verdict = _classify(audit.AuditRun(1, None, stderr), answers=True)
    assert verdict.outcome is Outcome.FAILED
    assert audit.EXIT_CODES[verdict.outcome] != 0
    lines = audit.report_lines(verdict, "pypi", audit.AuditRun(1, None, stderr))
    assert lines[0].startswith("audit: ERROR - ")
    assert any("could not be audited" in line or "osv" in line for line in lines[1:])


def test_a_report_where_nothing_was_audited_is_not_run_only_if_the_probe_fails() -> None:
    report = _report(_skipped("flask"), _skipped("jinja2"))
    assert _classify(audit.AuditRun(1, report, ""), answers=False).outcome is Outcome.UNREACHABLE
    assert _classify(audit.AuditRun(1, report, ""), answers=True).outcome is Outcome.FAILED


def test_some_packages_skipped_is_a_failure_without_asking_the_service() -> None:
    report = _report(_skipped("private-pkg"), _dep("flask"))
    verdict = _classify(audit.AuditRun(1, report, ""), answers=False)
    assert verdict.outcome is Outcome.FAILED
    assert verdict.audited == 1
    assert not PROBED


@pytest.mark.parametrize(
    ("returncode", "stderr"),
    [
        (1, "ERROR: Invalid requirement: 'flask=='\n"),
        (2, "usage: pip-audit ...\npip-audit: error: unrecognized arguments: --bogus\n"),
        (-9, ""),
    ],
)
def test_any_other_failure_is_non_zero(returncode: int, stderr: str) -> None:
    verdict = _classify(audit.AuditRun(returncode, None, stderr), answers=False)
    assert verdict.outcome is Outcome.FAILED
    assert audit.EXIT_CODES[verdict.outcome] == 2


def test_an_empty_clean_report_is_not_a_pass() -> None:
    """Zero packages audited must never read as "no known vulnerabilities"."""
    verdict = _classify(audit.AuditRun(0, _report(), ""), answers=True)
    assert verdict.outcome is Outcome.FAILED


def _fake_main(
    monkeypatch: pytest.MonkeyPatch, run: Any, *, answers: bool, tmp_path: Path
) -> list[list[str]]:
    calls: list[list[str]] = []

    def export(target: Path) -> None:
        target.write_text("airportsdata==20260905 ; python_full_version < '3.12'\n    # via x\n")

    def pip_audit(requirements: Path, report: Path, service: str, timeout: int) -> Any:
        calls.append([str(requirements), service, str(timeout)])
        if run.report is not None:
            report.write_text(json.dumps(run.report))
        return run

    monkeypatch.setattr(audit, "export_requirements", export)
    monkeypatch.setattr(audit, "run_pip_audit", pip_audit)
    monkeypatch.setattr(audit, "probe", lambda service, name, version, **_: answers)
    return calls


def test_main_not_run_exits_0_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _fake_main(
        monkeypatch, audit.AuditRun(1, None, STRICT_NOT_FOUND), answers=False, tmp_path=tmp_path
    )
    assert audit.main(["--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    assert out[0].startswith("audit: NOT RUN")
    assert all("PASS" not in line for line in out)
    assert audit.main(["--output-dir", str(tmp_path), "--not-run-exit-code", "75"]) == 75


def test_main_require_service_makes_not_run_a_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fake_main(
        monkeypatch, audit.AuditRun(1, None, OSV_DNS_FAILURE), answers=False, tmp_path=tmp_path
    )
    assert audit.main(["--output-dir", str(tmp_path), "--require-service"]) == 3


def test_main_vulnerable_exits_1_and_passes_options(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vuln = {"id": "GHSA-1", "fix_versions": ["2.0"]}
    run = audit.AuditRun(1, _report(_dep("airportsdata", "20260905", [vuln])), "")
    calls = _fake_main(monkeypatch, run, answers=True, tmp_path=tmp_path)
    code = audit.main(
        ["--output-dir", str(tmp_path), "--vulnerability-service", "osv", "--timeout", "7"]
    )
    assert code == 1
    assert calls == [[str(tmp_path / "requirements-audit.txt"), "osv", "7"]]
    assert "GHSA-1" in capsys.readouterr().out


def test_main_fails_when_the_export_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(target: Path) -> None:
        raise subprocess.CalledProcessError(2, ["uv", "export"])

    monkeypatch.setattr(audit, "export_requirements", broken)
    assert audit.main(["--output-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().out.startswith("audit: ERROR - uv export failed")


def test_pip_audit_is_run_strict_without_resolving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real command line: --strict, the export as is, a JSON report."""
    seen: list[list[str]] = []

    def fake_run(command: list[str], **_: Any) -> subprocess.CompletedProcess[str]:
        seen.append(command)
        return subprocess.CompletedProcess(command, 1, "", STRICT_NOT_FOUND)

    monkeypatch.setattr(audit.subprocess, "run", fake_run)
    result = audit.run_pip_audit(tmp_path / "r.txt", tmp_path / "report.json", "pypi", 15)
    (command,) = seen
    assert command[1:3] == ["-m", "pip_audit"]
    for flag in ("--strict", "--no-deps", "--disable-pip"):
        assert flag in command
    assert command[command.index("--format") + 1] == "json"
    assert result.report is None
    assert result.returncode == 1


def test_the_export_keeps_third_party_pins_and_drops_the_workspace(tmp_path: Path) -> None:
    """The real ``uv export`` from uv.lock (offline: the lock is the only input)."""
    target = tmp_path / "requirements.txt"
    audit.export_requirements(target)
    pins = [
        line.split(";")[0].strip()
        for line in target.read_text().splitlines()
        if line and not line.startswith((" ", "#"))
    ]
    names = {pin.split("==")[0] for pin in pins}
    assert all("==" in pin for pin in pins)
    assert {"flask", "sqlalchemy", "gunicorn", "psycopg", "argon2-cffi"} <= names
    assert not names & {"authkit-core", "authkit-flask", "flight-app"}
    assert not names & {"pytest", "ruff", "mypy", "pip-audit"}, "dev tools are not shipped"
    assert audit.first_pin(target)[0] in names


class _Answer:
    def __init__(self, body: bytes, status: int = 200) -> None:
        self.body, self.status = body, status

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def read(self) -> bytes:
        return self.body


@pytest.mark.parametrize(
    ("service", "answer", "expected"),
    [
        # PyPI's per-release JSON carries the advisories: the service answers.
        ("pypi", _Answer(b'{"info": {}, "vulnerabilities": []}'), True),
        # A mirror's project JSON without advisories is not the vulnerability API.
        ("pypi", _Answer(b'{"info": {}, "releases": {}}'), False),
        ("pypi", _Answer(b"<html>not json</html>"), False),
        ("osv", _Answer(b"{}"), True),
        ("osv", _Answer(b'{"vulns": []}'), True),
        ("pypi", OSError("Name or service not known"), False),
        ("osv", TimeoutError("timed out"), False),
    ],
)
def test_probe_asks_what_pip_audit_asks(
    monkeypatch: pytest.MonkeyPatch, service: str, answer: Any, expected: bool
) -> None:
    asked: list[Any] = []

    def urlopen(request: Any, timeout: float) -> Any:
        asked.append(request)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    monkeypatch.setattr(audit.urllib.request, "urlopen", urlopen)
    assert audit.probe(service, "flask", "3.1.0") is expected
    (request,) = asked
    if service == "pypi":
        assert request.full_url == "https://pypi.org/pypi/flask/3.1.0/json"
    else:
        assert request.full_url == "https://api.osv.dev/v1/query"
        assert json.loads(request.data) == {
            "package": {"name": "flask", "ecosystem": "PyPI"},
            "version": "3.1.0",
        }


def test_a_404_from_the_index_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def urlopen(request: Any, timeout: float) -> Any:
        raise audit.urllib.error.HTTPError(request.full_url, 404, "Not Found", {}, None)

    monkeypatch.setattr(audit.urllib.request, "urlopen", urlopen)
    assert audit.probe("pypi", "flask", "3.1.0") is False
