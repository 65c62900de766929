"""SQLite locking: writers serialise up front, readers never wait for them (WAL)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import text

from authkit.storage import create_engine, create_schema
from authkit.storage.sql._engine import read_only


def test_a_read_proceeds_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    """A read_only connection does not take the write lock that BEGIN IMMEDIATE holds."""
    engine = create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    create_schema(engine)
    locked, read_done = threading.Event(), threading.Event()
    reader_finished_under_lock: list[bool] = []

    def writer() -> None:
        with engine.begin() as conn:
            conn.execute(text("UPDATE authkit_users SET is_active = is_active"))
            locked.set()
            reader_finished_under_lock.append(read_done.wait(timeout=10))

    thread = threading.Thread(target=writer)
    thread.start()
    assert locked.wait(timeout=10)
    with read_only(engine) as conn:
        assert conn.execute(text("SELECT count(*) FROM authkit_users")).scalar_one() == 0
    read_done.set()
    thread.join(timeout=30)
    engine.dispose()
    assert reader_finished_under_lock == [True]


def test_writers_take_the_lock_up_front(tmp_path: Path) -> None:
    """engine.begin() issues BEGIN IMMEDIATE: a second writer waits rather than failing."""
    engine = create_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    create_schema(engine)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with engine.begin() as conn:
                count = conn.execute(text("SELECT count(*) FROM authkit_users")).scalar_one()
                conn.execute(
                    text(
                        "INSERT INTO authkit_users (id, username, username_canonical, email,"
                        " email_canonical, password_hash, is_active, mfa_enabled, created_at)"
                        " VALUES (:id, :u, :u, :e, :e, 'x', 1, 0, '2026-01-01 00:00:00')"
                    ),
                    {"id": f"id-{n}-{count}", "u": f"user{n}", "e": f"user{n}@example.com"},
                )
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with read_only(engine) as conn:
        total = conn.execute(text("SELECT count(*) FROM authkit_users")).scalar_one()
    engine.dispose()
    assert errors == []
    assert total == 8


def test_database_errors_never_carry_bound_parameters(tmp_path: Path) -> None:
    """Regression (review): hide_parameters keeps hashes and identifiers out of error
    messages, which reach logs that admins can read."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(f"sqlite:///{tmp_path / 'params.db'}")
    create_schema(engine)
    secret = "$argon2id$v=19$m=19456,t=2,p=1$c2VjcmV0LXNhbHQ$c2VjcmV0LWhhc2g"
    with pytest.raises(IntegrityError) as caught, engine.begin() as conn:
        conn.execute(
            text("INSERT INTO authkit_users (id, password_hash) VALUES (:id, :hash)"),
            {"id": "x", "hash": secret},
        )
    engine.dispose()
    assert secret not in str(caught.value)
