"""Benchmark: authkit's authenticated request beside the Flask auth libraries it replaces.

Every contestant answers an authenticated ``GET /me`` with a small JSON body
(see ``_peer_apps.py``): bare Flask (no auth at all, the floor), Flask-JWT-Extended
(HS256 and EdDSA, with and without a Flask-SQLAlchemy user lookup),
Flask-Security-Too token auth (SQLite user lookup), and the authkit reference app's
``GET /auth/me`` on production settings with SQLite (RS256 token signature and
claims, user active, session live — one query).

In process: the WSGI callables are called directly, all in this one process, in
alternating rounds (the order rotates every round), so a loaded machine slows
every contestant alike; the table gives the median µs/request over the rounds and
the ratio of bare Flask's time to each contestant's (1.00 = as fast as bare Flask).

Over HTTP: each contestant is served by gunicorn with the same settings (gthread,
2 workers, 4 threads, keep-alive), loaded in alternating rounds by ``wrk`` when it
is installed, else by a Python keep-alive load generator (which says so: its own
cost then bounds the figures). The table gives the median requests/s and the
ratio to bare Flask's.

Usage (``nox -s bench`` runs it with the ``peers`` dependency group)::

    uv run --group peers python benchmarks/compare_peers.py [--rounds 7]
        [--requests 1000] [--http-seconds 3] [--no-http]
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _peer_apps import FOLDER_VARIABLE, LABELS, NAMES, PATHS, create, headers

Request = Callable[[], None]


def _in_process_request(app: Any, path: str, extra: dict[str, str]) -> Request:
    """One request through ``app``'s WSGI callable; asserts a 200."""
    base: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
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
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for key, value in extra.items():
        base["HTTP_" + key.upper().replace("-", "_")] = value
    status: list[str] = []

    def start_response(line: str, _headers: Any, _exc: Any = None) -> Any:
        status.append(line)
        return None

    def request() -> None:
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO()
        status.clear()
        result = app(environ, start_response)
        b"".join(result)
        close = getattr(result, "close", None)
        if close is not None:
            close()
        if not status[0].startswith("200"):
            raise AssertionError(f"{path}: {status[0]}")

    return request


Samples = dict[str, list[tuple[float, float]]]


