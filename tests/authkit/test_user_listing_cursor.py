"""Keyset cursors of the admin listing: following them gives exactly the numbered pages.

Every store (memory, SQLite, PostgreSQL when configured) must agree: walking
``next_cursor`` from the first page yields the same users in the same order as
reading every ``page`` by offset, under every filter, with ties in
``created_at`` broken by ``id``; a user created meanwhile never shifts the walk;
a cursor that is not one this listing issued is refused before a store sees it.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import random
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from authkit.errors import InvalidRequest, ValidationFailed
from authkit.storage import MemoryUserStore, SqlUserStore, create_engine, create_schema
from authkit.users import NewUser, User, UserQuery, UserStore
from authkit.users._cursor import MAX_CURSOR_CHARS

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROLES = ("ops", "user")


def _new(i: int, *, second: int, active: bool, roles: tuple[str, ...]) -> NewUser:
    name = f"user{i:03d}"
    return NewUser(
        id=str(uuid.uuid4()),
        username=name,
        email=f"{name}@mail{i % 3}.test",
        password_hash="$argon2id$fake",
        roles=roles,
        is_active=active,
        created_at=NOW + timedelta(seconds=second),
    )


def _by_offset(store: UserStore, query: UserQuery) -> list[str]:
    """Every match, read page by numbered page."""
    seen: list[str] = []
    page = 1
    while True:
        listed = store.list_users(dataclasses.replace(query, page=page, page_size=3))
        if not listed.items:
            return seen
        seen += [user.id for user in listed.items]
        page += 1


def _by_cursor(store: UserStore, query: UserQuery) -> list[str]:
    """Every match, following ``next_cursor`` from the first page."""
    listed = store.list_users(query)
    seen = [user.id for user in listed.items]
    while listed.next_cursor is not None:
        assert len(listed.items) == query.page_size, "only the last page may be short"
        listed = store.list_users(dataclasses.replace(query, cursor=listed.next_cursor))
        assert listed.page is None
        assert listed.items, "a next_cursor always leads to more users"
        seen += [user.id for user in listed.items]
    return seen


def _expected(users: list[User], query: UserQuery) -> list[str]:
    needle = query.text
    return [
        user.id
        for user in sorted(users, key=lambda u: (u.created_at, u.id))
        if (needle is None or needle in user.username.casefold() or needle in user.email.casefold())
        and (query.is_active is None or user.is_active == query.is_active)
        and (query.role is None or query.role in user.roles)
    ]


_user_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=6),  # few distinct seconds: many ties
        st.booleans(),
        st.sampled_from([(), ("ops",), ("user",), ROLES]),
    ),
    max_size=25,
)
_queries = st.builds(
    UserQuery,
    q=st.sampled_from([None, "", "user00", "MAIL1", "1", "@"]),
    is_active=st.sampled_from([None, True, False]),
    role=st.sampled_from([None, "ops", "user"]),
    page_size=st.integers(min_value=1, max_value=5),
)


def _check(
    store: UserStore, specs: list[tuple[int, bool, tuple[str, ...]]], query: UserQuery
) -> None:
    users = [
        store.create(_new(i, second=second, active=active, roles=roles))
        for i, (second, active, roles) in enumerate(specs)
    ]
    expected = _expected(users, query)
    assert _by_cursor(store, query) == expected
    assert _by_offset(store, query) == expected


@settings(max_examples=60, deadline=None)
@given(specs=_user_specs, query=_queries)
def test_memory_cursor_walk_equals_the_numbered_pages(
    specs: list[tuple[int, bool, tuple[str, ...]]], query: UserQuery
) -> None:
    _check(MemoryUserStore(), specs, query)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=_user_specs, query=_queries)
def test_sqlite_cursor_walk_equals_the_numbered_pages(
    specs: list[tuple[int, bool, tuple[str, ...]]], query: UserQuery
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        engine = create_engine(f"sqlite:///{Path(folder) / 'cursor.db'}")
        try:
            create_schema(engine)
            _check(SqlUserStore(engine), specs, query)
        finally:
            engine.dispose()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest) -> Iterator[UserStore]:
    """The memory store, and the SQL store on SQLite and (when configured) PostgreSQL."""
    if request.param == "memory":
        yield MemoryUserStore()
        return
    url: str = request.getfixturevalue(f"{request.param}_url")
    engine = create_engine(url)
    create_schema(engine)
    yield SqlUserStore(engine)
    engine.dispose()


def test_random_listings_agree_on_every_backend(store: UserStore) -> None:
    """Sixty users with many creation-time ties, every filter combination, small pages."""
    rng = random.Random(10)
    users = [
        store.create(
            _new(
                i,
                second=rng.randrange(12),
                active=rng.random() < 0.7,
                roles=rng.choice([(), ("ops",), ("user",), ROLES]),
            )
        )
        for i in range(60)
    ]
    for q in (None, "mail1", "USER01", "nobody"):
        for is_active in (None, True, False):
            for role in (None, "ops"):
                query = UserQuery(q=q, is_active=is_active, role=role, page_size=rng.randint(1, 7))
                expected = _expected(users, query)
                assert _by_cursor(store, query) == expected, query
                assert _by_offset(store, query) == expected, query


def test_estimated_totals_do_not_change_the_walk(engine: Engine) -> None:
    """With a bound of 5 PostgreSQL estimates the total; the cursor pages stay exact."""
    store = SqlUserStore(engine)
    store.exact_count_limit = 5
    users = [
        store.create(_new(i, second=i // 2, active=i % 4 != 0, roles=("user",))) for i in range(40)
    ]
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE authkit_users"))
            conn.execute(text("ANALYZE authkit_user_roles"))
    for query in (UserQuery(page_size=6), UserQuery(is_active=True, page_size=4)):
        assert _by_cursor(store, query) == _expected(users, query)
        assert _by_offset(store, query) == _expected(users, query)


def test_the_walk_is_stable_under_inserts(store: UserStore) -> None:
    """Users created while an admin pages neither shift nor repeat the pages still to come."""
    first = [store.create(_new(i, second=10 + i, active=True, roles=())) for i in range(6)]
    page = store.list_users(UserQuery(page_size=3))
    assert [u.id for u in page.items] == [u.id for u in first[:3]]
    assert page.next_cursor is not None
    store.create(_new(100, second=0, active=True, roles=()))  # sorts before the cursor
    late = store.create(_new(101, second=99, active=True, roles=()))  # after everything
    second = store.list_users(UserQuery(cursor=page.next_cursor, page_size=3))
    assert [u.id for u in second.items] == [u.id for u in first[3:]]
    assert second.next_cursor is not None
    third = store.list_users(UserQuery(cursor=second.next_cursor, page_size=3))
    assert [u.id for u in third.items] == [late.id]
    assert third.next_cursor is None


def test_a_full_last_page_has_no_next_cursor(store: UserStore) -> None:
    for i in range(4):
        store.create(_new(i, second=i, active=True, roles=()))
    assert store.list_users(UserQuery(page_size=4)).next_cursor is None
    assert store.list_users(UserQuery(page=2, page_size=2)).next_cursor is None
    assert store.list_users(UserQuery(page=5, page_size=2)).next_cursor is None
    first = store.list_users(UserQuery(page_size=2))
    assert first.next_cursor is not None
    last = store.list_users(UserQuery(cursor=first.next_cursor, page_size=2))
    assert (len(last.items), last.next_cursor, last.total) == (2, None, 4)


# -- refused cursors ----------------------------------------------------------------------


def _issued(store: UserStore, **filters: object) -> str:
    for i in range(3):
        store.create(_new(i, second=i, active=True, roles=("ops",)))
    cursor = store.list_users(UserQuery(page_size=1, **filters)).next_cursor  # type: ignore[arg-type]
    assert cursor is not None
    return cursor


def _forge(fields: object) -> str:
    raw = json.dumps(fields, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _fields(cursor: str) -> list[object]:
    decoded: list[object] = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    return decoded


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!!",
        "a",
        "x" * (MAX_CURSOR_CHARS + 1),
        _forge({"not": "a list"}),
        _forge([2, "2026-03-01T09:00:00+00:00", str(uuid.uuid4()), "0" * 16]),
        _forge([1, "yesterday", str(uuid.uuid4()), "0" * 16]),
        _forge([1, "2026-03-01T09:00:00", str(uuid.uuid4()), "0" * 16]),  # no offset
        _forge([1, "9999-12-31T23:00:00-05:00", str(uuid.uuid4()), "0" * 16]),  # past 9999 in UTC
        _forge([1, "0001-01-01T00:00:00+05:00", str(uuid.uuid4()), "0" * 16]),  # before year 1
        _forge([1, "2026-03-01T09:00:00+00:00", "' OR 1=1 --", "0" * 16]),
        _forge([1, 5, str(uuid.uuid4()), "0" * 16]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode().rstrip("="),
    ],
)
def test_garbage_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        UserQuery(cursor=cursor)
    assert caught.value.field == "cursor"
    assert "meta.next_cursor" in caught.value.message


def test_an_edited_cursor_is_refused_or_only_moves_the_position() -> None:
    store = MemoryUserStore()
    cursor = _issued(store)
    fields = _fields(cursor)
    fields[2] = "not-a-user-id"
    with pytest.raises(InvalidRequest):
        UserQuery(cursor=_forge(fields))
    fields = _fields(cursor)
    fields[3] = "0" * 16  # claims other filters
    with pytest.raises(InvalidRequest, match="other filters"):
        UserQuery(cursor=_forge(fields))


def test_a_cursor_must_come_back_with_its_filters() -> None:
    store = MemoryUserStore()
    cursor = _issued(store, role="ops", q="USER")
    # The same filters, q in another case (it is matched case-folded): accepted.
    assert store.list_users(UserQuery(cursor=cursor, role="ops", q="user", page_size=1)).items
    for other in (
        UserQuery(role="ops"),
        UserQuery(q="user"),
        UserQuery(role="ops", q="user", is_active=True),
    ):
        with pytest.raises(InvalidRequest, match="other filters"):
            dataclasses.replace(other, cursor=cursor)


def test_a_cursor_replaces_the_page_number() -> None:
    cursor = _issued(MemoryUserStore())
    with pytest.raises(ValidationFailed) as caught:
        UserQuery(cursor=cursor, page=2)
    assert caught.value.errors == [{"loc": ["page"], "msg": "page cannot be combined with cursor."}]
