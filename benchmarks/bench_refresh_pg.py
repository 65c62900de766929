"""Benchmark: refresh-token rotation on PostgreSQL across 4 processes, exactly once under load.

The script migrates nothing: it makes a throwaway database with authkit's
tables, seeds users and sign-in families, and runs two timed phases in
``--processes`` processes (4 by default), each process with its own engine as a
gunicorn worker or a host has:

1. **store rotations**: the core's ``RefreshTokens.rotate`` on the SQL store
   (the presented token read, then one statement that takes the family's lock,
   consumes the token and inserts its successor). Every process rotates its own
   chains (a chain is one sign-in whose newest token is presented each time).
2. **full refreshes**: ``AuthService.refresh``, what ``POST /auth/refresh`` runs
   below HTTP: the rotation plus the user read before and after it, the audit
   line and a signed access token (RS256 by default).

**Races under load.** During phase 1, ``--processes`` racer processes (apart
from the rotating ones) present ``--races`` tokens, one at a time, all at the
same moment (a barrier): exactly one must rotate each, every other one must get
``TokenReused``. Then the winner presents the successor it got: the reuse must
have revoked the family, so ``InvalidToken``.

Then it proves exactly-once from both sides: no consumed token was reported by
two rotations, and the database holds one successor per consumed token (rows
marked used = rotations reported = rows with ``replaced_by``), and every race
family is fully revoked. Each phase also reports the client CPU per rotation
(all the rotating processes' CPU time over their rotations) and how busy the
machine's CPUs were (``/proc/stat``): on a small machine the CPU, not the
database's locks, is the ceiling. Usage::

    AUTHKIT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        uv run python benchmarks/bench_refresh_pg.py [--processes 4] [--seconds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, insert, select

from authkit import AuthkitConfig, build
from authkit.errors import InvalidToken, TokenReused
from authkit.passwords import Argon2Parameters
from authkit.storage import open_stores
from authkit.storage.sql import refresh_tokens, users
from authkit.storage.testing import temporary_postgres_database
from authkit.tokens import RefreshTokens, hash_token

CHAINS_PER_PROCESS = 8
ADDRESS = "198.51.100.7"


def _roles(_user_id: str) -> tuple[str, ...]:
    return ("user",)


def _config() -> AuthkitConfig:
    return AuthkitConfig(
        service_name="bench",
        secret_key="bench-secret-key-" + "s" * 32,
        argon2=Argon2Parameters(time_cost=1, memory_cost=1024),  # no sign-in here
    )


def _cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


@dataclass(frozen=True)
class Phase:
    name: str
    rotations: int
    seconds: float
    cpu_seconds: float
    busy: float
    consumed: list[str]


def _rotate_chains(
    url: str, mode: str, chains: list[str], seconds: float, start: Barrier, out: Any
) -> None:
    """Rotate ``chains`` round robin for ``seconds``; report count, consumed tokens, times.

    A consumed token is named by its hash (what the store keeps), so both phases
    count the same way with no read of their own in the timed loop.
    """
    if mode == "store":
        stores = open_stores(url)
        tokens = RefreshTokens(stores.refresh_tokens)

        def rotate(token: str) -> str:
            return tokens.rotate(token, _roles).token

        close: Callable[[], None] = stores.close
    else:
        kit = build(_config(), audit=Path(os.environ["BENCH_AUDIT"]), stores=url, keys="memory://")

        def rotate(token: str) -> str:
            return kit.auth.refresh(refresh_token=token, address=ADDRESS).refresh_token

        close = kit.close
    current = list(chains)
    consumed: list[str] = []
    start.wait()  # every process imported and connected: the clock starts together
    started, cpu = time.perf_counter(), time.process_time()
    deadline = started + seconds
    index = 0
    while time.perf_counter() < deadline:
        slot = index % len(current)
        presented = current[slot]
        current[slot] = rotate(presented)
        consumed.append(presented)
        index += 1
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    close()
    out.put((index, [hash_token(token) for token in consumed], elapsed, cpu))


def _race(
    url: str, race_tokens: list[str], start: Barrier, barrier: Barrier, pace: float, out: Any
) -> None:
    """Present each race token with every other racer at once; the winner then its successor."""
    stores = open_stores(url)
    tokens = RefreshTokens(stores.refresh_tokens)
    outcomes: list[str] = []
    after: list[str] = []
    start.wait()
    for token in race_tokens:
        time.sleep(pace)
        barrier.wait()
        successor = None
        try:
            successor = tokens.rotate(token, _roles).token
            outcomes.append("rotated")
        except TokenReused:
            outcomes.append("reused")
        except InvalidToken:
            outcomes.append("invalid")
        barrier.wait()  # every loser has answered (and revoked the family)
        if successor is not None:
            try:
                tokens.rotate(successor, _roles)
                after.append("rotated")
            except InvalidToken:
                after.append("invalid")
            except TokenReused:
                after.append("reused")
    stores.close()
    out.put((outcomes, after))


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


def _run_phase(
    context: Any,
    url: str,
    mode: str,
    chains: list[str],
    count: int,
    seconds: float,
    racers: Callable[[Barrier], list[Any]] | None = None,
) -> tuple[Phase, list[Any]]:
    """Run one timed phase in ``count`` processes (and the racers, if any, beside them)."""
    out = context.Queue()
    extra = racers is not None
    start = context.Barrier(count * (2 if extra else 1) + 1)
    workers = [
        context.Process(
            target=_rotate_chains,
            args=(
                url,
                mode,
                chains[i * CHAINS_PER_PROCESS : (i + 1) * CHAINS_PER_PROCESS],
                seconds,
                start,
                out,
            ),
        )
        for i in range(count)
    ]
    others = racers(start) if racers is not None else []
    for process in workers + others:
        process.start()
    start.wait()
    busy0, total0 = _cpu_busy()
    results = [out.get() for _ in workers]
    busy1, total1 = _cpu_busy()
    for worker in workers:
        worker.join()
    phase = Phase(
        name=mode,
        rotations=sum(n for n, _, _, _ in results),
        seconds=max(s for _, _, s, _ in results),
        cpu_seconds=sum(c for _, _, _, c in results),
        busy=(busy1 - busy0) / max(1, total1 - total0),
        consumed=[jti for _, jtis, _, _ in results for jti in jtis],
    )
    return phase, others


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
    per_phase = count * CHAINS_PER_PROCESS
    context = multiprocessing.get_context("spawn")
    os.environ["BENCH_AUDIT"] = str(Path(tempfile.mkdtemp(prefix="authkit-bench-")) / "audit.jsonl")
    load_before = os.getloadavg()[0]
    with temporary_postgres_database(args.postgres_url, prefix="authkit_bench") as url:
        seeded = _seed(url, 2 * per_phase + args.races)
        store_chains, full_chains = seeded[:per_phase], seeded[per_phase : 2 * per_phase]
        race_tokens = seeded[2 * per_phase :]

        race_out = context.Queue()
        race_barrier = context.Barrier(count)
        # The races spread over the phase: a pause before each keeps them inside it.
        pace = max(0.0, args.seconds * 0.8 / max(1, args.races) - 0.005)

        def racers(start: Barrier) -> list[Any]:
            return [
                context.Process(
                    target=_race, args=(url, race_tokens, start, race_barrier, pace, race_out)
                )
                for _ in range(count)
            ]

        store, racing = _run_phase(context, url, "store", store_chains, count, args.seconds, racers)
        race_results = [race_out.get() for _ in range(count)]
        for racer in racing:
            racer.join()
        full, _ = _run_phase(context, url, "full", full_chains, count, args.seconds)

        winners = [sum(r[i] == "rotated" for r, _ in race_results) for i in range(args.races)]
        losers_reused = [sum(r[i] == "reused" for r, _ in race_results) for i in range(args.races)]
        after = Counter(a for _, afters in race_results for a in afters)
        consumed = store.consumed + full.consumed
        twice = [jti for jti, n in Counter(consumed).items() if n > 1]

        stores = open_stores(url)
        assert stores.engine is not None
        t = refresh_tokens.c
        with stores.engine.connect() as conn:
            used = conn.execute(select(func.count()).where(t.used_at.is_not(None))).scalar_one()
            replaced = conn.execute(
                select(func.count()).where(t.replaced_by.is_not(None))
            ).scalar_one()
            total = conn.execute(select(func.count()).select_from(refresh_tokens)).scalar_one()
            race_families = select(t.family_id).where(
                t.token_hash.in_([hash_token(token) for token in race_tokens])
            )
            live_race_rows = conn.execute(
                select(func.count()).where(
                    and_(t.family_id.in_(race_families), t.revoked_at.is_(None))
                )
            ).scalar_one()
        stores.close()

    race_rotations = sum(winners)
    reported = store.rotations + full.rotations + race_rotations
    print(
        f"bench_refresh_pg: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()},"
        f" {os.cpu_count()} CPUs, Python {platform.python_version()}, load average"
        f" {load_before:.1f} before, {os.getloadavg()[0]:.1f} after; PostgreSQL on the"
        " same machine\n"
    )
    print(
        "| phase | processes | rotations | seconds | rotations/s"
        " | client CPU per rotation | machine CPU busy |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for phase, label in (
        (store, f"store rotation (`RefreshTokens.rotate`), {count} racers beside"),
        (full, "full refresh (`AuthService.refresh`)"),
    ):
        print(
            f"| {label} | {count} | {phase.rotations:,} | {phase.seconds:.1f}"
            f" | {phase.rotations / phase.seconds:,.0f}"
            f" | {phase.cpu_seconds / max(1, phase.rotations) * 1000:.2f} ms"
            f" | {phase.busy:.0%} |"
        )
    print()
    print(
        f"races during the store phase: {args.races}, each token presented by {count}"
        f" processes at once; rotated by exactly one: {winners.count(1)} of {args.races};"
        f" every other presenter got token_reused: "
        f"{sum(n == count - 1 for n in losers_reused)} of {args.races}"
    )
    print(
        f"the winner's successor after the reuse: {dict(after)} (must be all invalid);"
        f" live rows left in race families: {live_race_rows}"
    )
    print(f"consumed tokens reported twice: {len(twice)}")
    print(
        f"rows used {used}, rows replaced {replaced}, rotations reported {reported},"
        f" rows {total} (seeded {len(seeded)})"
    )
    ok = (
        not twice
        and winners.count(1) == args.races
        and all(n == count - 1 for n in losers_reused)
        and after == Counter({"invalid": args.races})
        and live_race_rows == 0
        and used == replaced == reported
        and total == len(seeded) + reported
    )
    print("exactly-once: " + ("PROVEN" if ok else "VIOLATED"))
    if not ok:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
