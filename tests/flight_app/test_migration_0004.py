"""Migration 0004 on data (SQLite, and PostgreSQL when configured): issue 14, findings 6, 10.

Recovery codes stored as bare SHA-256 by earlier releases are wrapped in argon2id
and keep working once; canonical emails move to their NFKC form unless an older
account holds it (a look-alike registered before the fix keeps its old value);
every row gets its email skeleton. Downgrading deletes what the old schema cannot
hold or check.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import column, create_engine, insert, select, table
from sqlalchemy.pool import NullPool

from authkit.clock import FrozenClock
from authkit.errors import InvalidOtp
from authkit.mfa import MfaService, SecretBox, Totp, TotpConfig
from authkit.storage import SqlMfaStore, SqlUserStore, recovery_codes, users
from authkit.users import skeleton_digest
from flight_app import migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LEGACY_CODES = ["abcde-fghjk", "mnpqr-stuvw"]


def legacy_hash(code: str) -> str:
    """How releases before 0004 stored a recovery code."""
    return hashlib.sha256(code.replace("-", "").encode()).hexdigest()


@pytest.fixture
def legacy_database(database_url: str) -> dict[str, str]:
    """A database at revision 0003 holding what earlier releases stored."""
    migrate.upgrade(database_url, "0003")
    engine = create_engine(database_url, poolclass=NullPool)
    # Revision 0003's columns only (no email_skeleton yet, nor 0005's verification).
    later = {"email_skeleton", "email_verified", "email_verified_at"}
    old_users = table(
        "authkit_users", *[column(c.name) for c in users.columns if c.name not in later]
    )
    ids: dict[str, str] = {}
    with engine.begin() as conn:
        for name, email, canonical_email, age in [
            ("alice", "alice@example.com", "alice@example.com", 3),
            ("wide", "\uff41lice@example.com", "\uff41lice@example.com", 1),  # fullwidth a
            ("bob", "\uff42ob@example.com", "\uff42ob@example.com", 2),
        ]:
            user_id = str(uuid.uuid4())
            conn.execute(
                insert(old_users).values(
                    id=user_id,
                    username=name,
                    username_canonical=name,
                    email=email,
                    email_canonical=canonical_email,
                    password_hash="x",
                    is_active=True,
                    mfa_enabled=name == "alice",
                    created_at=NOW - timedelta(days=age),
                )
            )
            ids[name] = user_id
        for code in LEGACY_CODES:
            conn.execute(
                insert(recovery_codes).values(
                    id=str(uuid.uuid4()),
                    user_id=ids["alice"],
                    code_hash=legacy_hash(code),
                    created_at=NOW,
                )
            )
    engine.dispose()
    return ids


def test_upgrade_wraps_legacy_codes_and_recanonicalises(
    database_url: str, legacy_database: dict[str, str]
) -> None:
    migrate.upgrade(database_url)
    migrate.check(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            stored = list(conn.execute(select(recovery_codes.c.code_hash)).scalars())
            rows = {
                row.username: row
                for row in conn.execute(
                    select(users.c.username, users.c.email_canonical, users.c.email_skeleton)
                )
            }
        assert len(stored) == 2
        assert all(h.startswith("sha256$$argon2id$v=19$m=19456,t=2,p=1$") for h in stored)
        assert not {legacy_hash(c) for c in LEGACY_CODES} & {h[-64:] for h in stored}

        assert rows["bob"].email_canonical == "bob@example.com"  # NFKC, no one older has it
        assert rows["alice"].email_canonical == "alice@example.com"
        assert rows["wide"].email_canonical == "\uff41lice@example.com"  # kept: alice is older
        assert rows["alice"].email_skeleton == skeleton_digest("alice@example.com")
        assert rows["wide"].email_skeleton == rows["alice"].email_skeleton

        user_store = SqlUserStore(engine)
        alice = user_store.get(legacy_database["alice"])
        assert alice is not None
        assert user_store.find_by_login("\uff42OB@example.com") is not None  # bob, any spelling
        clock = FrozenClock(NOW)
        mfa = MfaService(
            store=SqlMfaStore(engine),
            box=SecretBox(["mfa-key-one-0123456789abcdef"]),
            totp=Totp(TotpConfig(issuer="t"), clock=clock),
            clock=clock,
        )
        assert mfa.verify(alice, otp=None, recovery_code="ABCDE FGHJK") == "recovery_code"
        with pytest.raises(InvalidOtp):
            mfa.verify(alice, otp=None, recovery_code="abcde-fghjk")
    finally:
        engine.dispose()


def test_downgrade_drops_what_0003_cannot_hold(
    database_url: str, legacy_database: dict[str, str]
) -> None:
    migrate.upgrade(database_url)
    migrate.downgrade(database_url, "0003")
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert list(conn.execute(select(recovery_codes.c.id))) == []
    finally:
        engine.dispose()
    migrate.upgrade(database_url)  # and up again, cleanly
