"""Keyset cursors of the admin listing: where the next page starts, as opaque text.

``OFFSET`` paging costs what it skips: a page half-way through a million users
walks half a million index entries first. A cursor names the last user of a page
by its sort key ``(created_at, id)``, so the next page is read from there in the
index (``WHERE (created_at, id) > (...) ORDER BY created_at, id``), at the cost of
the page alone however deep it is. Keyset paging is also stable under inserts:
a user created meanwhile never shifts the following pages.

A cursor holds no secret and grants nothing, so it is validated, not signed: an
admin who edits one can only move the position inside a listing they may read in
full anyway. What it does check is that it comes back with the filters it was
issued for (a digest of the case-folded ``q``, ``is_active`` and ``role``), since
a position of one listing continued under other filters would silently skip or
repeat rows. Anything that is not such a cursor is ``InvalidRequest`` (HTTP 400)
with a message saying what to do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

from authkit.errors import InvalidRequest

CURSOR_VERSION: Final = 1
MAX_CURSOR_CHARS: Final = 256
"""Longer text is refused before it is decoded: a real cursor is about 150 characters."""

_ALPHABET: Final = re.compile(r"[A-Za-z0-9_-]+")
_USER_ID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True, kw_only=True)
class ListPosition:
    """The sort key of the last user of a page: the next page starts after it."""

    created_at: datetime
    id: str


def filter_digest(text: str | None, is_active: bool | None, role: str | None) -> str:
    """A short digest of a listing's filters, so a cursor cannot cross listings."""
    raw = json.dumps([text, is_active, role], separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()


def encode_cursor(position: ListPosition, digest: str) -> str:
    """The opaque cursor text of ``position`` under the filters of ``digest``."""
    stamp = position.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    raw = json.dumps([CURSOR_VERSION, stamp, position.id, digest], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, digest: str) -> ListPosition:
    """The position ``cursor`` names, if it is a cursor of a listing with filters ``digest``."""
    if len(cursor) > MAX_CURSOR_CHARS or not _ALPHABET.fullmatch(cursor):
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        fields = json.loads(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _bad_cursor() from exc
    if not (isinstance(fields, list) and len(fields) == 4 and fields[0] == CURSOR_VERSION):
        raise _bad_cursor()
    _, stamp, user_id, issued_for = fields
    if not (isinstance(stamp, str) and isinstance(user_id, str) and isinstance(issued_for, str)):
        raise _bad_cursor()
    try:
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None:
            raise ValueError("a cursor's time has an offset")
        # Out of range once in UTC (year 9999 behind UTC) is OverflowError.
        created_at = created_at.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _bad_cursor() from exc
    if not _USER_ID.fullmatch(user_id):
        raise _bad_cursor()
    if issued_for != digest:
        raise InvalidRequest(
            "This cursor belongs to a listing with other filters: send it with the same "
            "q, is_active and role it came with, or start again without a cursor.",
            field="cursor",
        )
    return ListPosition(created_at=created_at, id=user_id)


def _bad_cursor() -> InvalidRequest:
    return InvalidRequest(
        "The cursor is not one this listing issued: pass meta.next_cursor unchanged, "
        "or start again without a cursor.",
        field="cursor",
    )


__all__ = [
    "CURSOR_VERSION",
    "MAX_CURSOR_CHARS",
    "ListPosition",
    "decode_cursor",
    "encode_cursor",
    "filter_digest",
]
