"""Vulnerability scan of the locked runtime dependencies: ``nox -s audit``.

1. ``uv export --frozen --no-dev --no-hashes --no-emit-workspace`` writes the
   third-party packages the three workspace packages need at run time, exactly as
   pinned in ``uv.lock`` (the workspace members themselves are not on PyPI, so
   they are left out rather than reported as unauditable).
2. ``pip-audit --strict --no-deps --disable-pip -r`` checks each pin against the
   vulnerability service, writing a JSON report. ``--strict`` matters: without it
   pip-audit says "No known vulnerabilities found" and exits 0 even when it could
   audit nothing at all. ``--no-deps --disable-pip``: the export already lists
   every transitive pin, so nothing is resolved or installed.

Outcomes, one summary line each:

- every package audited, none vulnerable: exit 0, ``PASS``;
- a known vulnerability: exit 1, each listed (package, version, id, fixed in);
- the vulnerability service could not be reached from this machine (pip-audit
  audited nothing, and a direct request to the service fails too): exit 0 with
  one ``NOT RUN`` line that says so and never claims a pass, unless
  ``--require-service`` (CI on GitHub, where the service is reachable) makes it
  exit 3;
- anything else (a package not on PyPI, an export or pip-audit failure): exit 2.

Here, for instance, the package index answers the simple API that installers use
but not the JSON API pip-audit's default ``pypi`` service needs (every package is
"not found on PyPI"), and OSV's host does not resolve.
"""

from __future__ import annotations

import argparse
import enum
import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "reports"
PROBE_TIMEOUT: Final = 10.0
SERVICES: Final = ("pypi", "osv")
# What pip-audit says when the service answered nothing usable for a package.
_UNAUDITABLE = ("could not be audited", "not found on pypi")
# What a failed connection looks like in pip-audit's output (OSV raises instead).
_CONNECTION_ERRORS = (
    "connectionerror",
    "max retries exceeded",
    "name or service not known",
    "temporary failure in name resolution",
    "failed to resolve",
    "timed out",
    "connection refused",
    "network is unreachable",
)


class Outcome(enum.Enum):
    PASSED = 0
    VULNERABLE = 1
    FAILED = 2
    UNREACHABLE = 3


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vuln_id: str
    fix_versions: tuple[str, ...]

    def __str__(self) -> str:
        fixed = ", ".join(self.fix_versions) or "no fixed version yet"
        return f"{self.package} {self.version}: {self.vuln_id} (fixed in: {fixed})"


@dataclass(frozen=True)
class Verdict:
    outcome: Outcome
    audited: int = 0
    skipped: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    detail: str = ""


@dataclass(frozen=True)
class AuditRun:
    """What one pip-audit run left behind: exit status, its JSON report, stderr."""

    returncode: int
    report: dict[str, Any] | None
    stderr: str


def classify(run: AuditRun, *, service_answers: Callable[[], bool]) -> Verdict:
    """Decide what a pip-audit run means; ``service_answers`` probes the service.

    "Could not reach the service" needs two things: pip-audit could not audit
    (every package in its report unauditable, or no report and an unauditable
    package or a connection error on stderr), and the service does not answer a
    direct query about a package of the export either. Anything less is a failure.
    """
    if run.report is not None:
        dependencies = run.report.get("dependencies", [])
        findings = tuple(
            Finding(d["name"], d.get("version", "?"), v["id"], tuple(v.get("fix_versions", ())))
            for d in dependencies
            for v in d.get("vulns", [])
        )
        skipped = tuple(
            f"{d['name']}: {d['skip_reason']}" for d in dependencies if d.get("skip_reason")
        )
        audited = sum(1 for d in dependencies if not d.get("skip_reason"))
        if findings:
            return Verdict(Outcome.VULNERABLE, audited, skipped, findings)
        if dependencies and audited == 0 and all(_unauditable(s) for s in skipped):
            if not service_answers():
                return Verdict(Outcome.UNREACHABLE, 0, skipped)
            return Verdict(
                Outcome.FAILED,
                0,
                skipped,
                detail="no package could be audited, yet the service answers a direct request",
            )
        if run.returncode == 0 and not skipped and audited:
            return Verdict(Outcome.PASSED, audited)
        detail = f"pip-audit exited {run.returncode}"
        if skipped:
            detail += f"; {len(skipped)} package(s) not audited"
        return Verdict(Outcome.FAILED, audited, skipped, detail=detail)
    # No report: with --strict, pip-audit stops at the first package it cannot audit
    # (the pypi service here: "not found on PyPI") and OSV raises on a connection
    # error. Either is "unreachable" only if the service fails a direct query too.
    lowered = run.stderr.lower()
    markers = _CONNECTION_ERRORS + _UNAUDITABLE
    if run.returncode != 0 and any(m in lowered for m in markers) and not service_answers():
        return Verdict(Outcome.UNREACHABLE)
    # report_lines prints the end of pip-audit's stderr with this.
    return Verdict(Outcome.FAILED, detail=f"pip-audit exited {run.returncode} without a report")


def _unauditable(skip_reason: str) -> bool:
    lowered = skip_reason.lower()
    return any(marker in lowered for marker in _UNAUDITABLE)


