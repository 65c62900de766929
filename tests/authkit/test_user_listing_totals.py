"""The admin listing's total: exact up to a bound, PostgreSQL's estimate beyond.

SQLite and the memory store always count exactly. PostgreSQL counts at most
``exact_count_limit + 1`` matches and otherwise answers its planner's estimate,
flagged by ``total_exact``; ``pages`` always follows ``total``, and every page is
still an exact slice of the ordering. The bound is lowered to 5 here so a dozen
users cross it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, event, text

from authkit.storage import MemoryUserStore, SqlUserStore, create_engine, create_schema
from authkit.storage.sql import _user_admin as sql_admin
from authkit.users import EXACT_COUNT_LIMIT, NewUser, User, UserQuery, UserStore

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LIMIT = 5


def _seed(store: UserStore, count: int, *, active: int | None = None) -> list[User]:
    """``count`` users one second apart; the first ``active`` (default all) active."""
    return [
        store.create(
            NewUser(
                id=str(uuid.uuid4()),
                username=f"user{i:03d}",
                email=f"user{i:03d}@example.test",
                password_hash="$argon2id$fake",
                roles=("user",),
                is_active=active is None or i < active,
                created_at=NOW + timedelta(seconds=i),
            )
        )
        for i in range(count)
    ]


def _store(engine: Engine) -> SqlUserStore:
    store = SqlUserStore(engine)
    store.exact_count_limit = LIMIT
    return store


def _is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def _analyze(engine: Engine) -> None:
    """Fresh planner statistics on PostgreSQL (autovacuum's job in a real database)."""
    if _is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE authkit_users"))
            conn.execute(text("ANALYZE authkit_user_roles"))


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    """An engine on an empty PostgreSQL database with authkit's tables."""
    eng = create_engine(postgres_url)
    create_schema(eng)
    yield eng
    eng.dispose()


def test_the_default_bound_is_ten_thousand() -> None:
    assert EXACT_COUNT_LIMIT == 10_000
    assert SqlUserStore.exact_count_limit == EXACT_COUNT_LIMIT


def test_memory_store_counts_exactly() -> None:
    store = MemoryUserStore()
    _seed(store, 12)
    page = store.list_users(UserQuery(page_size=5))
    assert (page.total, page.pages, page.total_exact) == (12, 3, True)


def test_results_within_the_bound_are_exact(engine: Engine) -> None:
    """Exact when the planner (with current statistics) expects at most the bound."""
    store = _store(engine)
    users = _seed(store, 12, active=LIMIT)
    _analyze(engine)
    for query, total in ((UserQuery(is_active=False), 7), (UserQuery(q="user01"), 2)):
        page = store.list_users(query)
        if total <= LIMIT or not _is_postgres(engine):
            assert (page.total, page.total_exact) == (total, True)
    exactly = store.list_users(UserQuery(is_active=True, page_size=2))
    assert (exactly.total, exactly.pages, exactly.total_exact) == (LIMIT, 3, True)
    assert [u.id for u in exactly.items] == [u.id for u in users[:2]]


def test_over_the_bound_sqlite_stays_exact_postgres_estimates(engine: Engine) -> None:
    store = _store(engine)
    _seed(store, 12)
    page = store.list_users(UserQuery(page_size=5))
    assert len(page.items) == 5
    assert page.pages == -(-page.total // 5)
    if _is_postgres(engine):
        assert page.total_exact is False
        assert page.total > LIMIT
    else:
        assert (page.total, page.total_exact) == (12, True)


def test_estimated_pages_still_join_up_and_the_last_one_makes_the_total_exact(
    engine: Engine,
) -> None:
    """Read forwards, every page is an exact slice; a short page ends the results."""
    store = _store(engine)
    users = _seed(store, 12)
    seen: list[str] = []
    for number in (1, 2):
        page = store.list_users(UserQuery(page=number, page_size=5))
        assert page.total >= number * 5
        assert page.total_exact is not _is_postgres(engine)
        seen += [u.id for u in page.items]
    last = store.list_users(UserQuery(page=3, page_size=5))
    seen += [u.id for u in last.items]
    assert seen == [u.id for u in users]
    assert (last.total, last.pages, last.total_exact) == (12, 3, True)


@pytest.mark.postgres
def test_postgres_estimate_is_the_planners_after_analyze(pg_engine: Engine) -> None:
    store = _store(pg_engine)
    _seed(store, 40)
    _analyze(pg_engine)
    for query in (UserQuery(), UserQuery(role="user"), UserQuery(is_active=True)):
        page = store.list_users(query)
        assert (page.total, page.pages, page.total_exact) == (40, 2, False)


@pytest.mark.postgres
def test_postgres_a_low_estimate_is_raised_to_the_bound(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The planner expects nothing, the bounded count finds more: at least limit + 1."""
    monkeypatch.setattr(sql_admin, "_estimate", lambda conn, matches: 0)
    store = _store(pg_engine)
    _seed(store, 12)
    page = store.list_users(UserQuery(page_size=2))
    assert (page.total, page.pages, page.total_exact) == (LIMIT + 1, 3, False)


@pytest.mark.postgres
def test_postgres_a_high_estimate_is_corrected_by_what_a_page_finds(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An estimate of 1000 for 12 users: an empty page caps it, a short one fixes it."""
    monkeypatch.setattr(sql_admin, "_estimate", lambda conn, matches: 1000)
    store = _store(pg_engine)
    _seed(store, 12)
    first = store.list_users(UserQuery(page_size=5))
    assert (first.total, first.pages, first.total_exact) == (1000, 200, False)
    past = store.list_users(UserQuery(page=5, page_size=5))
    assert past.items == ()
    assert (past.total, past.pages, past.total_exact) == (20, 4, False)
    last = store.list_users(UserQuery(page=3, page_size=5))
    assert (last.total, last.pages, last.total_exact) == (12, 3, True)


@pytest.mark.postgres
def test_postgres_a_page_in_the_last_quarter_of_the_estimate_is_counted_exactly(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Near the estimated end the matches are counted and the page read from the end."""
    monkeypatch.setattr(sql_admin, "_estimate", lambda conn, matches: 14)
    store = _store(pg_engine)
    users = _seed(store, 12)
    forwards = store.list_users(UserQuery(page=2, page_size=5))
    assert (forwards.total, forwards.total_exact) == (14, False)
    deep = store.list_users(UserQuery(page=3, page_size=5))
    assert (deep.total, deep.pages, deep.total_exact) == (12, 3, True)
    assert [u.id for u in deep.items] == [u.id for u in users[10:]]
    past = store.list_users(UserQuery(page=4, page_size=5))
    assert (past.items, past.total, past.total_exact) == ((), 12, True)


@pytest.mark.postgres
@pytest.mark.parametrize("matches", [3, LIMIT, LIMIT + 1, 12])
def test_postgres_a_page_within_the_bound_is_read_with_its_count_in_one_scan(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch, matches: int
) -> None:
    """With a low estimate, a page inside the first ``limit`` matches comes from one
    read of their ids (no separate count): every page is the exact slice, and the
    total is exact up to the bound and ``limit + 1`` beyond it."""
    monkeypatch.setattr(sql_admin, "_estimate", lambda conn, matches: 0)
    store = _store(pg_engine)
    users = _seed(store, 12, active=matches)
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(pg_engine, "before_cursor_execute", seen)
    try:
        pages = [store.list_users(UserQuery(is_active=True, page=n, page_size=2)) for n in (1, 2)]
    finally:
        event.remove(pg_engine, "before_cursor_execute", seen)
    assert not any("count(" in s.lower() for s in statements), statements
    ids = [u.id for page in pages for u in page.items]
    assert ids == [u.id for u in users[: min(matches, 4)]]
    for page in pages:
        if matches <= LIMIT:
            assert (page.total, page.total_exact) == (matches, True)
        else:
            assert (page.total, page.total_exact) == (LIMIT + 1, False)
            assert page.next_cursor is not None
