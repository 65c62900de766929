"""The reference app on production settings, built in process for the benchmarks.

``APP_ENV=prod`` with its secrets given as environment variables, SQLite (or
``--database-url``) in a temporary instance folder, ``memory://`` limits with
the budgets raised out of the way, and one signed-in user whose bearer token
``auth_environ`` carries. The WSGI callable is driven directly (no test client),
so a figure is what a server's worker spends inside the app.
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PASSWORD = "violet marmalade drifts at noon"
_SECRETS = {
    "FLIGHT_APP_SECRET_KEY": "bench-secret-key-" + "s" * 32,
    "FLIGHT_APP_PSEUDONYM_KEY": "bench-pseudonym-key-" + "p" * 32,
    "FLIGHT_APP_MFA_ENCRYPTION_KEY": "bench-mfa-key-" + "m" * 32,
    "FLIGHT_APP_METRICS_TOKEN": "bench-metrics-token-" + "t" * 32,
}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass
class ReferenceApp:
    app: Any
    wsgi: WsgiApp
    folder: Path
    database_url: str
    access_token: str
    refresh_token: str


def prod_environment(folder: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment variables of a production-settings app in ``folder``."""
    env = {
        "APP_ENV": "prod",
        "FLIGHT_APP_INSTANCE_PATH": str(folder),
        "FLIGHT_APP_RATELIMIT_STORAGE_URL": "memory://",
        **_SECRETS,
    }
    if database_url:
        env["FLIGHT_APP_DATABASE_URL"] = database_url
    return env


def environ(
    method: str, path: str, *, token: str | None = None, body: bytes = b""
) -> dict[str, Any]:
    """A WSGI environ for one request (a fresh one per call: Werkzeug caches on it)."""
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token is not None:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    if body:
        env["CONTENT_TYPE"] = "application/json"
        env["CONTENT_LENGTH"] = str(len(body))
    return env


def call(wsgi: WsgiApp, env: dict[str, Any]) -> tuple[str, bytes]:
    """Run one request through a WSGI callable; return its status line and body."""
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Callable[[bytes], None]:
        status.append(line)
        return lambda _data: None

    result = wsgi(env, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return status[0], body


def build(database_url: str | None = None, *, folder: Path | None = None) -> ReferenceApp:
    """Migrate, build the app on prod settings and sign one user in."""
    import json

    folder = folder or Path(tempfile.mkdtemp(prefix="authkit-bench-"))
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.update(prod_environment(folder, database_url))
    from flight_app.app import create_app
    from flight_app.migrate import upgrade
    from flight_app.settings import load_settings

    settings = load_settings(
        throttle_pair_limit=10**6,
        throttle_address_limit=10**6,
        throttle_account_limit=10**6,
        throttle_register_limit=10**6,
    )
    url = settings.effective_database_url
    upgrade(url)
    app = create_app(settings)
    wsgi: WsgiApp = app  # the Flask app itself (__call__ -> wsgi_app), as a server calls it
    body = {"username": "bench", "email": "bench@example.com", "password": PASSWORD}
    status, _ = call(wsgi, environ("POST", "/auth/register", body=json.dumps(body).encode()))
    assert status.startswith("201"), status
    login = {"username": "bench", "password": PASSWORD}
    status, raw = call(wsgi, environ("POST", "/auth/login", body=json.dumps(login).encode()))
    assert status.startswith("200"), status
    tokens = json.loads(raw)
    return ReferenceApp(
        app=app,
        wsgi=wsgi,
        folder=folder,
        database_url=url,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
    )
