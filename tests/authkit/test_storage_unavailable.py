"""A database that cannot serve is ``ServiceUnavailable``, never a driver exception.

Regression of the fault suite (``tests/e2e/test_faults.py``): while PostgreSQL
restarted, requests failed with SQLAlchemy's ``OperationalError`` and the adapter
answered 500 with the generic internal error. The engine now raises the core's
typed error for a refused or lost connection and for the SQLSTATEs of a database
that cannot serve now, so adapters answer 503; other errors keep their type.
"""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import NullPool

import authkit.storage.sql._engine as engine_module
from authkit.errors import ServiceUnavailable
from authkit.storage import create_engine, create_schema, open_stores


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_a_refused_connection_is_service_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")
    try:
        with (
            caplog.at_level(logging.WARNING, "authkit.storage"),
            pytest.raises(ServiceUnavailable) as raised,
            engine.connect(),
        ):
            pass
        assert raised.value.code == "service_unavailable"
        assert "127.0.0.1" not in raised.value.message  # nothing of the URL in the message
        # Operators see it in the log, by the driver's error class, without the URL.
        logged = [r for r in caplog.records if r.getMessage() == "database unavailable"]
        assert [r.__dict__["error"] for r in logged] == ["OperationalError"]
        assert "127.0.0.1" not in caplog.text
    finally:
        engine.dispose()


