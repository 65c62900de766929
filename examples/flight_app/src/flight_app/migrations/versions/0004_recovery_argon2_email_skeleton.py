"""Recovery codes hashed with argon2id; NFKC canonical emails and their UTS #39 skeleton.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 21:00:00

Recovery codes were stored as unsalted SHA-256 of about 50 bits, which a
database leak lets anyone brute-force offline. Their column widens to hold an
argon2id PHC string, and every stored SHA-256 digest is hashed again with
argon2id here (OWASP Password Storage: wrap legacy hashes), marked ``sha256$``:
no fast hash is left, and every code keeps working. The parameters are written
out below (OWASP's minimum), so this revision hashes the same whatever the
defaults become; the stored string records them for verification.

Canonical usernames and emails become NFKC, case-folded, without invisible
characters (``authkit.users.canonical``), and ``email_skeleton`` holds the
SHA-256 of each email's UTS #39 skeleton, so look-alike addresses are refused.
A row whose new canonical form is already another account's keeps its old one:
that is a look-alike registered before this fix; it is logged by id for review.

Downgrade: argon2id hashes do not fit the old column and the old code cannot
check them, so recovery codes other than legacy ones are deleted (accounts keep
TOTP, and can enrol again for new codes); canonical forms stay as they are.
"""

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from authkit.mfa import RecoveryCodeHasher
from authkit.passwords import Argon2Parameters
from authkit.users import canonical, skeleton_digest

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

_WRAPPED = "sha256$"
# OWASP's argon2id minimum, as authkit's defaults were when this was written.
_PARAMETERS = Argon2Parameters(
    time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16
)
_BATCH = 1000

_users = sa.table(
    "authkit_users",
    sa.column("id", sa.String),
    sa.column("username", sa.String),
    sa.column("username_canonical", sa.String),
    sa.column("email", sa.String),
    sa.column("email_canonical", sa.String),
    sa.column("email_skeleton", sa.String),
    sa.column("created_at", sa.DateTime),
)
_codes = sa.table(
    "authkit_recovery_codes",
    sa.column("id", sa.String),
    sa.column("user_id", sa.String),
    sa.column("code_hash", sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table("authkit_recovery_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "code_hash",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=False,
        )
    with op.batch_alter_table("authkit_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email_skeleton", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_authkit_users_email_skeleton"), ["email_skeleton"], unique=False
        )
    bind = op.get_bind()
    _wrap_legacy_recovery_codes(bind)
    _recanonicalise(bind)


def downgrade() -> None:
    bind = op.get_bind()
    bind.execute(sa.delete(_codes).where(sa.func.length(_codes.c.code_hash) > 64))
    with op.batch_alter_table("authkit_recovery_codes", schema=None) as batch_op:
        batch_op.alter_column(
            "code_hash",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("authkit_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authkit_users_email_skeleton"))
        batch_op.drop_column("email_skeleton")


def _wrap_legacy_recovery_codes(bind: sa.Connection) -> None:
    """argon2id over each stored SHA-256 hex digest; one salt per user, as authkit does."""
    rows = bind.execute(
        sa.select(_codes.c.id, _codes.c.user_id, _codes.c.code_hash).where(
            ~_codes.c.code_hash.like("$%"), ~_codes.c.code_hash.like(f"{_WRAPPED}%")
        )
    ).all()
    by_user: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for code_id, user_id, digest in rows:
        by_user[user_id].append((code_id, digest))
    hasher = RecoveryCodeHasher(_PARAMETERS)
    for codes in by_user.values():
        wrapped = hasher.wrap_legacy_digests([digest for _, digest in codes])
        for (code_id, _), value in zip(codes, wrapped, strict=True):
            bind.execute(sa.update(_codes).where(_codes.c.id == code_id).values(code_hash=value))
    if rows:
        logger.info("wrapped %d legacy recovery code hashes in argon2id", len(rows))


def _recanonicalise(bind: sa.Connection) -> None:
    rows = bind.execute(
        sa.select(
            _users.c.id,
            _users.c.username,
            _users.c.username_canonical,
            _users.c.email,
            _users.c.email_canonical,
        ).order_by(_users.c.created_at, _users.c.id)
    ).all()
    for column, value_index, old_index in (("username_canonical", 1, 2), ("email_canonical", 3, 4)):
        wanted = {row[0]: (canonical(row[value_index]), row[old_index]) for row in rows}
        _move_unique(bind, column, wanted, order=[row[0] for row in rows])
    updates = [{"row_id": row[0], "skeleton": skeleton_digest(row[3])} for row in rows]
    for start in range(0, len(updates), _BATCH):
        bind.execute(
            sa.update(_users)
            .where(_users.c.id == sa.bindparam("row_id"))
            .values(email_skeleton=sa.bindparam("skeleton")),
            updates[start : start + _BATCH],
        )


def _move_unique(
    bind: sa.Connection, column: str, wanted: dict[str, tuple[str, str]], *, order: list[str]
) -> None:
    """Give each row its new canonical value of ``column`` unless an older row has it.

    Unchanged rows keep theirs; changed rows claim their new value oldest first,
    else keep the old one. Rows change in two steps (a placeholder first), so no
    intermediate state breaks the unique constraint.
    """
    taken = {new for new, old in wanted.values() if new == old}
    final: dict[str, str] = {}
    for row_id in order:
        new, old = wanted[row_id]
        if new == old:
            continue
        if new not in taken:
            final[row_id] = new
        else:
            final[row_id] = old
            logger.warning(
                "user %s keeps its old %s: its NFKC form belongs to an older account "
                "(a look-alike registered before revision 0004; review it)",
                row_id,
                column,
            )
        taken.add(final[row_id])
    moved = {row_id: value for row_id, value in final.items() if value != wanted[row_id][1]}
    target = _users.c[column]
    for row_id in moved:
        placeholder = "~0004~" + hashlib.sha256(row_id.encode()).hexdigest()
        bind.execute(sa.update(_users).where(_users.c.id == row_id).values({target: placeholder}))
    for row_id, value in moved.items():
        bind.execute(sa.update(_users).where(_users.c.id == row_id).values({target: value}))
    if moved:
        logger.info("moved %d %s values to their NFKC form", len(moved), column)
