"""Benchmark: does a worker's memory stay flat? RSS after 1k and after 100k requests.

Builds the reference app in process on production settings with SQLite (as a
gunicorn worker holds it), then drives a request mix through its WSGI callable:
authenticated ``GET /auth/me`` (most requests), a refused bearer token (401) and
``GET /health/live``, every request with a fresh ``X-Request-ID`` (the per-request
values that could pile up: trace ids, log records, metrics labels). It prints the
resident set size after 1,000 requests and after ``--requests`` (100,000 by
default) and the growth between them; the target is under 10 %. Usage::

    uv run python benchmarks/bench_memory.py [--requests 100000]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _reference import build, call, environ


def rss_kib() -> int:
    """This process's resident set size, from ``/proc/self/status`` (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    total = parser.parse_args().requests
    reference = build()
    token = reference.access_token
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")

    def one(index: int) -> None:
        kind = index % 10
        if kind == 8:
            env = environ("GET", "/auth/me", token=forged)
            expected = "401"
        elif kind == 9:
            env = environ("GET", "/health/live")
            expected = "200"
        else:
            env = environ("GET", "/auth/me", token=token)
            expected = "200"
        env["HTTP_X_REQUEST_ID"] = f"mem-{index}"
        status, _ = call(reference.wsgi, env)
        if not status.startswith(expected):
            raise AssertionError(f"request {index}: {status}")

    started = time.perf_counter()
    for index in range(1_000):
        one(index)
    gc.collect()
    after_1k = rss_kib()
    for index in range(1_000, total):
        one(index)
    gc.collect()
    after_all = rss_kib()
    elapsed = time.perf_counter() - started
    growth = (after_all - after_1k) / after_1k
    print(
        f"bench_memory: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" {total:,} requests in {elapsed:.0f} s\n"
    )
    print("| after | RSS |")
    print("|---|---:|")
    print(f"| 1,000 requests | {after_1k / 1024:.1f} MiB |")
    print(f"| {total:,} requests | {after_all / 1024:.1f} MiB |")
    print(f"\ngrowth: {growth:+.1%} (target: within 10 %)")


if __name__ == "__main__":
    main()
