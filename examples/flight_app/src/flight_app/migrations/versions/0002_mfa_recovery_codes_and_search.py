"""MFA recovery codes; indexes for the admin user listing.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 11:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "authkit_recovery_codes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["authkit_users.id"],
            name=op.f("fk_authkit_recovery_codes_user_id_authkit_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authkit_recovery_codes")),
        sa.UniqueConstraint(
            "user_id", "code_hash", name="uq_authkit_recovery_codes_user_id_code_hash"
        ),
    )
    with op.batch_alter_table("authkit_recovery_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_authkit_recovery_codes_user_id"), ["user_id"], unique=False
        )

    if op.get_bind().dialect.name == "postgresql":
        # Trusted extension since PostgreSQL 13: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    with op.batch_alter_table("authkit_users", schema=None) as batch_op:
        batch_op.create_index(
            "ix_authkit_users_is_active_created_at_id",
            ["is_active", "created_at", "id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_authkit_users_username_trgm",
            ["username_canonical"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"username_canonical": "gin_trgm_ops"},
        )
        batch_op.create_index(
            "ix_authkit_users_email_trgm",
            ["email_canonical"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"email_canonical": "gin_trgm_ops"},
        )


def downgrade() -> None:
    with op.batch_alter_table("authkit_users", schema=None) as batch_op:
        batch_op.drop_index("ix_authkit_users_email_trgm")
        batch_op.drop_index("ix_authkit_users_username_trgm")
        batch_op.drop_index("ix_authkit_users_is_active_created_at_id")
    with op.batch_alter_table("authkit_recovery_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_authkit_recovery_codes_user_id"))
    op.drop_table("authkit_recovery_codes")
