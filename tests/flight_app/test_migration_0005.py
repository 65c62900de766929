"""Migration 0005 on data (SQLite, and PostgreSQL when configured): issue 15.

Accounts that exist before the upgrade come out unverified (the server default),
the action-token table works with the stores, and a downgrade drops both again;
neither direction copies ``authkit_users`` (on SQLite, with foreign keys on, a
copy-and-drop would cascade into the tables that reference it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import column, create_engine, insert, inspect, select, table
from sqlalchemy.pool import NullPool

from authkit.account import ActionPurpose, ActionTokenRecord
from authkit.storage import SqlActionTokenStore, SqlUserStore, user_roles, users
from flight_app import migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_existing_accounts_are_unverified_and_action_tokens_round_trip(database_url: str) -> None:
    migrate.upgrade(database_url, "0004")
    engine = create_engine(database_url, poolclass=NullPool)
    later = {"email_verified", "email_verified_at"}
    old_users = table(
        "authkit_users", *[column(c.name) for c in users.columns if c.name not in later]
    )
    user_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(
            insert(old_users).values(
                id=user_id,
                username="alice",
                username_canonical="alice",
                email="alice@example.com",
                email_canonical="alice@example.com",
                email_skeleton=None,
                password_hash="x",
                is_active=True,
                mfa_enabled=False,
                created_at=NOW,
            )
        )
        conn.execute(insert(user_roles).values(user_id=user_id, role="user"))
    try:
        migrate.upgrade(database_url)
        alice = SqlUserStore(engine).get(user_id)
        assert alice is not None
        assert alice.roles == ("user",)  # nothing referencing users was cascaded away
        assert alice.email_verified is False
        assert alice.email_verified_at is None

        tokens = SqlActionTokenStore(engine)
        record = ActionTokenRecord(
            token_hash="a" * 64,
            user_id=user_id,
            purpose=ActionPurpose.VERIFY_EMAIL,
            binding="b" * 64,
            created_at=NOW,
            expires_at=NOW + timedelta(hours=1),
        )
        tokens.add(record)
        assert tokens.consume("a" * 64, purpose=ActionPurpose.VERIFY_EMAIL, now=NOW) == record

        migrate.downgrade(database_url, "0004")
        inspector = inspect(engine)
        assert "authkit_action_tokens" not in inspector.get_table_names()
        assert "email_verified" not in {c["name"] for c in inspector.get_columns("authkit_users")}
        with engine.connect() as conn:
            assert conn.execute(select(user_roles.c.role)).scalars().all() == ["user"]
        migrate.upgrade(database_url)  # and up again, cleanly
    finally:
        engine.dispose()
