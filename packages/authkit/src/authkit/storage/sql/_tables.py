"""SQLAlchemy 2.x table definitions for authkit's data.

Apps include ``metadata`` in their own Alembic environment, so authkit's tables
migrate with the rest of their schema. Case-insensitive uniqueness is enforced on
``*_canonical`` columns holding the case-folded value: it works the same on SQLite
and PostgreSQL and keeps Alembic's drift check exact (no expression indexes).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
"""The SQLAlchemy metadata of authkit's tables, for an app's own migrations."""

users = Table(
    "authkit_users",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("username", String(150), nullable=False),
    Column("username_canonical", String(150), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("email_canonical", String(320), nullable=False, unique=True),
    # SHA-256 of the email's UTS #39 skeleton: look-alike emails share it (not unique:
    # pure-ASCII addresses are not refused on it, see authkit.users._unicode).
    Column("email_skeleton", String(64), nullable=True, index=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=false()),
    Column("mfa_enabled", Boolean, nullable=False, server_default=false()),
    Column("mfa_secret_encrypted", Text, nullable=True),
    Column("mfa_last_step", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    Column("password_changed_at", DateTime(timezone=True), nullable=True),
    # Set when the owner follows a verification or email-change link (0005).
    Column("email_verified", Boolean, nullable=False, server_default=false()),
    Column("email_verified_at", DateTime(timezone=True), nullable=True),
    Index("ix_authkit_users_created_at_id", "created_at", "id"),
    Index("ix_authkit_users_is_active_created_at_id", "is_active", "created_at", "id"),
    # Substring search (``?q=``) on PostgreSQL: trigram GIN indexes serve
    # ``LIKE '%q%'``. Other databases get a plain index they may ignore.
    Index(
        "ix_authkit_users_username_trgm",
        "username_canonical",
        postgresql_using="gin",
        postgresql_ops={"username_canonical": "gin_trgm_ops"},
    ),
    Index(
        "ix_authkit_users_email_trgm",
        "email_canonical",
        postgresql_using="gin",
        postgresql_ops={"email_canonical": "gin_trgm_ops"},
    ),
)
"""``authkit_users``: accounts, with case-folded columns for uniqueness and search."""

user_roles = Table(
    "authkit_user_roles",
    metadata,
    Column(
        "user_id",
        String(36),
        ForeignKey("authkit_users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("role", String(64), primary_key=True),
    Index("ix_authkit_user_roles_role_user_id", "role", "user_id"),
)
"""``authkit_user_roles``: one row per (user, role)."""

refresh_tokens = Table(
    "authkit_refresh_tokens",
    metadata,
    Column("jti", String(36), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("family_id", String(36), nullable=False, index=True),
    Column(
        "user_id",
        String(36),
        ForeignKey("authkit_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
    Column("family_expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("replaced_by", String(36), nullable=True),
    Column("amr", String(64), nullable=True),
)
"""``authkit_refresh_tokens``: token hashes (never tokens), families, expiry, used and revoked
marks.
"""

recovery_codes = Table(
    "authkit_recovery_codes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column(
        "user_id",
        String(36),
        ForeignKey("authkit_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # argon2id, salted per enrolment (PHC string); see authkit.mfa._recovery.
    Column("code_hash", String(255), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True), nullable=True),
    # Unique per user, not globally: two users' random codes may collide at scale.
    UniqueConstraint("user_id", "code_hash", name="uq_authkit_recovery_codes_user_id_code_hash"),
)
"""``authkit_recovery_codes``: salted hashes of single-use MFA recovery codes."""

action_tokens = Table(
    "authkit_action_tokens",
    metadata,
    # SHA-256 of the emailed token: the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column(
        "user_id",
        String(36),
        ForeignKey("authkit_users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("purpose", String(32), nullable=False),
    # HMAC of the state the token acts on (password hash, email): see authkit.account.
    Column("binding", String(64), nullable=False),
    Column("new_email", String(320), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False, index=True),
)
"""``authkit_action_tokens``: hashes of emailed one-time links, purpose, binding, expiry."""

__all__ = [
    "NAMING_CONVENTION",
    "action_tokens",
    "metadata",
    "recovery_codes",
    "refresh_tokens",
    "user_roles",
    "users",
]
