"""Benchmark: ``GET /auth/users`` as the user table grows, on SQLite and PostgreSQL.

For each backend and size it migrates a fresh database with the app's Alembic
migrations (so the real indexes are there), seeds N users (one precomputed
argon2id hash shared by all; every user has the role ``user``, one in ten is
inactive, creation one second apart; on PostgreSQL with two ``INSERT ... SELECT
FROM generate_series`` statements, a million users in about a minute and a half,
on SQLite with SQLAlchemy core bulk inserts), runs
``ANALYZE`` (and ``VACUUM`` on PostgreSQL, so index-only scans are possible, as
in a database autovacuum keeps up with), signs an admin in, then times whole
requests through the reference app's Flask test client (routing, token check,
pydantic, the store's queries, JSON): the first, a middle and the last page
without ``q``, with a selective ``q`` (about 1 % of users) and with a broad one
(every user), and with the ``is_active``/``role`` filters. The middle page is
timed twice: by its number (``page=``, ``OFFSET`` paging, which costs its depth)
and by cursor ("middle cursor": ``cursor=`` the ``meta.next_cursor`` of the page
before it, fetched once untimed, which is what a client following the pages
sends). The middle and last pages are placed by the real number of matches,
counted outside the timed requests: over 10,000 matches (1,000 with a ``q``)
PostgreSQL's total is the planner's estimate (``meta.total_exact`` false).

Usage::

    AUTHKIT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test \\
        uv run python benchmarks/bench_user_listing.py [--sizes 10000,100000]
        [--backends sqlite,postgres] [--requests 60] [--explain]

    # the documented PostgreSQL figures (docs/benchmarks.md)
    uv run python benchmarks/bench_user_listing.py --backends postgres \
        --sizes 100000,1000000

``--explain`` prints PostgreSQL's plan of the count and the page query of each
case, to see which index serves it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, Select, func, insert, select, text

from authkit.passwords import Argon2Parameters, PasswordHasher
from authkit.storage import create_engine, user_roles, users
from authkit.storage.sql._user_admin import (
    _conditions,
    _ids_after,
    _matches,
    _ordered_ids,
    _page_ids,
)
from authkit.storage.testing import temporary_postgres_database
from authkit.users import EXACT_COUNT_LIMIT, EXACT_TEXT_COUNT_LIMIT, UserQuery

PASSWORD = "violet marmalade drifts at noon"
CHUNK = 10_000
START = datetime(2020, 1, 1, tzinfo=UTC)
CASES = [
    ("no q", ""),
    ("q 1% (mail7.)", "q=mail7."),
    ("q all (example)", "q=example"),
    ("is_active=false 10%", "is_active=false"),
    ("role=user (all)", "role=user"),
    ("role=admin (one)", "role=admin"),
]


@dataclass
class Row:
    backend: str
    size: int
    case: str
    page: str
    exact: bool
    p50: float
    p95: float


# The same users as ``seed`` makes row by row, generated inside PostgreSQL.
_PG_USERS = """
INSERT INTO authkit_users (id, username, username_canonical, email, email_canonical,
    password_hash, is_active, mfa_enabled, email_verified, created_at)
SELECT md5(n::text)::uuid::text, 'user' || lpad(n::text, 7, '0'), 'user' || lpad(n::text, 7, '0'),
    'person' || n || '@mail' || (n % 100) || '.example',
    'person' || n || '@mail' || (n % 100) || '.example',
    :hash, n % 10 <> 0, false, false, :start + n * interval '1 second'
FROM generate_series(0, :size - 1) AS n
"""
_PG_ROLES = "INSERT INTO authkit_user_roles (user_id, role) SELECT id, 'user' FROM authkit_users"


def insert_users(conn: Connection, size: int, password_hash: str) -> None:
    """``size`` users and their ``user`` role, in SQLAlchemy core batches of ``CHUNK``."""
    for base in range(0, size, CHUNK):
        batch = []
        for n in range(base, min(size, base + CHUNK)):
            name = f"user{n:07d}"
            email = f"person{n}@mail{n % 100}.example"
            batch.append(
                {
                    "id": str(uuid.uuid4()),
                    "username": name,
                    "username_canonical": name,
                    "email": email,
                    "email_canonical": email,
                    "password_hash": password_hash,
                    "is_active": n % 10 != 0,
                    "mfa_enabled": False,
                    "created_at": START + timedelta(seconds=n),
                }
            )
        conn.execute(insert(users), batch)
        conn.execute(insert(user_roles), [{"user_id": r["id"], "role": "user"} for r in batch])


def seed(engine: Engine, size: int, password_hash: str) -> str:
    """Insert ``size`` users plus one admin; returns the admin's username."""
    started = time.perf_counter()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(_PG_USERS), {"hash": password_hash, "start": START, "size": size})
            conn.execute(text(_PG_ROLES))
        else:
            insert_users(conn, size, password_hash)
        admin_id = str(uuid.uuid4())
        conn.execute(
            insert(users).values(
                id=admin_id,
                username="benchadmin",
                username_canonical="benchadmin",
                email="bench@admin.test",
                email_canonical="bench@admin.test",
                password_hash=password_hash,
                is_active=True,
                mfa_enabled=False,
                created_at=START + timedelta(seconds=size),
            )
        )
        conn.execute(insert(user_roles), [{"user_id": admin_id, "role": "admin"}])
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE authkit_users"))
            conn.execute(text("VACUUM ANALYZE authkit_user_roles"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    print(f"  seeded {size:,} users in {time.perf_counter() - started:.1f} s")
    return "benchadmin"


@contextmanager
def database(backend: str, pg_server: str | None) -> Iterator[str]:
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="authkit-bench-db-"))
        try:
            yield f"sqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    assert pg_server is not None
    with temporary_postgres_database(pg_server, prefix="authkit_bench") as url:
        yield url


