"""Email verification on users; the one-time action tokens of emailed links.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 23:30:00

``authkit_users.email_verified`` is added with a server default of false, so
every existing account is unverified until its owner follows a link (with
``FLIGHT_APP_REQUIRE_VERIFIED_EMAIL`` on, they must verify before signing in).
``authkit_action_tokens`` holds only the SHA-256 of each emailed token (verify
email, reset password, change email), the HMAC of the state it is bound to and
its expiry; rows go with their user (``ON DELETE CASCADE``).

Downgrade drops the table and both columns: outstanding links stop working and
verification marks are lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not a batch: on SQLite a batch may copy the table and drop
    # the old one, and with foreign keys on that drop cascades into every table
    # that references users (recovery codes, refresh tokens).
    op.add_column(
        "authkit_users",
        sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column(
        "authkit_users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_table(
        "authkit_action_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("binding", sa.String(length=64), nullable=False),
        sa.Column("new_email", sa.String(length=320), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["authkit_users.id"],
            name=op.f("fk_authkit_action_tokens_user_id_authkit_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_authkit_action_tokens")),
    )
    with op.batch_alter_table("authkit_action_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authkit_action_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_authkit_action_tokens_user_id"), ["user_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("authkit_action_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authkit_action_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_authkit_action_tokens_expires_at"))
    op.drop_table("authkit_action_tokens")
    for name in ("email_verified_at", "email_verified"):
        if op.get_context().dialect.name == "sqlite":
            # SQLite >= 3.35 drops a column in place; a batch would copy the table
            # and its DROP would cascade into roles, tokens and recovery codes.
            op.execute(f"ALTER TABLE authkit_users DROP COLUMN {name}")
        else:
            op.drop_column("authkit_users", name)
