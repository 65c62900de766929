"""``flight-app seed``: no username in the system log, and a clear refusal on an
unmigrated database (issue 11).

The seed step once logged ``{"username": ...}`` for every account it created or
skipped, so the configured admin's name sat in clear text in ``system.jsonl``; and
on a database nobody had migrated it died with a driver traceback.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from flight_app import cli, migrate

Run = Callable[..., tuple[int, str, str]]

ADMIN_NAME = "ops.chief.kestrel"
DEMO_NAME = "demo.wren.finch"
GENERATED = re.compile(r"Generated password for '(?P<user>[^']+)' \(shown once\): (?P<pw>\S+)")


@pytest.fixture
def run(
    app_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instance_path: Path,
) -> Run:
    """``run(*argv, database_url=None)``: ``flight_app.cli.main`` -> (exit code, out, err)."""
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))

    def call(*argv: str, database_url: str | None = None) -> tuple[int, str, str]:
        if database_url is not None:
            monkeypatch.setenv("FLIGHT_APP_DATABASE_URL", database_url)
        capsys.readouterr()
        code = cli.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return call


def every_file_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_seed_logs_the_account_slot_never_the_username(
    run: Run, migrated_database_url: str, instance_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_ENV", "dev")  # dev seeds the demo user too
    monkeypatch.setenv("FLIGHT_APP_ADMIN_USERNAME", ADMIN_NAME)
    monkeypatch.setenv("FLIGHT_APP_DEMO_USERNAME", DEMO_NAME)
    code, out, _ = run("seed", database_url=migrated_database_url)
    assert code == 0
    assert f"Created user {ADMIN_NAME!r}." in out  # the operator's terminal gets the names
    generated = {m["user"]: m["pw"] for m in GENERATED.finditer(out)}
    assert set(generated) == {ADMIN_NAME, DEMO_NAME}
    code, out, _ = run("seed", database_url=migrated_database_url)
    assert code == 0
    assert f"User {ADMIN_NAME!r} exists; skipped." in out

    log = (instance_path / "system.jsonl").read_text("utf-8")
    assert '"account": "admin"' in log or '"account":"admin"' in log
    assert "seed created user" in log
    assert "seed skipped existing user" in log
    files = every_file_under(instance_path)
    assert instance_path / "system.jsonl" in files
    for path in files:
        data = path.read_bytes()
        for secret in (*generated.values(), ADMIN_NAME, DEMO_NAME):
            assert secret.encode() not in data, (path.name, secret)


def test_seed_on_an_unmigrated_database_says_to_migrate(
    run: Run, database_url: str, instance_path: Path
) -> None:
    code, out, err = run("seed", database_url=database_url)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith("flight-app: the database has no schema yet")
    assert "run `flight-app migrate` first" in err
    assert "Traceback" not in err


def test_seed_on_a_partly_migrated_database_names_its_revision(run: Run, database_url: str) -> None:
    migrate.upgrade(database_url, "0001")
    code, _, err = run("seed", database_url=database_url)
    assert code == 2
    assert "is at revision 0001" in err
    assert "flight-app migrate" in err
    assert "Traceback" not in err
    assert run("migrate", database_url=database_url)[0] == 0
    assert run("seed", database_url=database_url)[0] == 0


def test_purge_tokens_on_an_unmigrated_database_says_to_migrate(
    run: Run, database_url: str
) -> None:
    code, _, err = run("purge-tokens", database_url=database_url)
    assert code == 2
    assert "run `flight-app migrate` first" in err


def test_seed_with_an_unreachable_database_says_so_in_one_line(run: Run) -> None:
    code, _, err = run("seed", database_url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert code == 2
    *logged, last = err.strip().splitlines()
    assert last.startswith("flight-app: cannot reach the database: "), err
    # Before it, at most the storage layer's structured warning (no host, no user).
    assert all(json.loads(line)["message"] == "database unavailable" for line in logged), err
    assert "Traceback" not in err
    assert "nobody" not in err


def test_the_schema_check_creates_a_missing_sqlite_file_private(
    run: Run, tmp_path: Path, instance_path: Path
) -> None:
    previous = os.umask(0o022)
    try:
        database = tmp_path / "fresh.db"
        code, _, _ = run("seed", database_url=f"sqlite:///{database}")
    finally:
        os.umask(previous)
    assert code == 2
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
