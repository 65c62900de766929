"""The admin half of ``SqlUserStore``: listing, activation, roles, bulk changes.

Listing
    One filter (``q`` on the case-folded ``*_canonical`` columns with ``LIKE``
    wildcards escaped, ``is_active``, ``role``) serves the count and the page, in
    one snapshot (REPEATABLE READ on PostgreSQL; SQLite's transaction is one
    already). The page is found by ids alone (``ORDER BY created_at, id`` with
    ``OFFSET``), which ``ix_authkit_users_created_at_id`` or
    ``ix_authkit_users_is_active_created_at_id`` answer from the index without
    touching the table; only the page's rows are then read, and their roles in one
    query. When the total is exact, a page in the second half of the results is
    read backwards from the end: the last page costs what the first does, and no
    page skips more than half of the matches. SQLite always counts exactly.
    PostgreSQL counts exactly up to ``EXACT_COUNT_LIMIT`` matches and answers its
    planner's estimate beyond (``UserPage.total_exact`` false): an exact count of
    a million rows alone costs more than the whole request may. PostgreSQL serves
    ``q`` of three or more characters from the trigram GIN indexes; SQLite has no
    index for a substring and scans. A role filter alone is counted from the
    ``(role, user_id)`` index. With a ``q`` the bound is ``EXACT_TEXT_COUNT_LIMIT``
    (1,000): each counted match is a heap row rechecked, not an index entry.

Cursor pages
    A cursor page (``UserQuery.after``) is ``WHERE (created_at, id) > (...)
    ORDER BY created_at, id LIMIT page_size + 1``: a range of the same indexes
    that starts at the position, so it costs one page at any depth, where
    ``OFFSET`` costs every row it skips. The extra row says whether a
    ``next_cursor`` is due. The total is computed as for the first page.

Changes
    Every change of ``is_active`` or roles is serialised: on PostgreSQL by a
    transaction-scoped advisory lock taken before anything is read, on SQLite by
    the write lock ``BEGIN IMMEDIATE`` takes (``authkit.storage.create_engine``).
    Inside, the store reads the current state, checks that an active admin
    remains, and writes, so two admins deactivating each other at the same moment
    cannot both succeed. A row lock on the admin rows alone would not do: a
    demotion deletes a ``user_roles`` row without touching the user row, and
    locking targets and admins in two steps can deadlock.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Final

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    update,
)

from authkit.roles import ADMIN
from authkit.storage.sql._engine import read_only
from authkit.storage.sql._rows import hydrate_users
from authkit.storage.sql._tables import user_roles, users
from authkit.users._model import User
from authkit.users._query import (
    EXACT_COUNT_LIMIT,
    EXACT_TEXT_COUNT_LIMIT,
    BulkResult,
    UserPage,
    UserQuery,
    classify,
    escape_like,
    last_admin_conflict,
)

ADMIN_CHANGES_LOCK: Final = 0x61757468_6B697401
"""The PostgreSQL advisory lock key of user activation and role changes ("authki\\x01")."""

_ESCAPE: Final = "\\"

ROLE_FIRST_LIMIT: Final = 2000
"""On SQLite, a role held by at most this many users is filtered from the role index.

