"""Every file the app creates is private to its owner, whatever the umask lets through.

Regression (security probe, finding 7): the SQLite database and its ``-wal`` /
``-shm`` files were 0644 and the instance and metrics folders 0755, so any local
account could read the password hashes. Now: folders 0700, the database 0600,
the key ring 0600, logs 0640 (an operator's group may read them), under the
common default umask 022.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from flight_app import cli
from flight_app.app import create_app, get_components

PASSWORD = "tangerine-orbit-58-lighthouse"


@pytest.fixture
def default_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def modes(root: Path) -> dict[str, int]:
    return {
        str(path.relative_to(root)): stat.S_IMODE(path.stat().st_mode)
        for path in [root, *sorted(root.rglob("*"))]
    }


def test_the_instance_folder_holds_only_private_files(
    app_env: None,
    default_umask: None,
    instance_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLIGHT_APP_INSTANCE_PATH", str(instance_path))
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed"]) == 0
    app = create_app()
    client = app.test_client()
    body = {"username": "perms", "email": "perms@example.com", "password": PASSWORD}
    assert client.post("/auth/register", json=body).status_code == 201
    assert client.post("/auth/login", json=body).status_code == 200
    get_components(app).close()
    # It exports PROMETHEUS_MULTIPROC_DIR for gunicorn: restored after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(instance_path / "prometheus"))
    cli._prepare_metrics_dir(instance_path / "prometheus")

    found = modes(instance_path)
    assert found["."] == 0o700
    assert found["prometheus"] == 0o700
    assert found["flight_app.db"] == 0o600
    assert found["keyring.json"] == 0o600
    for name in ("auth.jsonl", "system.jsonl"):
        assert found[name] & 0o137 == 0, f"{name} is {oct(found[name])}"
    for name, mode in found.items():
        assert mode & 0o007 == 0, f"{name} is {oct(mode)}: readable by any local account"
        if name.startswith("flight_app.db"):
            assert mode == 0o600, f"{name} is {oct(mode)}"


def test_an_operator_chosen_database_mode_is_kept(tmp_path: Path, default_umask: None) -> None:
    from authkit.storage import create_engine

    database = tmp_path / "shared.db"
    database.touch(mode=0o640)
    create_engine(f"sqlite:///{database}").dispose()
    assert stat.S_IMODE(database.stat().st_mode) == 0o640
    fresh = tmp_path / "fresh.db"
    engine = create_engine(f"sqlite:///{fresh}")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    engine.dispose()
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600
