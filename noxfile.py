"""Every developer task is a nox session. ``uv run nox -l`` lists them.

Most sessions run in the project's own uv environment (``uv run --frozen``), so
they use exactly the locked versions and cost no extra install; the
``core_without_flask`` and ``adapter_without_app`` sessions build separate
environments on purpose.
"""

from __future__ import annotations

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
]

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
    """ruff lint and ruff format --check."""
    _uv_run(session, "ruff", "check", ".")
    _uv_run(session, "ruff", "format", "--check", ".")


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
    """Build the documentation site with warnings as errors."""
    _uv_run(session, "mkdocs", "build", "--strict", "--site-dir", "site")


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """authkit beside its peers (``benchmarks/compare_peers.py``): in process and over HTTP.

    Not a default session and not in CI: it takes minutes and its figures mean
    something only on a quiet machine. It installs the pinned ``peers`` group.
    ``nox -s bench -- --rounds 9`` passes options through.
    """
    _uv_run(session, "--group", "peers", "python", "benchmarks/compare_peers.py", *session.posargs)
