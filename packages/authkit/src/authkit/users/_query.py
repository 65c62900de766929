"""The values of the admin user listing and of bulk changes, and the rules they obey.

Stores and ``AdminService`` exchange these frozen records, so the limits (page
size, number of roles, number of ids in a bulk change) are checked in one place
whichever adapter built the request. Field errors are ``ValidationFailed`` with
``loc``/``msg`` entries, the same shape the HTTP adapter reports for its own
parsing, so a client sees one kind of 422 however deep the rule lives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final, Literal

from authkit.errors import Conflict, ValidationFailed
from authkit.users._cursor import ListPosition, decode_cursor, encode_cursor, filter_digest
from authkit.users._model import User, canonical

MAX_PAGE_SIZE: Final = 100
"""The largest page of the admin listing."""
DEFAULT_PAGE_SIZE: Final = 20
"""The page size of the admin listing unless one is asked for."""
MAX_QUERY_CHARS: Final = 320
"""As long as an email address may be stored: a longer substring matches nothing."""
EXACT_COUNT_LIMIT: Final = 10_000
"""Up to this many matches a store that can estimate still counts them exactly.

Beyond it an exact count costs a scan of every match (about 80 ms per million
rows on PostgreSQL), so such a store answers the planner's estimate instead and
says so with ``UserPage.total_exact``.
"""
EXACT_TEXT_COUNT_LIMIT: Final = 1_000
"""The bound of ``EXACT_COUNT_LIMIT`` when the query has a ``q``.

A ``q`` is served by trigram indexes that only name candidates: every counted
match is a table row read and rechecked, scattered over the table, about ten
microseconds each instead of a fraction of one for an index entry. Ten thousand
of them would cost about 100 ms, so a text search counts a tenth as many.
"""

ROLE_PATTERN: Final = re.compile(r"[a-z0-9_-]{1,64}")
MAX_ROLES: Final = 20
MAX_BULK_IDS: Final = 1000
"""The most ids one bulk request may name."""

_USER_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

BulkAction = Literal["activate", "deactivate"]
"""What a bulk request does to the accounts it names."""
BULK_ACTIONS: Final[tuple[BulkAction, ...]] = ("activate", "deactivate")
"""Every bulk action."""


def last_admin_conflict() -> Conflict:
    """The refusal to leave the service without an active admin.

    Without one nobody could manage accounts any more short of editing the
    database, so stores refuse the change itself rather than trusting callers.
    """
    return Conflict(
        "This change would leave no active admin: activate or promote another admin first.",
        reason="last_admin",
    )


def is_user_id(value: str) -> bool:
    """Whether ``value`` can name a user: the canonical UUID text authkit issues.

    Anything else (upper case, braces, no hyphens, not a UUID at all) names no
    user, so callers answer "not found" without asking the database.
    """
    return _USER_ID.fullmatch(value) is not None


def escape_like(value: str, escape: str = "\\") -> str:
    """Escape ``%``, ``_`` and the escape character itself for a ``LIKE ... ESCAPE``.

    Without it ``q=100%`` or ``q=a_b`` would be wildcards and match far more than
    the substring the admin typed.
    """
    return value.replace(escape, escape * 2).replace("%", f"{escape}%").replace("_", f"{escape}_")


def validate_role(role: str, *, loc: Sequence[str]) -> dict[str, Any] | None:
    if ROLE_PATTERN.fullmatch(role):
        return None
    return {"loc": list(loc), "msg": "A role is 1-64 characters of a-z, 0-9, '_' or '-'."}


def normalise_roles(roles: Iterable[str]) -> tuple[str, ...]:
    """Validate and deduplicate roles; sorted, as stores return them.

    At most ``MAX_ROLES`` distinct roles: a role list is a small set of grants,
    and a bound keeps every user row's role join cheap.
    """
    given = list(roles)
    errors = [
        error
        for index, role in enumerate(given)
        if (error := validate_role(role, loc=("roles", str(index)))) is not None
    ]
    distinct = tuple(sorted(set(given)))
    if len(distinct) > MAX_ROLES:
        errors.append({"loc": ["roles"], "msg": f"At most {MAX_ROLES} distinct roles are allowed."})
    if errors:
        raise ValidationFailed(errors)
    return distinct


def distinct_ids(ids: Sequence[str]) -> tuple[str, ...]:
    """The ids of a bulk request once each, in order of first appearance.

    Checks the 1-``MAX_BULK_IDS`` bound on the list as sent: the bound limits the
    work one request may ask for, duplicates included.
    """
    if not 1 <= len(ids) <= MAX_BULK_IDS:
        raise ValidationFailed(
            [{"loc": ["ids"], "msg": f"Between 1 and {MAX_BULK_IDS} ids are required."}]
        )
    return tuple(dict.fromkeys(ids))


@dataclass(frozen=True, kw_only=True)
class UserQuery:
    """One page of the admin listing, ordered by ``(created_at, id)``.

    ``q`` is a case-insensitive substring of the username or the email, matched
    on the case-folded ``*_canonical`` columns; ``None`` or blank means no text
    filter. ``page`` starts at 1; a page past the last one is empty, not an error.

    ``cursor`` (a ``UserPage.next_cursor``) replaces ``page``: the page is the
    users after the one the cursor names, read from there in the index at the
    cost of one page however deep it is (``OFFSET`` paging costs what it skips).
    It must come with the filters it was issued for; ``page`` must then stay 1.
    A cursor that is not one (garbage, edited, other filters) is
    ``InvalidRequest``.
    """

    q: str | None = None
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    is_active: bool | None = None
    role: str | None = None
    cursor: str | None = None

    def __post_init__(self) -> None:
        errors: list[dict[str, Any]] = []
        if self.page < 1:
            errors.append({"loc": ["page"], "msg": "page must be 1 or more."})
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            errors.append(
                {
                    "loc": ["page_size"],
                    "msg": f"page_size must be between 1 and {MAX_PAGE_SIZE}.",
                }
            )
        if self.q is not None and len(self.q) > MAX_QUERY_CHARS:
            errors.append({"loc": ["q"], "msg": f"q must be at most {MAX_QUERY_CHARS} characters."})
        if self.role is not None and (error := validate_role(self.role, loc=("role",))):
            errors.append(error)
        if self.cursor is not None and self.page != 1:
            errors.append({"loc": ["page"], "msg": "page cannot be combined with cursor."})
        if errors:
            raise ValidationFailed(errors)
        _ = self.after  # a bad cursor is refused here, before any store sees it

    @cached_property
    def after(self) -> ListPosition | None:
        """Where a cursor page starts (after this user); ``None`` for a numbered page."""
        if self.cursor is None:
            return None
        return decode_cursor(self.cursor, self._digest)

    @property
    def _digest(self) -> str:
        return filter_digest(self.text, self.is_active, self.role)

    def cursor_after(self, user: User) -> str:
        """The cursor of the page that follows ``user`` under this query's filters."""
        return encode_cursor(ListPosition(created_at=user.created_at, id=user.id), self._digest)

    @property
    def text(self) -> str | None:
        """The case-folded search text, or ``None`` when there is nothing to match."""
        if self.q is None:
            return None
        folded = canonical(self.q)
        return folded or None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def page_of(
        self, items: Sequence[User], *, total: int, more: bool, total_exact: bool = True
    ) -> UserPage:
        """The ``UserPage`` of ``items``; ``more`` says whether any match follows them."""
        return UserPage(
            items=tuple(items),
            total=total,
            page=None if self.cursor is not None else self.page,
            page_size=self.page_size,
            total_exact=total_exact,
            next_cursor=self.cursor_after(items[-1]) if more and items else None,
        )


