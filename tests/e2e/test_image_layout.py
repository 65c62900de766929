"""The image's layout, run without a container engine: build, migrate, serve, health, stop.

No Docker here, so this does what the image and compose would do, from their own
files, as closely as a plain process can:

- the build context is what ``.dockerignore`` lets through (nothing else is copied);
- the environment is built with the Dockerfile's own ``uv sync`` commands into a
  fresh folder, outside the repository (non-editable: nothing may rely on the
  source tree);
- the ``migrate`` service's command, then the image's ENTRYPOINT + CMD, run with
  the image's ENV overlaid by the compose app service's environment and a secrets
  folder of exactly the secrets compose mounts (database and Redis pointed at the
  test servers, the bind address at 127.0.0.1, paths at a temporary folder);
- the Dockerfile's HEALTHCHECK command must succeed once ready, and SIGTERM must
  stop the server well within compose's ``stop_grace_period``.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import yaml  # type: ignore[import-untyped, unused-ignore]

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _final_stage() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text(encoding="utf-8"))
    lines = [
        ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1]) for ln in lines]


def _build_context(target: Path) -> None:
    """Copy what ``.dockerignore`` (an allowlist) sends to the builder."""
    patterns = [
        ln.strip()
        for ln in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert patterns[0] == "*", ".dockerignore is an allowlist"
    included = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    excluded = [p.removeprefix("**/") for p in patterns[1:] if not p.startswith("!")]

    def ignore(_folder: str, names: list[str]) -> list[str]:
        return [n for n in names if any(fnmatch.fnmatch(n, pattern) for pattern in excluded)]

    for entry in included:
        source = ROOT / entry
        if source.is_dir():
            shutil.copytree(source, target / entry, ignore=ignore)
        else:
            (target / entry).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / entry)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _with_host(url: str, server_url: str) -> str:
    """``url`` with the scheme, host, port and path of ``server_url``; its query kept."""
    parts, server = urlsplit(url), urlsplit(server_url)
    return urlunsplit(server._replace(query=parts.query or server.query))


def test_image_layout_builds_migrates_serves_checks_health_and_stops(
    tmp_path: Path, postgres_url: str, redis_url: str
) -> None:
    stage = _final_stage()
    context = tmp_path / "context"
    _build_context(context)

    # The environment, with the Dockerfile's own uv sync commands.
    venv = tmp_path / "opt-venv"
    uv = os.environ.get("UV") or shutil.which("uv")
    uv_command = [uv] if uv else [sys.executable, "-m", "uv"]
    syncs = [args for word, args in stage if word == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    build_env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": sys.executable}
    build_env.pop("VIRTUAL_ENV", None)
    for run in syncs:
        arguments = run.split("uv sync", 1)[1].split()
        subprocess.run(
            [*uv_command, "sync", *arguments],
            cwd=context,
            env=build_env,
            check=True,
            capture_output=True,
            timeout=300,
        )
    shutil.rmtree(context)  # the runtime stage has no source tree
    for module in ("authkit", "authkit_flask", "flight_app", "psycopg", "gunicorn"):
        where = subprocess.run(
            [venv / "bin" / "python", "-c", f"import {module}; print({module}.__file__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert where.startswith(str(venv)), f"{module} is not installed in the venv: {where}"

    # The runtime environment: the image's ENV, then compose's app environment.
    compose: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    app = compose["services"]["app"]
    image_env: dict[str, str] = {}
    final_from = max(i for i, (word, _) in enumerate(stage) if word == "FROM")
    for word, args in stage[final_from:]:
        if word == "ENV":
            for pair in args.split():
                key, _, value = pair.partition("=")
                image_env[key] = value
    env = {**image_env, **{k: str(v) for k, v in app["environment"].items()}}
    port = _free_port()
    secrets = tmp_path / "run-secrets"
    _load_script("make_compose_secrets").make_secrets(tmp_path / "secrets")
    secrets.mkdir()
    for name in app["secrets"]:
        shutil.copy(tmp_path / "secrets" / name, secrets / name)
    (secrets / "database_url").write_text(postgres_url + "\n")  # the test's own database
    env.update(
        {
            "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
            "HOME": str(tmp_path / "nonexistent"),
            "FLIGHT_APP_SECRETS_DIR": str(secrets),
            "FLIGHT_APP_HOST": "127.0.0.1",  # tests bind to loopback; the image uses 0.0.0.0
            "FLIGHT_APP_PORT": str(port),
            "FLIGHT_APP_INSTANCE_PATH": str(tmp_path / "tmp" / "flight-app"),
            "FLIGHT_APP_KEYRING_PATH": str(tmp_path / "keyring" / "keyring.json"),
            "FLIGHT_APP_LOG_DIR": str(tmp_path / "logs"),
            "FLIGHT_APP_RATELIMIT_STORAGE_URL": _with_host(
                env["FLIGHT_APP_RATELIMIT_STORAGE_URL"], redis_url
            ),
            "FLIGHT_APP_REDIS_URL": _with_host(env["FLIGHT_APP_REDIS_URL"], redis_url),
        }
    )
    assert env["APP_ENV"] == "prod"
    (tmp_path / "keyring").mkdir()
    (tmp_path / "logs").mkdir()
    workdir = next(args for word, args in stage[final_from:] if word == "WORKDIR")
    cwd = tmp_path / workdir.lstrip("/")
    cwd.mkdir(parents=True)

    # The migrate service: its entrypoint and command.
    migrate = compose["services"]["migrate"]
    done = subprocess.run(
        [*migrate["entrypoint"], *migrate["command"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Created user 'admin'." in done.stdout
    assert "Generated password" not in done.stdout  # it came from the secret

    # The image's ENTRYPOINT + CMD.
    entrypoint = json.loads(next(a for w, a in stage[final_from:] if w == "ENTRYPOINT"))
    cmd = json.loads(next(a for w, a in stage[final_from:] if w == "CMD"))
    healthcheck = next(a for w, a in stage[final_from:] if w == "HEALTHCHECK")
    probe = json.loads(healthcheck.split("CMD", 1)[1].strip())
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [*entrypoint, *cmd], cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        healthy = False
        while time.monotonic() < deadline and server.poll() is None:
            check = subprocess.run(probe, env=env, capture_output=True, timeout=10, check=False)
            if check.returncode == 0:
                healthy = True
                break
            time.sleep(0.5)
        assert healthy, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
        ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
        assert ready.status_code == 200
        assert ready.json()["status"] == "ok"
        # The one trusted hop: the address comes from X-Forwarded-For, as nginx sets it.
        wrong = httpx.post(
            f"http://127.0.0.1:{port}/auth/login",
            json={"username": "admin", "password": "not the password at all"},
            headers={"X-Forwarded-For": "203.0.113.9"},
            timeout=10,
        )
        assert wrong.status_code == 401
    finally:
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
            log.close()
    grace = int(str(app["stop_grace_period"]).removesuffix("s"))
    assert time.monotonic() - started < grace, "docker would have sent SIGKILL"
    assert code == 0, (tmp_path / "serve.log").read_text(errors="replace")[-3000:]
