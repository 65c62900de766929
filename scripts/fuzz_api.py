"""schemathesis against a real ``flight-app serve``: the HTTP API checked against /openapi.json.

Starts the reference app as ``.ci/run`` and the e2e tests do (``APP_ENV=test``, a
temporary instance folder, the builtin flight provider, a free 127.0.0.1 port),
signs the seeded admin in, and runs schemathesis twice on the served document:

1. with the admin's bearer token on every request (every operation reachable,
   the stateful phase following the document's links: register -> login ->
   refresh -> logout, list users -> get user);
2. without credentials, so the 401 answers are held to the document too.

Checks: no 5xx (``not_a_server_error``), every answer's status code, content type
and body conform to the document, and an operation that declares authentication
refuses a request without it (``ignored_auth``); ``FUZZ_CHECKS=all`` runs every
check schemathesis has (some of them, like positive-data acceptance, need rules
no schema can state, such as the password policy). A fixed seed and example budget keep the
CI run bounded (``--examples``, default 12); ``nox -s fuzz`` runs a longer one.
Sign-in, registration, forgot-password and account-mail limits are raised for the
fuzzed server so the run exercises the endpoints rather than the throttle (429
stays documented and is tested in the adapter's tests). Prints the operations and
examples tried; exits non-zero on any failure. Usage::

    python scripts/fuzz_api.py [--examples N] [--seed S] [--report-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

CHECKS = os.environ.get("FUZZ_CHECKS") or ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "ignored_auth",  # an operation that declares auth really refuses requests without it
    )
)
DEFAULT_SEED = 20261130
DEFAULT_EXAMPLES = 12
GENEROUS = "1000000"
"""Throttle limits for the fuzzed server: far above what a run can send."""
SPARE_ACCOUNTS = {"logout_all": "fuzzspare", "delete_me": "fuzzdelete"}
"""Operations run as an account of their own (operation id to username):
``/auth/logout-all`` ends every session of its caller, access tokens included, and
``DELETE /auth/me`` (given the password) deletes it, so neither may run as the admin
the rest of the run depends on, nor share an account (after a logout-all the other
would only ever see 401 ``invalid_token``)."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def start_server(folder: Path, admin_password: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLIGHT_APP_")}
    env.update(
        {
            "APP_ENV": "test",
            "FLIGHT_APP_INSTANCE_PATH": str(folder / "instance"),
            "FLIGHT_APP_HOST": "127.0.0.1",
            "FLIGHT_APP_PORT": str(port),
            "FLIGHT_APP_WORKERS": "2",
            "FLIGHT_APP_FLIGHT_PROVIDER": "builtin",
            "FLIGHT_APP_ADMIN_PASSWORD": admin_password,
            "FLIGHT_APP_ACCESS_TOKEN_TTL": "7200",
            "FLIGHT_APP_THROTTLE_PAIR_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_ADDRESS_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_ACCOUNT_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_REGISTER_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_FORGOT_ADDRESS_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_FORGOT_EMAIL_LIMIT": GENEROUS,
            "FLIGHT_APP_THROTTLE_ACCOUNT_MAIL_LIMIT": GENEROUS,
        }
    )
    log = folder / "serve.log"
    with log.open("wb") as handle:
        process = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
            [_bin("flight-app"), "serve"], env=env, stdout=handle, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"flight-app serve exited early:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return process, base, log
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    process.kill()
    raise SystemExit("flight-app serve did not become ready in time")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def admin_token(base: str, password: str) -> str:
    """A sign-in of the seeded admin."""
    response = httpx.post(
        f"{base}/auth/login", json={"username": "admin", "password": password}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def spare_user_token(base: str, username: str) -> str:
    """A sign-in of a new account, for one of ``SPARE_ACCOUNTS``: those end every
    session (or the account) of their caller, so must not run as the admin the rest
    of the run uses."""
    password = "Vq-" + secrets.token_urlsafe(24)
    account = {"username": username, "email": f"{username}@example.com", "password": password}
    registered = httpx.post(f"{base}/auth/register", json=account, timeout=30)
    if registered.status_code != 201:
        raise SystemExit(f"registering the spare account failed: {registered.text}")
    response = httpx.post(
        f"{base}/auth/login", json={"username": username, "password": password}, timeout=30
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


def write_config(path: Path, *, token: str | None, spare_tokens: Mapping[str, str]) -> Path:
    """A ``schemathesis.toml``: the admin's bearer token on every request, except
    ``SPARE_ACCOUNTS``' operations (``/auth/logout-all``, ``DELETE /auth/me``), which
    end every session (or the account) of their caller and so each run as an account
    of their own; no automatic sign-up (the anonymous run stays anonymous)."""
    lines = ["[auth]", "auto-signup = false", ""]
    if token is not None:
        lines += ["[auth.openapi.bearerAuth]", f'bearer = "{token}"', ""]
    if token is not None:
        # A search needs a departure within the next 365 days: give the fuzzer one
        # valid trip, so the 200 answer is checked too (``return`` and ``adults`` vary).
        depart = (date.today() + timedelta(days=30)).isoformat()
        lines += [
            "[[operations]]",
            'include-path = "/api/flights/search"',
            f'parameters = {{ origin = "ZRH", destination = "LHR", depart = "{depart}" }}',
            "",
        ]
    for operation_id, spare_token in spare_tokens.items():
        lines += [
            "[[operations]]",
            f'include-operation-id = "{operation_id}"',
            f'headers = {{ Authorization = "Bearer {spare_token}" }}',
            "",
        ]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


def run_schemathesis(
    base: str, *, config: Path, examples: int, seed: int, report: Path, phases: str
) -> tuple[int, dict[str, Any]]:
    events = report / "events.ndjson"
    report.mkdir(parents=True, exist_ok=True)
    command = [
        _bin("schemathesis"),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{base}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--seed",
        str(seed),
        "--phases",
        phases,
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit,ndjson",
        "--report-dir",
        str(report),
        "--report-ndjson-path",
        str(events),
        "--suppress-health-check",
        "all",
    ]
    print("$", " ".join(command), flush=True)
    # In the report folder: schemathesis keeps a cache (.schemathesis/) in its cwd.
    code = subprocess.run(command, check=False, cwd=report).returncode  # noqa: S603 - fixed
    return code, _summary(events)


def _summary(events: Path) -> dict[str, Any]:
    """Operations and test cases from the ndjson event stream, whatever its version adds."""
    operations: set[str] = set()
    cases = 0
    if events.exists():
        for line in events.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            _walk_event(event, operations)
            cases += _count_cases(event)
    return {"operations": len(operations), "cases": cases}


def _walk_event(event: Any, operations: set[str]) -> None:
    if isinstance(event, dict):
        label = event.get("label")
        if isinstance(label, str) and label.split(" ", 1)[0] in {
            "GET",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
        }:
            operations.add(label)
        for value in event.values():
            _walk_event(value, operations)
    elif isinstance(event, list):
        for value in event:
            _walk_event(value, operations)


def _count_cases(event: Any) -> int:
    if not isinstance(event, dict):
        return 0
    scenario = event.get("ScenarioFinished")
    if isinstance(scenario, dict):
        recorder = scenario.get("recorder", {})
        cases = recorder.get("cases", {}) if isinstance(recorder, dict) else {}
        return len(cases) if isinstance(cases, dict) else 0
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--report-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fuzz-api-") as tmp:
        folder = Path(tmp)
        reports = args.report_dir or folder / "reports"
        password = "fuzz-" + secrets.token_urlsafe(24)
        process, base, log = start_server(folder, password)
        try:
            auth_config = write_config(
                folder / "authenticated.toml",
                token=admin_token(base, password),
                spare_tokens={
                    operation_id: spare_user_token(base, username)
                    for operation_id, username in SPARE_ACCOUNTS.items()
                },
            )
            anon_config = write_config(folder / "anonymous.toml", token=None, spare_tokens={})
            started = time.monotonic()
            code_auth, auth = run_schemathesis(
                base,
                config=auth_config,
                examples=args.examples,
                seed=args.seed,
                report=reports / "authenticated",
                phases="examples,coverage,fuzzing,stateful",
            )
            code_anon, anon = run_schemathesis(
                base,
                config=anon_config,
                examples=max(1, args.examples // 3),
                seed=args.seed,
                report=reports / "anonymous",
                phases="examples,fuzzing",
            )
            elapsed = time.monotonic() - started
        finally:
            stop_server(process)
            reports.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(log, reports / "serve.log")
            for jsonl in (folder / "instance").rglob("*.jsonl"):
                shutil.copyfile(jsonl, reports / jsonl.name)
        server_errors = [
            line for line in log.read_text(errors="replace").splitlines() if "Traceback" in line
        ]
        print(
            f"fuzz_api: authenticated run {auth['operations']} operations, "
            f"{auth['cases']} test cases; anonymous run {anon['operations']} operations, "
            f"{anon['cases']} test cases; {elapsed:.0f}s; seed {args.seed}, "
            f"max {args.examples} examples per operation"
        )
        if server_errors:
            print(f"fuzz_api: the server logged {len(server_errors)} traceback(s):")
            print(log.read_text(errors="replace")[-5000:])
            return 1
        return 1 if code_auth or code_anon else 0


if __name__ == "__main__":
    sys.exit(main())
