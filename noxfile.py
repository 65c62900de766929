"""Every developer task is a nox session. ``uv run nox -l`` lists them.

Most sessions run in the project's own uv environment (``uv run --frozen``), so
they use exactly the locked versions and cost no extra install; the
``core_without_flask`` and ``adapter_without_app`` sessions build separate
environments on purpose.
"""

from __future__ import annotations

import subprocess

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = [
    "tests",
    "core_without_flask",
    "adapter_without_app",
    "lint",
    "typecheck",
    "migrations",
    "deps",
    "docs",
    "containers",
    "audit",
]

AUDIT_NOT_RUN = 75  # EX_TEMPFAIL: the audit script's "could not run here"

SOURCES = [
    "packages/authkit/src",
    "packages/authkit-flask/src",
    "examples/flight_app/src",
]


def _uv_run(session: nox.Session, *args: str) -> None:
    session.run("uv", "run", "--frozen", *args, external=True)


@nox.session(venv_backend="none")
def tests(session: nox.Session) -> None:
    """The whole test suite (PostgreSQL/Redis tests run when their URLs are set)."""
    _uv_run(session, "pytest", *session.posargs)


@nox.session(python="3.11")
def core_without_flask(session: nox.Session) -> None:
    """The core's tests in an environment where flask is not installed at all."""
    session.install(
        "./packages/authkit",
        "pytest",
        "pytest-timeout",
        "pytest-benchmark",
        "hypothesis",
        "time-machine",
        "redis",
        "psycopg[binary]",
        "aiosmtpd",  # tests/conftest.py: the SMTP server of the mail tests
        "trustme",  # tests/conftest.py: its TLS certificates
    )
    session.run(
        "python",
        "-c",
        "import importlib.util, sys; "
        "sys.exit('flask is installed' if importlib.util.find_spec('flask') else 0)",
    )
    session.run("pytest", "tests/authkit", "-p", "no:cacheprovider", *session.posargs)


@nox.session(python="3.11")
def adapter_without_app(session: nox.Session) -> None:
    """The adapter's tests in an environment where the reference app is not installed."""
    session.install(
        "./packages/authkit",
        "./packages/authkit-flask",
        "pytest",
        "hypothesis",
        "pytest-timeout",
        "pytest-benchmark",
        "redis",
        "psycopg[binary]",
        "websockets",
        "openapi-spec-validator",  # test_openapi.py: the meta-schema and response schemas
        "aiosmtpd",  # tests/conftest.py: the SMTP server of the mail tests
        "trustme",  # tests/conftest.py: its TLS certificates
    )
    session.run(
        "python",
        "-c",
        "import importlib.util, sys; "
        "sys.exit('flight_app is installed' if importlib.util.find_spec('flight_app') else 0)",
    )
    session.run("pytest", "tests/authkit_flask", "-p", "no:cacheprovider", *session.posargs)


@nox.session(venv_backend="none")
def deps(session: nox.Session) -> None:
    """deptry: each package declares what it imports and imports what it declares."""
    for package in ("packages/authkit", "packages/authkit-flask", "examples/flight_app"):
        with session.chdir(package):
            _uv_run(session, "deptry", "src")


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff lint, ruff format --check, and the PII rule (no raw PII in log or audit calls)."""
    _uv_run(session, "ruff", "check", ".")
    _uv_run(session, "ruff", "format", "--check", ".")
    _uv_run(session, "python", "scripts/check_pii_logging.py")


@nox.session(venv_backend="none")
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the three packages, the tests, the scripts and the benchmarks."""
    _uv_run(session, "mypy", *SOURCES, "tests", "noxfile.py", "scripts", "benchmarks")


@nox.session(venv_backend="none")
def migrations(session: nox.Session) -> None:
    """upgrade head / alembic check / downgrade base on empty SQLite and PostgreSQL."""
    _uv_run(session, "python", "scripts/check_migrations.py")


@nox.session(venv_backend="none")
def docs(session: nox.Session) -> None:
    """Build the documentation site (Material, mkdocstrings) offline, warnings as errors."""
    session.env["NO_MKDOCS_2_WARNING"] = "1"  # Material's banner about its successor
    _uv_run(session, "mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(venv_backend="none")
def containers(session: nox.Session) -> None:
    """Static checks of what no engine runs here: Dockerfile, compose.yaml, *.ps1.

    hadolint fails on any finding (a justified exception is an inline
    ``# hadolint ignore=DLxxxx`` with its reason); compose.yaml is validated against
    the Compose Specification schema; every PowerShell script must parse cleanly
    (tree-sitter). tests/deploy/ checks that compose agrees with the app's settings.
    """
    _uv_run(session, "hadolint", "Dockerfile")
    _uv_run(session, "check-jsonschema", "--builtin-schema", "vendor.compose-spec", "compose.yaml")
    _uv_run(session, "python", "scripts/check_powershell.py")


@nox.session(venv_backend="none")
def audit(session: nox.Session) -> None:
    """pip-audit --strict over the runtime dependencies exported from uv.lock.

    When the vulnerability service does not answer from this machine, the script
    prints one "NOT RUN" line and this session is reported as skipped (exit 0),
    never as successful; ``-- --require-service`` makes that a failure instead.
    The JSON report is written to reports/pip-audit.json.
    """
    command = ["uv", "run", "--frozen", "python", "scripts/audit_dependencies.py"]
    command += ["--not-run-exit-code", str(AUDIT_NOT_RUN), *session.posargs]
    session.log(" ".join(command))
    code = subprocess.call(command)
    if code == AUDIT_NOT_RUN:
        session.skip("the vulnerability scan could not run here (see the NOT RUN line)")
    if code != 0:
        session.error(f"scripts/audit_dependencies.py exited {code}")


@nox.session(venv_backend="none")
def fuzz(session: nox.Session) -> None:
    """schemathesis against a real ``flight-app serve``, longer than the CI run.

    ``nox -s fuzz -- --examples 200 --seed 7`` to choose the budget and the seed.
    """
    args = session.posargs or ["--examples", "100"]
    _uv_run(session, "python", "scripts/fuzz_api.py", *args)


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """authkit beside its peers (``benchmarks/compare_peers.py``): in process and over HTTP.

    Not a default session and not in CI: it takes minutes and its figures mean
    something only on a quiet machine. It installs the pinned ``peers`` group.
    ``nox -s bench -- --rounds 9`` passes options through.
    """
    _uv_run(session, "--group", "peers", "python", "benchmarks/compare_peers.py", *session.posargs)
