"""Benchmark: ``GET /admin/logs?limit=100`` on a 1 MB and a 1 GB audit log, side by side.

The viewer reads the log backwards from its end, so its cost should depend on the
number of lines asked for, not on the size of the file. This builds the reference
app in-process (Flask test client, SQLite in a temporary folder), signs in an
admin, then replaces ``auth.jsonl`` with a generated log of each size (a block of
realistic audit lines written over and over, so 1 GB takes seconds) and times the
request. The temporary folder, the 1 GB file included, is deleted afterwards.
Usage::

    uv run python benchmarks/bench_log_viewer.py [--requests 200] [--limit 100]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert

MIB = 1024 * 1024
SIZES = {"1 MB": MIB, "1 GB": 1024 * MIB}
PASSWORD = "violet-harbour-7-lanterns"


def _block(size: int) -> bytes:
    """At most ``size`` bytes of whole audit lines, shaped like the real ones."""
    lines = []
    total = n = 0
    while True:
        line = (
            json.dumps(
                {
                    "ts": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
                    "event": "login",
                    "outcome": "failure" if n % 3 else "success",
                    "trace_id": f"{n:032x}",
                    "actor": f"user:{n:032x}",
                    "client": f"ip:{n * 7:032x}",
                    "reason": "invalid_credentials",
                },
                separators=(",", ":"),
            ).encode()
            + b"\n"
        )
        if total + len(line) > size:
            break
        lines.append(line)
        total += len(line)
        n += 1
    return b"".join(lines)


def _write_log(path: Path, size: int) -> float:
    """Write a log of ``size`` bytes (whole lines); the seconds it took."""
    started = time.perf_counter()
    block = _block(min(size, MIB))
    with path.open("wb") as handle:
        written = 0
        while written + len(block) <= size:
            handle.write(block)
            written += len(block)
        rest = block[: size - written]
        handle.write(rest[: rest.rfind(b"\n") + 1])
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> tuple[float, float]:
    p50 = statistics.median(samples) * 1000
    p95 = statistics.quantiles(samples, n=20)[-1] * 1000
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="authkit-bench-logs-"))
    try:
        os.environ["APP_ENV"] = "test"
        from authkit.storage import user_roles
        from flight_app.app import create_app, get_components
        from flight_app.migrate import upgrade

        database = f"sqlite:///{folder / 'bench.db'}"
        upgrade(database)
        # No size rotation: the generated 1 GB log must stay the current file.
        app = create_app(instance_path=folder, database_url=database, log_max_bytes=None)
        client = app.test_client()
        credentials = {"username": "root", "password": PASSWORD}
        created = client.post("/auth/register", json={**credentials, "email": "root@example.com"})
        assert created.status_code == 201, created.get_json()
        with get_components(app).engine.begin() as conn:
            conn.execute(insert(user_roles).values(user_id=created.get_json()["id"], role="admin"))
        token = client.post("/auth/login", json=credentials).get_json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        log = get_components(app).audit.path

        print(f"GET /admin/logs?limit={args.limit}, {args.requests} requests per size\n")
        print(f"{'log size':>10} {'generated in':>13} {'first':>9} {'p50':>9} {'p95':>9}")
        for name, size in SIZES.items():
            generated = _write_log(log, size)
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(f"/admin/logs?limit={args.limit}", headers=headers)
                samples.append(time.perf_counter() - started)
                assert response.status_code == 200, response.get_json()
                assert response.get_json()["meta"]["returned"] == args.limit
            p50, p95 = _percentiles(samples)
            print(
                f"{name:>10} {generated:>12.2f}s {samples[0] * 1000:>7.2f}ms "
                f"{p50:>7.2f}ms {p95:>7.2f}ms   ({log.stat().st_size / MIB:,.0f} MiB)"
            )
            log.unlink()
        get_components(app).close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
