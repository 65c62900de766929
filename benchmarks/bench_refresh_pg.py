"""Benchmark: refresh-token rotation on PostgreSQL across 4 processes, exactly once.

Rotation is the core's ``RefreshTokens.rotate`` on the SQL store: read the
presented token, then one transaction whose conditional UPDATE consumes it (RFC
9700 §4.14.2) and inserts its successor. The script migrates nothing: it makes a
throwaway database with authkit's tables, seeds users and sign-in families, and
runs two phases in ``--processes`` processes (4 by default):

1. **throughput**: every process rotates its own chains (a chain is one sign-in
   whose newest token is presented each time) for ``--seconds``; the table gives
   rotations per second, all processes together.
2. **race**: for each of ``--races`` tokens, every process presents the same token
   at the same moment (a barrier); exactly one must rotate it and every other one
   must get ``TokenReused``.

Then it proves exactly-once from both sides: no consumed token was reported by
two rotations, and the database holds one successor per consumed token (rows
marked used = rotations reported = rows with ``replaced_by``). Usage::

    AUTHKIT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        uv run python benchmarks/bench_refresh_pg.py [--processes 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from typing import Any

from sqlalchemy import func, insert, select

from authkit.errors import InvalidToken, TokenReused
from authkit.storage import open_stores
from authkit.storage.sql import refresh_tokens, users
from authkit.storage.testing import temporary_postgres_database
from authkit.tokens import RefreshTokens

CHAINS_PER_PROCESS = 8


def _roles(_user_id: str) -> tuple[str, ...]:
    return ("user",)


def _throughput(url: str, chains: list[str], seconds: float, start: Barrier, out: Any) -> None:
    stores = open_stores(url)
    tokens = RefreshTokens(stores.refresh_tokens)
    current = list(chains)
    jtis: list[str | None] = [None] * len(current)
    consumed: list[str] = []
    start.wait()  # every process imported and connected: the clock starts together
    started = time.perf_counter()
    deadline = started + seconds
    index = 0
    while time.perf_counter() < deadline:
        slot = index % len(current)
        issued = tokens.rotate(current[slot], _roles)
        previous = jtis[slot]
        if previous is not None:
            consumed.append(previous)
        current[slot], jtis[slot] = issued.token, issued.record.jti
        index += 1
    elapsed = time.perf_counter() - started
    stores.close()
    out.put((index, consumed, elapsed))


def _race(url: str, race_tokens: list[str], barrier: Barrier, out: Any) -> None:
    stores = open_stores(url)
    tokens = RefreshTokens(stores.refresh_tokens)
    outcomes: list[str] = []
    for token in race_tokens:
        barrier.wait()
        try:
            tokens.rotate(token, _roles)
            outcomes.append("rotated")
        except TokenReused:
            outcomes.append("reused")
        except InvalidToken:
            outcomes.append("invalid")
    stores.close()
    out.put(outcomes)


def _seed(url: str, families: int) -> list[str]:
    stores = open_stores(url, create_tables=True)
    assert stores.engine is not None
    now = datetime.now(UTC)
    user_ids = [str(uuid.uuid4()) for _ in range(families)]
    with stores.engine.begin() as conn:
        conn.execute(
            insert(users),
            [
                {
                    "id": uid,
                    "username": f"u{n}",
                    "username_canonical": f"u{n}",
                    "email": f"u{n}@example.com",
                    "email_canonical": f"u{n}@example.com",
                    "password_hash": "x",
                    "is_active": True,
                    "mfa_enabled": False,
                    "created_at": now,
                }
                for n, uid in enumerate(user_ids)
            ],
        )
    tokens = RefreshTokens(stores.refresh_tokens)
    issued = [tokens.start_family(uid, ("user",)).token for uid in user_ids]
    stores.close()
    return issued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--races", type=int, default=200)
    parser.add_argument("--postgres-url", default=os.environ.get("AUTHKIT_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    if not args.postgres_url:
        parser.error("set AUTHKIT_TEST_POSTGRES_URL or pass --postgres-url")
    count = args.processes
    context = multiprocessing.get_context("spawn")
    with temporary_postgres_database(args.postgres_url, prefix="authkit_bench") as url:
        seeded = _seed(url, count * CHAINS_PER_PROCESS + args.races)
        chains, race_tokens = (
            seeded[: count * CHAINS_PER_PROCESS],
            seeded[count * CHAINS_PER_PROCESS :],
        )

        out = context.Queue()
        start = context.Barrier(count)
        workers = [
            context.Process(
                target=_throughput,
                args=(
                    url,
                    chains[i * CHAINS_PER_PROCESS : (i + 1) * CHAINS_PER_PROCESS],
                    args.seconds,
                    start,
                    out,
                ),
            )
            for i in range(count)
        ]
        for worker in workers:
            worker.start()
        results = [out.get() for _ in workers]
        for worker in workers:
            worker.join()
        elapsed = max(seconds for _, _, seconds in results)
        rotations = sum(n for n, _, _ in results)
        consumed = [jti for _, jtis, _ in results for jti in jtis]
        twice = [jti for jti, n in Counter(consumed).items() if n > 1]

        barrier = context.Barrier(count)
        race_out = context.Queue()
        racers = [
            context.Process(target=_race, args=(url, race_tokens, barrier, race_out))
            for _ in range(count)
        ]
        for racer in racers:
            racer.start()
        race_results = [race_out.get() for _ in racers]
        for racer in racers:
            racer.join()
        winners = [sum(r[i] == "rotated" for r in race_results) for i in range(args.races)]

        stores = open_stores(url)
        assert stores.engine is not None
        with stores.engine.connect() as conn:
            used = conn.execute(
                select(func.count()).where(refresh_tokens.c.used_at.is_not(None))
            ).scalar_one()
            replaced = conn.execute(
                select(func.count()).where(refresh_tokens.c.replaced_by.is_not(None))
            ).scalar_one()
            total = conn.execute(select(func.count()).select_from(refresh_tokens)).scalar_one()
        stores.close()

    race_rotations = sum(winners)
    print(
        f"bench_refresh_pg: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| phase | processes | rotations | seconds | rotations/s |")
    print("|---|---:|---:|---:|---:|")
    print(f"| throughput | {count} | {rotations:,} | {elapsed:.1f} | {rotations / elapsed:,.0f} |")
    print(
        f"| race (same token, {count} at once) | {count} | {race_rotations} of {args.races} | | |"
    )
    print()
    print(f"consumed tokens reported twice: {len(twice)}")
    print(f"race tokens rotated by exactly one process: {winners.count(1)} of {args.races}")
    print(
        f"rows used {used}, rows replaced {replaced}, rotations {rotations + race_rotations},"
        f" rows {total} (seeded {len(seeded)})"
    )
    ok = (
        not twice
        and winners.count(1) == args.races
        and used == replaced == rotations + race_rotations
        and total == len(seeded) + rotations + race_rotations
    )
    print("exactly-once: " + ("PROVEN" if ok else "VIOLATED"))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