def _rounds(requests: dict[str, Request], rounds: int, count: int) -> Samples:
    """(wall, CPU) µs/request of each contestant per round; the order rotates each round.

    CPU time (``time.process_time``: this process only) is far less disturbed than
    wall time when other processes share the machine, so it is printed beside it.
    """
    names = list(requests)
    for call in requests.values():  # warm-up: caches, pools, first compilations
        for _ in range(max(50, count // 5)):
            call()
    samples: Samples = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            call = requests[name]
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(count):
                call()
            wall = (time.perf_counter() - started) / count * 1e6
            cpu = (time.process_time() - cpu_started) / count * 1e6
            samples[name].append((wall, cpu))
    return samples


def _print_in_process(samples: Samples) -> None:
    def median(name: str, column: int) -> float:
        return statistics.median(sample[column] for sample in samples[name])

    bare, bare_cpu = median("bare_flask", 0), median("bare_flask", 1)
    print("\nIn process (WSGI callable called directly), median of the rounds:\n")
    print("| contestant | µs/req | ratio to bare Flask | CPU µs/req | CPU ratio |")
    print("|---|---:|---:|---:|---:|")
    for name in samples:
        wall, cpu = median(name, 0), median(name, 1)
        ratios = f"{bare / wall:.2f} | {cpu:,.0f} | {bare_cpu / cpu:.2f}"
        print(f"| {LABELS[name]} | {wall:,.0f} | {ratios} |")
    authkit, peer = median("authkit", 0), median("fje_eddsa_user", 0)
    authkit_cpu, peer_cpu = median("authkit", 1), median("fje_eddsa_user", 1)
    print(
        f"\nauthkit vs Flask-JWT-Extended EdDSA + user lookup: {peer / authkit:.2f}x faster"
        f" (CPU time: {peer_cpu / authkit_cpu:.2f}x)"
    )


# -- over HTTP ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(name: str, folder: Path, log: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = dict(os.environ)
    env[FOLDER_VARIABLE] = str(folder)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
        f"_peer_apps:wsgi({name!r})",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    return process, port


def _wait(port: int, path: str, extra: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on port {port} exited ({process.returncode})")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", path, headers=extra)
            if connection.getresponse().status == 200:
                connection.close()
                return
            connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn on port {port} did not answer 200 on {path}")


def _wrk(port: int, path: str, extra: dict[str, str], seconds: float) -> float:
    command = ["wrk", "-t", "2", "-c", "16", "-d", f"{seconds:g}s", "--latency"]
    for key, value in extra.items():
        command += ["-H", f"{key}: {value}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        raise AssertionError(f"wrk saw {non_2xx.group(1)} non-2xx answers on {path}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    return float(match.group(1))


def _python_load(port: int, path: str, extra: dict[str, str], seconds: float) -> float:
    """A keep-alive load generator in Python: 8 threads, one connection each."""
    done = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal done
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        count = 0
        while time.monotonic() < stop:
            connection.request("GET", path, headers=extra)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise AssertionError(f"{path}: {response.status}")
            count += 1
        connection.close()
        with lock:
            done += count

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done / (time.monotonic() - started)


def _over_http(
    folder: Path, all_headers: dict[str, dict[str, str]], rounds: int, seconds: float
) -> None:
    use_wrk = shutil.which("wrk") is not None
    load = _wrk if use_wrk else _python_load
    generator = (
        "wrk (2 threads, 16 keep-alive connections)"
        if use_wrk
        else "a Python keep-alive generator (wrk is not installed: its own cost bounds these)"
    )
    log = folder / "gunicorn.log"
    servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name in NAMES:
            servers[name] = _serve(name, folder, log)
        for name, (process, port) in servers.items():
            _wait(port, PATHS[name], all_headers[name], process)
        for name, (_process, port) in servers.items():  # warm-up
            load(port, PATHS[name], all_headers[name], 1)
        samples: dict[str, list[float]] = {name: [] for name in NAMES}
        names = list(NAMES)
        for index in range(rounds):
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                _process, port = servers[name]
                samples[name].append(load(port, PATHS[name], all_headers[name], seconds))
    finally:
        for process, _port in servers.values():
            process.terminate()
        for process, _port in servers.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    bare = statistics.median(samples["bare_flask"])
    print(
        f"\nOver HTTP: gunicorn gthread, 2 workers x 4 threads, keep-alive; load by {generator};"
        f" {rounds} alternating rounds of {seconds:g} s, median:\n"
    )
    print("| contestant | requests/s | ratio to bare Flask |")
    print("|---|---:|---:|")
    for name in NAMES:
        median = statistics.median(samples[name])
        print(f"| {LABELS[name]} | {median:,.0f} | {median / bare:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=1000, help="per contestant per round")
    parser.add_argument("--http-seconds", type=float, default=3.0)
    parser.add_argument("--http-rounds", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="authkit-peers-"))
    try:
        apps = {name: create(name, folder) for name in NAMES}
        all_headers = {name: headers(name, apps[name], folder) for name in NAMES}
        requests = {
            name: _in_process_request(apps[name], PATHS[name], all_headers[name]) for name in NAMES
        }
        load = os.getloadavg()[0]
        print(
            f"compare_peers: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()},"
            f" {os.cpu_count()} CPUs, Python {platform.python_version()},"
            f" load average {load:.1f} at start"
        )
        samples = _rounds(requests, args.rounds, args.requests)
        print(f"{args.rounds} alternating rounds of {args.requests} requests per contestant")
        _print_in_process(samples)
        if not args.no_http:
            _over_http(folder, all_headers, args.http_rounds, args.http_seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
