"""The static checks of ``nox -s containers`` pass on the real files and fail on planted defects.

No container engine or PowerShell runs here, so these checks are all that stands
between a broken Dockerfile, compose file or script and a user. Each is run exactly
as the nox session runs it, first on the shipped file (it must pass: otherwise CI
is red) and then on a copy with one defect planted (it must fail, naming it).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "compose.yaml"
START_WEBAPP = ROOT / "scripts" / "Start-WebApp.ps1"


def _load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_powershell", ROOT / "scripts" / "check_powershell.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_powershell"] = module
    spec.loader.exec_module(module)
    return module


check_powershell = _load_checker()


def _run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, timeout=120
    )


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(BIN / "hadolint", "--no-color", path)


def compose_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return _run(BIN / "check-jsonschema", "--builtin-schema", "vendor.compose-spec", path)


# --- Dockerfile: hadolint ------------------------------------------------------------


def test_hadolint_passes_the_dockerfile_with_every_exception_explained() -> None:
    result = hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = DOCKERFILE.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "hadolint ignore" in line:
            reason = line.split("hadolint ignore=", 1)[1].split(None, 1)[1:]
            previous = lines[number - 1].strip() if number else ""
            assert reason or previous.startswith("#"), f"line {number + 1}: ignore without a reason"


@pytest.mark.parametrize(
    ("defect", "rule"),
    [
        # An unpinned base image: a rebuild may get anything.
        (
            lambda text: re.sub(
                r"^FROM python:\S+ AS runtime", "FROM python:latest AS runtime", text, flags=re.M
            ),
            "DL3007",
        ),
        # Running as root.
        (lambda text: text.replace("USER 10001:10001", "USER root"), "DL3002"),
        # An unpinned apt package, with the lists left in the image.
        (
            lambda text: text.replace(
                "COPY --from=build /opt/venv /opt/venv",
                "RUN apt-get update && apt-get install -y curl\n"
                "COPY --from=build /opt/venv /opt/venv",
            ),
            "DL3008",
        ),
        # An unpinned pip install.
        (lambda text: text.replace("uv==0.13.9", "uv"), "DL3013"),
        # A relative WORKDIR.
        (lambda text: text.replace("WORKDIR /src", "WORKDIR src"), "DL3000"),
    ],
    ids=["latest-tag", "root-user", "apt-unpinned", "pip-unpinned", "relative-workdir"],
)
def test_hadolint_fails_on_a_planted_defect(
    tmp_path: Path, defect: Callable[[str], str], rule: str
) -> None:
    original = DOCKERFILE.read_text(encoding="utf-8")
    planted = defect(original)
    assert planted != original, "the defect was not planted"
    broken = tmp_path / "Dockerfile"
    broken.write_text(planted, encoding="utf-8")
    result = hadolint(broken)
    assert result.returncode != 0
    assert rule in result.stdout


# --- compose.yaml: the Compose Specification schema ---------------------------------


def test_compose_file_matches_the_compose_spec() -> None:
    result = compose_schema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        # A key compose does not know (a typo of restart:).
        ("    restart: unless-stopped\n", "    restart_policy: unless-stopped\n", "restart_policy"),
        # depends_on with an unknown condition.
        ("condition: service_healthy", "condition: service_ready", "service_ready"),
        # A healthcheck with a wrongly typed field.
        ("      retries: 10\n", "      retries: [ten]\n", "retries"),
    ],
    ids=["unknown-key", "bad-condition", "bad-type"],
)
def test_compose_schema_fails_on_a_planted_defect(
    tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    original = COMPOSE.read_text(encoding="utf-8")
    assert old in original
    broken = tmp_path / "compose.yaml"
    broken.write_text(original.replace(old, new, 1), encoding="utf-8")
    result = compose_schema(broken)
    assert result.returncode != 0
    assert complaint in result.stdout + result.stderr


# --- PowerShell: tree-sitter ----------------------------------------------------------


def test_every_powershell_script_parses() -> None:
    result = _run(sys.executable, ROOT / "scripts" / "check_powershell.py")
    assert result.returncode == 0, result.stdout
    assert "0 problem(s)" in result.stdout
    assert check_powershell.scripts_under([ROOT]) == [START_WEBAPP]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # A block left open: the parser has to invent the '}'.
        ("    $arguments += '--tail'\n}\n", "    $arguments += '--tail'\n", "missing '}'"),
        # An unterminated string.
        ("@('run', '--frozen'", "@('run, '--frozen'", "syntax error"),
        # An attribute missing its ')'.
        ("[ValidateRange(1, 65535)]", "[ValidateRange(1, 65535]", "syntax error"),
        # A condition missing its ')'.
        ("if ($Tail) {", "if ($Tail {", "syntax error"),
    ],
    ids=["open-block", "open-string", "attribute", "condition"],
)
def test_powershell_check_fails_on_a_planted_defect(
    tmp_path: Path, old: str, new: str, expected: str
) -> None:
    original = START_WEBAPP.read_text(encoding="utf-8")
    assert old in original
    broken = tmp_path / "Start-WebApp.ps1"
    broken.write_text(original.replace(old, new, 1), encoding="utf-8")
    result = _run(sys.executable, ROOT / "scripts" / "check_powershell.py", broken)
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert re.match(rf"{re.escape(str(broken))}:\d+:\d+: ", first), first
    assert expected in result.stdout
    # The line named is where the defect is (or, for an open block, where it ends).
    line = int(first.split(":")[1])
    defect_line = (
        original.replace(old, new, 1)[: original.replace(old, new, 1).index(new)].count("\n") + 1
    )
    assert line >= defect_line


def test_powershell_check_with_nothing_to_check_is_an_error(tmp_path: Path) -> None:
    result = _run(sys.executable, ROOT / "scripts" / "check_powershell.py", tmp_path)
    assert result.returncode == 2


def test_start_webapp_follows_powershell_conventions() -> None:
    """Approved verb, CmdletBinding, comment-based help, validated parameters."""
    text = START_WEBAPP.read_text(encoding="utf-8")
    assert START_WEBAPP.stem.split("-")[0] == "Start"  # an approved verb (Get-Verb)
    assert "[CmdletBinding()]" in text
    for keyword in (".SYNOPSIS", ".DESCRIPTION", ".EXAMPLE"):
        assert keyword in text
    for parameter in ("Port", "Workers", "Tail"):
        assert f".PARAMETER {parameter}" in text
    assert "[ValidateRange(1, 65535)]\n    [int] $Port" in text
    assert "[ValidateRange(1, 64)]\n    [int] $Workers" in text
    assert "[switch] $Tail" in text
    # The thin wrapper: exactly flight-app serve with the three flags, exit code passed on.
    assert "'flight-app', 'serve', '--port', \"$Port\", '--workers', \"$Workers\"" in text
    assert "$arguments += '--tail'" in text
    assert "exit $process.ExitCode" in text