@dataclass(frozen=True, kw_only=True)
class UserPage:
    """The users of one page and the number of users matching the whole query.

    ``total`` is exact when ``total_exact`` is true; otherwise it is an estimate
    of more than ``EXACT_COUNT_LIMIT`` matches (the PostgreSQL store's, for large
    results), and ``pages`` is derived from it all the same. ``page`` is ``None``
    for a page asked for by cursor: its number would cost counting every match
    before it. ``next_cursor`` continues after the last item, ``None`` when no
    match follows.
    """

    items: tuple[User, ...]
    total: int
    page: int | None
    page_size: int
    total_exact: bool = True
    next_cursor: str | None = None

    @property
    def pages(self) -> int:
        """``ceil(total / page_size)``; 0 when nothing matches (there is no page 1)."""
        return -(-self.total // self.page_size)


@dataclass(frozen=True, kw_only=True)
class BulkResult:
    """Where each distinct id of a bulk change ended up: exactly one of three lists.

    ``updated`` changed state, ``unchanged`` already had it, ``not_found`` names
    no user. Each list keeps the order in which the ids were given.
    """

    updated: tuple[str, ...] = field(default=())
    unchanged: tuple[str, ...] = field(default=())
    not_found: tuple[str, ...] = field(default=())

    @property
    def requested(self) -> int:
        return len(self.updated) + len(self.unchanged) + len(self.not_found)


def classify(
    ids: Sequence[str], *, current: dict[str, bool], active: bool
) -> tuple[BulkResult, list[str]]:
    """Sort distinct ``ids`` by their current ``is_active``; also return the ids to change.

    Shared by the stores so the memory and SQL implementations cannot disagree.
    """
    updated: list[str] = []
    unchanged: list[str] = []
    not_found: list[str] = []
    for user_id in ids:
        state = current.get(user_id)
        if state is None:
            not_found.append(user_id)
        elif state == active:
            unchanged.append(user_id)
        else:
            updated.append(user_id)
    result = BulkResult(
        updated=tuple(updated), unchanged=tuple(unchanged), not_found=tuple(not_found)
    )
    return result, updated


__all__ = [
    "BULK_ACTIONS",
    "DEFAULT_PAGE_SIZE",
    "EXACT_COUNT_LIMIT",
    "EXACT_TEXT_COUNT_LIMIT",
    "MAX_BULK_IDS",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_CHARS",
    "MAX_ROLES",
    "ROLE_PATTERN",
    "BulkAction",
    "BulkResult",
    "ListPosition",
    "UserPage",
    "UserQuery",
    "classify",
    "distinct_ids",
    "escape_like",
    "is_user_id",
    "last_admin_conflict",
    "normalise_roles",
    "validate_role",
]
