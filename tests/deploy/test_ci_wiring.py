"""The deployment checks are wired where they run: nox, ``.ci/run``, the GitHub workflow.

A check that exists but is never run protects nothing; these assertions keep the
``containers`` and ``audit`` sessions in every entry point, the vulnerability scan
on its weekly schedule, and its report uploaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

ROOT = Path(__file__).resolve().parents[2]


def _workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((ROOT / ".github/workflows/ci.yml").read_text())
    return loaded


def test_nox_runs_the_new_sessions_by_default() -> None:
    text = (ROOT / "noxfile.py").read_text()
    default = re.search(r"nox\.options\.sessions = \[(.*?)\]", text, re.S)
    assert default is not None
    assert '"containers"' in default[1]
    assert '"audit"' in default[1]


def test_ci_run_calls_containers_and_audit() -> None:
    commands = [
        line
        for line in (ROOT / ".ci/run").read_text().splitlines()
        if "nox -s" in line and not line.lstrip().startswith("#")
    ]
    assert any(re.search(r"nox -s .*\bcontainers\b", line) for line in commands)
    assert any(re.search(r"nox -s audit\b", line) for line in commands)


def test_workflow_scans_every_pull_request_and_weekly_and_keeps_the_report() -> None:
    workflow = _workflow()
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1: on = true
    assert "pull_request" in triggers
    (schedule,) = triggers["schedule"]
    minute, hour, day, month, weekday = schedule["cron"].split()
    assert minute.isdigit()
    assert hour.isdigit(), "at one fixed time"
    assert (day, month) == ("*", "*")
    assert weekday.isdigit(), "once a week"
    steps = workflow["jobs"]["audit"]["steps"]
    runs = [step.get("run", "") for step in steps]
    assert any("nox -s audit" in run and "--require-service" in run for run in runs)
    (upload,) = [s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact")]
    assert upload["if"] == "${{ always() }}"
    assert "reports/pip-audit.json" in upload["with"]["path"]
    checks = [s.get("run", "") for s in workflow["jobs"]["checks"]["steps"]]
    assert any("nox -s containers" in run for run in checks)


def test_pre_commit_has_a_pip_audit_hook_on_push() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    hook = hooks["pip-audit"]
    assert "scripts/audit_dependencies.py" in hook["entry"]
    assert set(hook["stages"]) == {"pre-push", "manual"}