def test_a_store_call_on_a_database_that_is_down_is_service_unavailable() -> None:
    stores = open_stores(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")
    try:
        with pytest.raises(ServiceUnavailable):
            stores.users.get("someone")
        with pytest.raises(ServiceUnavailable):
            stores.ping()
    finally:
        stores.close()


def test_a_hung_database_times_out_instead_of_hanging(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a URL ``connect_timeout`` the engine sets one (5 s; 1 s here)."""
    monkeypatch.setattr(engine_module, "DEFAULT_POSTGRES_CONNECT_TIMEOUT", 1)
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent_server}/none")
    started = time.monotonic()
    try:
        with pytest.raises(ServiceUnavailable), engine.connect():
            pass
    finally:
        engine.dispose()
    assert time.monotonic() - started < 4


def test_sqlite_errors_keep_their_type(sqlite_url: str) -> None:
    """SQLite has no server to be down: its errors say what is wrong with the file."""
    engine = create_engine(sqlite_url)
    try:
        with pytest.raises(sa_exc.OperationalError), engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_other_postgres_errors_keep_their_type(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with pytest.raises(sa_exc.ProgrammingError), engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_killed_connection_is_service_unavailable_and_the_pool_recovers(
    postgres_url: str,
) -> None:
    """An administrator's termination (SQLSTATE 57P01, a disconnect) mid-session, as in
    a restart; the next checkout gets a fresh connection."""
    engine = create_engine(postgres_url, pool_size=2)
    try:
        with engine.connect() as first, engine.connect() as second:
            second_pid = second.execute(text("SELECT pg_backend_pid()")).scalar_one()
            first.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": second_pid})
            with pytest.raises(ServiceUnavailable):
                second.execute(text("SELECT 1"))
        for _ in range(3):  # every pooled connection works again
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()


def test_the_hot_path_reads_on_a_database_that_is_down_are_service_unavailable() -> None:
    """The bearer check and the sign-in lookup run precompiled statements on a raw
    DBAPI connection (``_compiled``), which the engine's error hook never sees.

    Regression: with PostgreSQL restarting, ``/auth/me`` and ``/auth/login`` answered
    500 (a bare ``psycopg.OperationalError``) while every other route answered 503.
    """
    stores = open_stores(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/none")
    try:
        assert stores.session_users is not None
        with pytest.raises(ServiceUnavailable):
            stores.users.find_by_login("someone")
        with pytest.raises(ServiceUnavailable):
            stores.session_users.load("someone", "family", now=datetime.now(UTC))
    finally:
        stores.close()


@pytest.mark.postgres
def test_a_hot_path_read_on_a_killed_connection_is_service_unavailable_then_recovers(
    postgres_url: str,
) -> None:
    stores = open_stores(postgres_url)
    try:
        assert stores.engine is not None
        create_schema(stores.engine)
        assert stores.users.find_by_login("nobody") is None  # pools one connection
        _restart_backends(postgres_url)
        outcomes: list[object] = []
        for _ in range(3):  # the dead pooled connection fails once at most, then recovers
            try:
                outcomes.append(stores.users.find_by_login("nobody"))
            except ServiceUnavailable:
                outcomes.append("unavailable")
        assert outcomes[-1] is None
        assert outcomes.count("unavailable") <= 1
    finally:
        stores.close()


@pytest.mark.postgres
def test_other_errors_of_the_hot_path_keep_their_type(postgres_url: str) -> None:
    """A missing table is a bug or a missed migration, not an outage: never a 503."""
    stores = open_stores(postgres_url)  # no schema created
    try:
        with pytest.raises(sa_exc.DBAPIError) as raised:
            stores.users.find_by_login("nobody")
        assert not isinstance(raised.value, ServiceUnavailable)
    finally:
        stores.close()


def _counting_pings(engine: Engine) -> list[bool]:
    """Every ping the pool makes from now on, with its answer."""
    pings: list[bool] = []
    ping = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        try:
            alive = ping(dbapi_connection)
        except Exception:
            pings.append(False)
            raise
        pings.append(alive)
        return alive

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    return pings


def _restart_backends(postgres_url: str) -> None:
    """What a restart does to the pools: every other backend of the database killed,
    from a connection of its own that no pool keeps."""
    other = create_engine(postgres_url, poolclass=NullPool)
    try:
        with other.connect() as admin:
            admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            admin.commit()
    finally:
        other.dispose()


def _use_every_connection(engine: Engine, count: int) -> None:
    """Check out ``count`` connections at once and use each: all hot in the pool."""
    connections = [engine.connect() for _ in range(count)]
    try:
        for conn in connections:
            conn.execute(text("SELECT 1"))
    finally:
        for conn in connections:
            conn.close()


@pytest.mark.postgres
def test_a_connection_used_a_moment_ago_is_not_pinged(postgres_url: str) -> None:
    """The ping costs a round trip per checkout; one that was checked in within
    ``PING_AFTER_IDLE_SECONDS`` goes straight back to work."""
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        pings = _counting_pings(engine)
        for _ in range(20):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar_one() == 1
        assert pings == [], "a fresh connection and nineteen hot checkouts need no ping"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_an_idle_dead_connection_is_pinged_and_replaced_without_an_error(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.2)
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0)
    try:
        pings = _counting_pings(engine)
        with engine.connect() as conn:
            first_pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        _restart_backends(postgres_url)
        time.sleep(0.3)
        with engine.connect() as conn:  # no ServiceUnavailable: the ping found it dead
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != first_pid
        assert pings == [False]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_after_one_disconnect_every_pooled_connection_is_pinged(postgres_url: str) -> None:
    """A restart kills every pooled connection, hot ones included. The first use of
    one fails (503, the price of not pinging hot connections); from then on every
    other pooled connection is pinged before use and replaced, so no second
    request fails."""
    engine = create_engine(postgres_url, pool_size=3, max_overflow=0)
    try:
        _use_every_connection(engine, 3)
        pings = _counting_pings(engine)
        _restart_backends(postgres_url)
        outcomes: list[object] = []
        for _ in range(6):
            try:
                with engine.connect() as conn:
                    outcomes.append(conn.execute(text("SELECT 1")).scalar_one())
            except ServiceUnavailable:
                outcomes.append("unavailable")
        assert outcomes == ["unavailable", 1, 1, 1, 1, 1]
        assert pings.count(False) <= 2, pings  # the other two dead ones, found by a ping
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_hot_path_disconnect_makes_the_pool_ping(postgres_url: str) -> None:
    """The raw DBAPI reads (``_compiled``, ``_autocommit``) bypass the engine's error
    hook; their disconnects must make the pool ping all the same."""
    stores = open_stores(postgres_url, pool_size=3, max_overflow=0)
    try:
        assert stores.engine is not None
        create_schema(stores.engine)
        engine = stores.engine
        _use_every_connection(engine, 3)
        _restart_backends(postgres_url)
        outcomes: list[object] = []
        for _ in range(6):
            try:
                outcomes.append(stores.users.find_by_login("nobody"))
            except ServiceUnavailable:
                outcomes.append("unavailable")
        assert outcomes.count("unavailable") <= 1, outcomes
        assert outcomes[-5:] == [None] * 5
    finally:
        stores.close()


@pytest.mark.postgres
def test_pool_pre_ping_from_the_caller_pings_every_checkout(postgres_url: str) -> None:
    engine = create_engine(postgres_url, pool_size=1, max_overflow=0, pool_pre_ping=True)
    try:
        pings = _counting_pings(engine)
        for _ in range(3):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        assert len(pings) >= 2  # SQLAlchemy's own: every checkout of a pooled connection
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_dead_connection_found_by_a_ping_makes_the_hot_ones_ping_too(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first sign of a restart may be an idle connection's failed ping: from
    then on the hot ones are pinged as well, so no request fails at all."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_SECONDS", 0.2)
    engine = create_engine(postgres_url, pool_size=2, max_overflow=0)
    try:
        idle, hot = engine.connect(), engine.connect()
        for conn in (idle, hot):
            conn.execute(text("SELECT 1"))
        idle.close()  # first in the pool's queue, and idle by the restart
        time.sleep(0.3)
        hot.close()  # checked in a moment before the restart
        _restart_backends(postgres_url)
        with engine.connect() as first, engine.connect() as second:
            assert first.execute(text("SELECT 1")).scalar_one() == 1
            assert second.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