def explain(engine: Engine, query: UserQuery, total: int, exact: bool) -> None:
    conditions = _conditions(query)
    limit = EXACT_COUNT_LIMIT if query.text is None else EXACT_TEXT_COUNT_LIMIT
    bounded = select(func.count()).select_from(
        _matches(query, conditions).limit(limit + 1).subquery()
    )
    if query.after is not None:
        page: Select[tuple[str]] = _ids_after(query, conditions)
    elif exact:
        page = _page_ids(query, conditions, total)
    else:
        page = _ordered_ids(conditions).offset(query.offset).limit(query.page_size + 1)
    label = "cursor page" if query.after is not None else f"page {query.page}"
    with engine.connect() as conn:
        for name, stmt in (("bounded count", bounded), (label, page)):
            compiled = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
            sql = f"EXPLAIN (ANALYZE, COSTS OFF) {compiled}".replace("%%", "%")
            plan = conn.exec_driver_sql(sql.replace("%", "%%")).scalars()
            print(f"    -- {name} ({query})")
            for line in plan:
                print(f"       {line}")


def _listed(query: str, page: int, cursor: str | None = None) -> UserQuery:
    """The ``UserQuery`` of one case's query string."""
    params = dict(p.split("=") for p in query.split("&") if p)
    active = {"true": True, "false": False}.get(params.get("is_active", ""))
    return UserQuery(
        q=params.get("q"), role=params.get("role"), is_active=active, page=page, cursor=cursor
    )


def true_total(engine: Engine, query: UserQuery) -> int:
    """The exact number of matches, counted outside the timed requests."""
    stmt = select(func.count()).select_from(_matches(query, _conditions(query)).subquery())
    with engine.connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def measure(
    backend: str, size: int, pg_server: str | None, requests: int, show: bool, instance: Path
) -> list[Row]:
    from flight_app.app import create_app
    from flight_app.migrate import upgrade

    print(f"{backend} {size:,} users")
    rows: list[Row] = []
    with database(backend, pg_server) as url:
        upgrade(url)
        engine = create_engine(url)
        username = seed(engine, size, PasswordHasher(Argon2Parameters()).hash(PASSWORD))
        app = create_app(instance_path=instance, database_url=url)
        client = app.test_client()
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.get_json()
        headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
        for case, query in CASES:
            first = client.get(f"/auth/users?{query}", headers=headers)
            assert first.status_code == 200, first.get_json()
            meta = first.get_json()["meta"]
            # The real number of matches places the middle and last pages, also
            # when the API's total is an estimate.
            pages = max(1, -(-true_total(engine, _listed(query, 1)) // 20))
            middle = pages // 2 + 1
            # How a client reaches the middle page without OFFSET: the next_cursor of
            # the page before it (fetched once, untimed), as following the pages gives.
            before = client.get(f"/auth/users?{query}&page={middle - 1}", headers=headers)
            cursor = before.get_json()["meta"]["next_cursor"] if middle > 1 else None
            plans = [("first", "page=1", 1, None), ("middle", f"page={middle}", middle, None)]
            if cursor is not None:
                plans.append(("middle cursor", f"cursor={cursor}", 1, cursor))
            plans.append(("last", f"page={pages}", pages, None))
            for label, paging, page, cursor in plans:
                path = f"/auth/users?{query}&{paging}"
                for _ in range(3):  # warm caches and the connection pool
                    client.get(path, headers=headers)
                samples = []
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(path, headers=headers)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, response.get_json()
                    assert response.get_json()["items"]
                p50 = statistics.median(samples)
                p95 = statistics.quantiles(samples, n=20)[-1]
                exact = bool(meta["total_exact"])
                matches = f"{meta['total']:,}" + ("" if exact else " est.")
                rows.append(Row(backend, size, f"{case} [{matches}]", label, exact, p50, p95))
                print(f"  {case:<20} {label:<13} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms")
                if show and backend == "postgresql":
                    explain(engine, _listed(query, page, cursor), meta["total"], exact)
        app.extensions["flight_app"].close()
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    os.environ["APP_ENV"] = "test"
    pg_server = os.environ.get("AUTHKIT_TEST_POSTGRES_URL")
    if pg_server and pg_server.startswith(("postgresql://", "postgres://")):
        pg_server = "postgresql+psycopg://" + pg_server.split("://", 1)[1]
    rows: list[Row] = []
    # One instance folder (key ring, logs) for every run: logging is set up once per process.
    instance = Path(tempfile.mkdtemp(prefix="authkit-bench-app-"))
    for backend in args.backends.split(","):
        if backend == "postgres" and not pg_server:
            print("postgres skipped: AUTHKIT_TEST_POSTGRES_URL is not set")
            continue
        name = "postgresql" if backend == "postgres" else backend
        for size in (int(s) for s in args.sizes.split(",")):
            rows.extend(measure(name, size, pg_server, args.requests, args.explain, instance))
    shutil.rmtree(instance, ignore_errors=True)
    print("\n| backend | users | case [matches] | page | p50 ms | p95 ms |")
    print("|---|---:|---|---|---:|---:|")
    for r in rows:
        print(f"| {r.backend} | {r.size:,} | {r.case} | {r.page} | {r.p50:.2f} | {r.p95:.2f} |")


if __name__ == "__main__":
    main()