def probe(service: str, package: str, version: str, *, timeout: float = PROBE_TIMEOUT) -> bool:
    """Does the service answer the query pip-audit makes, for one pinned package?

    For ``pypi`` that is the per-release JSON (``/pypi/<name>/<version>/json``) with
    its ``vulnerabilities`` member: a mirror may serve the project JSON but not this.
    """
    if service == "osv":
        query = {"package": {"name": package, "ecosystem": "PyPI"}, "version": version}
        request = urllib.request.Request(
            "https://api.osv.dev/v1/query",
            data=json.dumps(query).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
    else:
        request = urllib.request.Request(f"https://pypi.org/pypi/{package}/{version}/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            answer = json.loads(response.read())
    except (OSError, ValueError):  # URLError, HTTPError, timeouts, a non-JSON answer
        return False
    if not isinstance(answer, dict):
        return False
    return service == "osv" or isinstance(answer.get("vulnerabilities"), list)


def _uv() -> list[str]:
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def export_requirements(target: Path) -> None:
    """The locked third-party runtime dependencies, pinned, one per line."""
    subprocess.run(  # noqa: S603 - uv with fixed arguments
        [
            *_uv(),
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-workspace",
            "--format",
            "requirements-txt",
            "--output-file",
            str(target),
        ],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_pip_audit(requirements: Path, report: Path, service: str, timeout: int) -> AuditRun:
    report.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--strict",
        "--no-deps",
        "--disable-pip",
        "--requirement",
        str(requirements),
        "--vulnerability-service",
        service,
        "--timeout",
        str(timeout),
        "--progress-spinner",
        "off",
        "--format",
        "json",
        "--output",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    loaded: dict[str, Any] | None = None
    if report.exists():
        try:
            loaded = json.loads(report.read_text(encoding="utf-8"))
        except ValueError:
            loaded = None
    return AuditRun(done.returncode, loaded, done.stderr)


def first_pin(requirements: Path) -> tuple[str, str]:
    """A release the service must know: the first ``name==version`` of the export."""
    for raw in requirements.read_text(encoding="utf-8").splitlines():
        pin = raw.split(";", 1)[0].strip()
        if pin and not pin.startswith(("#", "-")) and "==" in pin:
            name, _, version = pin.partition("==")
            return name.strip(), version.strip()
    raise ValueError(f"{requirements} pins no package")


def report_lines(verdict: Verdict, service: str, run: AuditRun | None = None) -> list[str]:
    """What is printed: always one summary line first, details after."""
    where = {"pypi": "PyPI's JSON API (pypi.org/pypi)", "osv": "OSV (api.osv.dev)"}[service]
    if verdict.outcome is Outcome.UNREACHABLE:
        return [
            f"audit: NOT RUN - the vulnerability service, {where}, does not answer from "
            "here; nothing was scanned, so this is not a pass."
        ]
    if verdict.outcome is Outcome.PASSED:
        return [
            f"audit: PASS - {verdict.audited} packages audited against {where}, none vulnerable."
        ]
    if verdict.outcome is Outcome.VULNERABLE:
        return [
            f"audit: FAIL - {len(verdict.findings)} known vulnerabilit"
            f"{'y' if len(verdict.findings) == 1 else 'ies'} in the locked dependencies:",
            *(f"  {finding}" for finding in verdict.findings),
        ]
    lines = [f"audit: ERROR - {verdict.detail}"]
    lines += [f"  not audited: {reason}" for reason in verdict.skipped[:20]]
    if run is not None and run.report is None and run.stderr.strip():
        lines += [f"  {line}" for line in run.stderr.strip().splitlines()[-5:]]
    return lines


EXIT_CODES: Final = {
    Outcome.PASSED: 0,
    Outcome.VULNERABLE: 1,
    Outcome.FAILED: 2,
    Outcome.UNREACHABLE: 0,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--vulnerability-service", choices=SERVICES, default="pypi")
    parser.add_argument("--timeout", type=int, default=15, help="seconds per request")
    parser.add_argument(
        "--require-service",
        action="store_true",
        help="an unreachable service is a failure (exit 3), for CI with internet access",
    )
    parser.add_argument(
        "--not-run-exit-code",
        type=int,
        default=0,
        metavar="N",
        help="exit status when the service does not answer (default 0; nox -s audit "
        "uses its own, to report the session as skipped rather than successful)",
    )
    args = parser.parse_args(argv)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    requirements = args.output_dir / "requirements-audit.txt"
    report = args.output_dir / "pip-audit.json"
    try:
        export_requirements(requirements)
        first_pin(requirements)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"audit: ERROR - uv export failed: {exc}")
        return 2
    service = args.vulnerability_service
    run = run_pip_audit(requirements, report, service, args.timeout)
    package, version = first_pin(requirements)
    verdict = classify(run, service_answers=lambda: probe(service, package, version))
    for line in report_lines(verdict, service, run):
        print(line)
    if verdict.outcome is not Outcome.UNREACHABLE:
        print(f"audit: report in {report}")
    if verdict.outcome is Outcome.UNREACHABLE:
        return 3 if args.require_service else int(args.not_run_exit_code)
    return EXIT_CODES[verdict.outcome]


if __name__ == "__main__":
    raise SystemExit(main())