Measured at 100,000 users: starting from the role index costs about one
millisecond per 1,000 holders (each is looked up and sorted); walking the users in
order and probing the role costs little when most users hold it, but about 100 ms
when almost nobody does.
"""


class SqlUserAdmin:
    _engine: Engine
    exact_count_limit: int = EXACT_COUNT_LIMIT
    """Above this many matches PostgreSQL's listing reports an estimated total."""
    exact_text_count_limit: int = EXACT_TEXT_COUNT_LIMIT
    """The same bound for a query with ``q`` (the lower of the two applies)."""

    # -- listing ----------------------------------------------------------------

    def list_users(self, query: UserQuery) -> UserPage:
        with read_only(self._engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
                limit = self.exact_count_limit
                if query.text is not None:
                    limit = min(limit, self.exact_text_count_limit)
                return _list_postgresql(conn, query, limit)
            return _list_exact(conn, query)

    # -- changes ----------------------------------------------------------------

    def set_active(self, user_id: str, active: bool) -> User | None:
        with self._engine.begin() as conn:
            serialise_changes(conn)
            current = conn.execute(
                select(users.c.is_active).where(users.c.id == user_id)
            ).scalar_one_or_none()
            if current is None:
                return None
            if bool(current) != active:
                if not active:
                    keep_an_admin(conn, leaving={user_id})
                conn.execute(update(users).where(users.c.id == user_id).values(is_active=active))
            return self._load(conn, user_id)

    def set_roles(self, user_id: str, roles: Iterable[str]) -> User | None:
        wanted = sorted(set(roles))
        with self._engine.begin() as conn:
            serialise_changes(conn)
            user = self._load(conn, user_id)
            if user is None:
                return None
            if user.is_active and user.is_admin and ADMIN not in wanted:
                keep_an_admin(conn, leaving={user_id})
            if list(user.roles) != wanted:
                conn.execute(delete(user_roles).where(user_roles.c.user_id == user_id))
                if wanted:
                    conn.execute(
                        insert(user_roles), [{"user_id": user_id, "role": r} for r in wanted]
                    )
            return self._load(conn, user_id)

    def bulk_set_active(self, ids: Sequence[str], active: bool) -> BulkResult:
        distinct = tuple(dict.fromkeys(ids))
        with self._engine.begin() as conn:
            serialise_changes(conn)
            current = {
                row.id: bool(row.is_active)
                for row in conn.execute(
                    select(users.c.id, users.c.is_active).where(users.c.id.in_(distinct))
                )
            }
            result, to_change = classify(distinct, current=current, active=active)
            if to_change:
                if not active:
                    keep_an_admin(conn, leaving=set(to_change))
                conn.execute(
                    update(users).where(users.c.id.in_(to_change)).values(is_active=active)
                )
            return result

    def count_active_admins(self, excluding: Collection[str] = ()) -> int:
        with read_only(self._engine) as conn:
            return len(_active_admins(conn) - set(excluding))

    def _load(self, conn: Connection, user_id: str) -> User | None:
        rows = conn.execute(select(users).where(users.c.id == user_id)).mappings().all()
        found = hydrate_users(conn, rows)
        return found[0] if found else None


def _list_exact(conn: Connection, query: UserQuery) -> UserPage:
    """SQLite: an exact total, and the page read from the nearer end of the ordering."""
    holders = None
    if query.role is not None:
        holders = int(conn.execute(_role_count(query.role)).scalar_one())
    by_role = holders is None or holders <= ROLE_FIRST_LIMIT
    conditions = _conditions(query, by_role=by_role)
    if holders is not None and _role_only(query):
        total = holders
    else:
        total = int(conn.execute(_count(conditions)).scalar_one())
    return _exact_page(conn, query, conditions, total)


def _exact_page(
    conn: Connection, query: UserQuery, conditions: list[ColumnElement[bool]], total: int
) -> UserPage:
    """The page of ``query`` once its ``total`` is known exactly."""
    if query.after is not None:
        items, more = _page_after(conn, query, conditions)
        return query.page_of(items, total=total, more=more)
    items = _page(conn, query, conditions, total) if query.offset < total else []
    return query.page_of(items, total=total, more=query.offset + len(items) < total)


def _list_postgresql(conn: Connection, query: UserQuery, limit: int) -> UserPage:
    """An exact total up to ``limit`` matches, the planner's estimate beyond.

    The planner's estimate comes first (planning only, under a millisecond). If it
    expects at most ``limit`` matches and the page lies within the first ``limit``,
    one read of their ids gives both the count and the page
    (``_bounded_ordered_page``). Otherwise, with such an estimate, the matches are
    counted, but no further than ``limit + 1``: an exact total if there are no
    more, else the estimate, raised to ``limit + 1`` if the planner guessed lower.
    Over ``limit`` it is the answer at once, so a broad ``q`` does not pay for
    reading every match. With an exact
    total the page is read from the nearer end, as on SQLite. With an estimate, a
    page in the last quarter of it is worth an exact count (a counted row costs
    about half a skipped one) and then a read from the end; any other page is read
    forwards, and what it finds corrects the estimate: the last page (no match
    after it) ends the results, so the total becomes exact; a full one proves at
    least ``offset + page_size``; an empty one at most ``offset``. A cursor page
    is read from its position whatever the total; its estimate stays as it is.
    """
    conditions = _conditions(query)
    matches = _matches(query, conditions)
    estimate = _estimate(conn, matches)
    floor = 0
    if estimate <= limit and query.after is None and query.offset + query.page_size <= limit:
        return _bounded_ordered_page(conn, query, conditions, limit, estimate)
    if estimate <= limit:
        bounded = select(func.count()).select_from(matches.limit(limit + 1).subquery())
        counted = int(conn.execute(bounded).scalar_one())
        if counted <= limit:
            return _exact_page(conn, query, conditions, counted)
        floor = limit + 1
    total = max(estimate, floor)
    if query.after is not None:
        items, more = _page_after(conn, query, conditions)
        return query.page_of(items, total=total, more=more, total_exact=False)
    if query.offset >= total * 3 // 4:
        # Deep in the results: skipping ``offset`` rows costs more than counting
        # them all (about twice as much per row) and reading the rest backwards.
        counted = int(
            conn.execute(select(func.count()).select_from(matches.subquery())).scalar_one()
        )
        return _exact_page(conn, query, conditions, counted)
    ids = _ordered_ids(conditions).offset(query.offset).limit(query.page_size + 1)
    items, more = _split(_read(conn, ids), query.page_size)
    exact = False
    if items and not more:
        total, exact = query.offset + len(items), True
    elif items:
        total = max(total, query.offset + len(items))
    else:
        total = max(floor, min(total, query.offset))
    return query.page_of(items, total=total, more=more, total_exact=exact)


def _bounded_ordered_page(
    conn: Connection,
    query: UserQuery,
    conditions: list[ColumnElement[bool]],
    limit: int,
    estimate: int,
) -> UserPage:
    """A page within the first ``limit`` matches: its count and its ids in one read.

    Counting the matches and then reading the page ran the same search twice; for
    a text search that is two scans of the trigram indexes and the rows they point
    to (1 % of a million users: 9 ms for the bounded count, then 19 ms for the
    page, ``bench_user_listing.py --explain``). Here the ids of the first
    ``limit + 1`` matches are read once, in listing order: their number is the
    exact total when it is at most ``limit``, and the page is a slice of them.
    Beyond the bound the total is the estimate, raised to ``limit + 1``.
    """
    ordered = list(conn.execute(_ordered_ids(conditions).limit(limit + 1)).scalars())
    page_ids = ordered[query.offset : query.offset + query.page_size]
    items = _read(conn, select(users.c.id).where(users.c.id.in_(page_ids))) if page_ids else []
    if len(ordered) <= limit:
        total = len(ordered)
        return query.page_of(items, total=total, more=query.offset + len(items) < total)
    return query.page_of(items, total=max(estimate, limit + 1), more=True, total_exact=False)


def _matches(query: UserQuery, conditions: list[ColumnElement[bool]]) -> Select[tuple[str]]:
    """One row per match: from the ``(role, user_id)`` index alone for a role filter alone."""
    if query.role is not None and _role_only(query):
        return select(user_roles.c.user_id).where(user_roles.c.role == query.role)
    return select(users.c.id).where(*conditions)


def _estimate(conn: Connection, matches: Select[tuple[str]]) -> int:
    """PostgreSQL's planner estimate of the rows of ``matches`` (statistics, no scan).

    For no filter it is ``pg_class.reltuples`` scaled to the table's current
    size; for a filter, the selectivity the statistics give it.
    """
    compiled = matches.compile(conn)
    plan = conn.exec_driver_sql(
        f"EXPLAIN (FORMAT JSON) {compiled}", dict(compiled.params)
    ).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    return max(0, round(float(plan[0]["Plan"]["Plan Rows"])))


def _page(
    conn: Connection, query: UserQuery, conditions: list[ColumnElement[bool]], total: int
) -> list[User]:
    """The users of a numbered page, with their roles; only the page's rows are read."""
    return _read(conn, _page_ids(query, conditions, total))


def _page_after(
    conn: Connection, query: UserQuery, conditions: list[ColumnElement[bool]]
) -> tuple[list[User], bool]:
    """The users after the cursor's position, and whether more follow them.

    A row-value comparison on ``(created_at, id)`` is a range of
    ``ix_authkit_users_created_at_id``: the read starts at the position instead of
    skipping every row before it. One row more than the page tells whether a next
    page exists.
    """
    return _split(_read(conn, _ids_after(query, conditions)), query.page_size)


def _ids_after(query: UserQuery, conditions: list[ColumnElement[bool]]) -> Select[tuple[str]]:
    after = query.after
    assert after is not None
    position = tuple_(users.c.created_at, users.c.id) > tuple_(
        literal(after.created_at, users.c.created_at.type), literal(after.id, users.c.id.type)
    )
    return _ordered_ids([*conditions, position]).limit(query.page_size + 1)


def _split(found: list[User], page_size: int) -> tuple[list[User], bool]:
    return found[:page_size], len(found) > page_size


def _read(conn: Connection, ids: Select[tuple[str]]) -> list[User]:
    """The users ``ids`` selects, in listing order, with their roles."""
    page_ids = ids.subquery("page_ids")
    rows = conn.execute(select(users).join(page_ids, users.c.id == page_ids.c.id)).mappings().all()
    return sorted(hydrate_users(conn, rows), key=lambda u: (u.created_at, u.id))


def _ordered_ids(conditions: list[ColumnElement[bool]]) -> Select[tuple[str]]:
    return select(users.c.id).where(*conditions).order_by(users.c.created_at, users.c.id)


def _conditions(query: UserQuery, *, by_role: bool = True) -> list[ColumnElement[bool]]:
    """The filter of ``query``; ``by_role`` picks how the role condition is written.

    ``id IN (holders of the role)`` lets a database start from the role index,
    right for a rare role; ``EXISTS (role row of this user)`` makes it walk the
    users in listing order and probe the role's primary key, right for a common
    one. PostgreSQL plans both as one semi-join and chooses by its statistics;
    SQLite follows the form, so the store chooses there (``ROLE_FIRST_LIMIT``).
    """
    conditions: list[ColumnElement[bool]] = []
    if (needle := query.text) is not None:
        pattern = f"%{escape_like(needle, _ESCAPE)}%"
        conditions.append(
            or_(
                users.c.username_canonical.like(pattern, escape=_ESCAPE),
                users.c.email_canonical.like(pattern, escape=_ESCAPE),
            )
        )
    if query.is_active is not None:
        conditions.append(users.c.is_active == query.is_active)
    if query.role is not None:
        holders = select(user_roles.c.user_id).where(user_roles.c.role == query.role)
        if by_role:
            conditions.append(users.c.id.in_(holders))
        else:
            conditions.append(holders.where(user_roles.c.user_id == users.c.id).exists())
    return conditions


def _role_only(query: UserQuery) -> bool:
    return query.role is not None and query.text is None and query.is_active is None


def _role_count(role: str) -> Select[tuple[int]]:
    """Users holding ``role``, from the (role, user_id) index alone.

    Every role row names an existing user (foreign key), so no join is needed.
    """
    return select(func.count()).select_from(user_roles).where(user_roles.c.role == role)


def _count(conditions: list[ColumnElement[bool]]) -> Select[tuple[int]]:
    return select(func.count()).select_from(users).where(*conditions)


def _page_ids(
    query: UserQuery, conditions: list[ColumnElement[bool]], total: int
) -> Select[tuple[str]]:
    """The ids of a numbered page, read from whichever end of the ordering is nearer."""
    size = min(query.page_size, total - query.offset)
    after = total - query.offset - size
    ids = select(users.c.id).where(*conditions).limit(size)
    if query.offset <= after:
        return ids.order_by(users.c.created_at, users.c.id).offset(query.offset)
    return ids.order_by(users.c.created_at.desc(), users.c.id.desc()).offset(after)


def serialise_changes(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADMIN_CHANGES_LOCK})


def _active_admins(conn: Connection) -> set[str]:
    return set(
        conn.execute(
            select(users.c.id)
            .join(user_roles, user_roles.c.user_id == users.c.id)
            .where(user_roles.c.role == ADMIN, users.c.is_active.is_(True))
        ).scalars()
    )


def keep_an_admin(conn: Connection, *, leaving: set[str]) -> None:
    """Raise if losing ``leaving`` empties a non-empty set of active admins."""
    admins = _active_admins(conn)
    if admins & leaving and not admins - leaving:
        raise last_admin_conflict()


__all__ = [
    "ADMIN_CHANGES_LOCK",
    "ROLE_FIRST_LIMIT",
    "SqlUserAdmin",
    "keep_an_admin",
    "serialise_changes",
]
