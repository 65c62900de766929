"""``authkit.account``: verification, forgotten password, reset, email change, deletion.

Each flow runs on every store backend ``build`` reaches by URL (memory, SQLite,
PostgreSQL), with a ``MemoryMailer`` standing in for the mail server and the
dispatcher flushed before the outbox is read.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from pathlib import Path

import pytest

from authkit import Authkit, AuthkitConfig, User, build, open_stores
from authkit.account import AccountConfig
from authkit.clock import FrozenClock
from authkit.errors import (
    Conflict,
    EmailUnverified,
    Forbidden,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    TooManyAttempts,
    WeakPassword,
)
from authkit.mail import MailMessage, MemoryMailer
from authkit.passwords import Argon2Parameters
from authkit.roles import ADMIN
from authkit.storage import MemoryUserStore
from authkit.throttle import ThrottleRules

PASSWORD = "violet-harbour-7-lanterns"
NEW_PASSWORD = "copper-meadow-4-kestrels"
ADDR = "198.51.100.4"
SECRET = "a-test-secret-key-of-32-characters"
TOKEN = re.compile(r"#token=([A-Za-z0-9_-]+)")


def make_config(**overrides: object) -> AuthkitConfig:
    values: dict[str, object] = {
        "service_name": "accounttest",
        "secret_key": SECRET,
        "argon2": Argon2Parameters(time_cost=1, memory_cost=1024),
        "account": AccountConfig(public_url="https://app.example"),
        **overrides,
    }
    return AuthkitConfig(**values)  # type: ignore[arg-type]


class Env:
    """A built kit, its outbox and its clock."""

    def __init__(self, kit: Authkit, mailer: MemoryMailer, clock: FrozenClock, audit: Path):
        self.kit = kit
        self.mailer = mailer
        self.clock = clock
        self.audit_path = audit

    def outbox(self, kind: str | None = None, to: str | None = None) -> list[MailMessage]:
        assert self.kit.mail.flush(10)
        return [
            m
            for m in self.mailer.sent
            if (kind is None or m.kind == kind) and (to is None or m.to == to)
        ]

    def last_token(self, kind: str, to: str | None = None) -> str:
        messages = self.outbox(kind, to)
        assert messages, f"no {kind} mail"
        found = TOKEN.search(messages[-1].text)
        assert found is not None
        return found.group(1)

    def register(self, name: str = "alice", email: str | None = None) -> User:
        return self.kit.auth.register(
            username=name, email=email or f"{name}@example.com", password=PASSWORD, address=ADDR
        )

    def audit_events(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.audit_path.read_text().splitlines()]


def _url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'auth.db'}",
    }.get(request.param) or str(request.getfixturevalue("postgres_url"))


def _env(url: str, tmp_path: Path, **overrides: object) -> Env:
    mailer = MemoryMailer()
    clock = FrozenClock()
    audit = tmp_path / "auth.jsonl"
    kit = build(
        make_config(**overrides),
        audit=audit,
        stores=open_stores(url, create_tables=True),
        clock=clock,
        mail=mailer,
    )
    return Env(kit, mailer, clock, audit)


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    built = _env(_url(request, tmp_path), tmp_path)
    yield built
    built.kit.close()


@pytest.fixture
def memory_env(tmp_path: Path) -> Iterator[Env]:
    built = _env("memory://", tmp_path)
    yield built
    built.kit.close()


# -- verification ------------------------------------------------------------------------


def test_registration_sends_a_verification_link_that_verifies_once(env: Env) -> None:
    user = env.register()
    assert user.email_verified is False
    link_mail = env.outbox("verify_email", "alice@example.com")
    assert len(link_mail) == 1
    assert "https://app.example/verify-email#token=" in link_mail[0].text
    token = env.last_token("verify_email")
    verified = env.kit.account.verify_email(token=token, address=ADDR)
    assert verified.email_verified is True
    assert verified.email_verified_at == env.clock.now()
    stored = env.kit.stores.users.get(user.id)
    assert stored is not None
    assert stored.email_verified
    with pytest.raises(InvalidToken):
        env.kit.account.verify_email(token=token, address=ADDR)


def test_a_new_verification_request_kills_the_older_link(env: Env) -> None:
    user = env.register()
    first = env.last_token("verify_email")
    env.kit.account.request_verification(user=user, address=ADDR)
    second = env.last_token("verify_email")
    assert first != second
    with pytest.raises(InvalidToken):
        env.kit.account.verify_email(token=first, address=ADDR)
    assert env.kit.account.verify_email(token=second, address=ADDR).email_verified


def test_verification_requests_are_throttled_per_account(memory_env: Env) -> None:
    user = memory_env.register()
    for _ in range(ThrottleRules().account_mails):
        memory_env.kit.account.request_verification(user=user, address=ADDR)
    with pytest.raises(TooManyAttempts):
        memory_env.kit.account.request_verification(user=user, address=ADDR)


def test_a_verified_account_gets_no_new_link(memory_env: Env) -> None:
    memory_env.register()
    memory_env.kit.account.verify_email(token=memory_env.last_token("verify_email"), address=ADDR)
    user = memory_env.kit.stores.users.find_by_login("alice")
    assert user is not None
    memory_env.kit.account.request_verification(user=user, address=ADDR)
    assert len(memory_env.outbox("verify_email")) == 1


def test_a_verification_link_dies_when_the_email_changes(env: Env) -> None:
    user = env.register()
    verify = env.last_token("verify_email")
    env.kit.account.request_email_change(
        user=user, password=PASSWORD, new_email="alice.new@example.com", address=ADDR
    )
    env.kit.account.confirm_email_change(token=env.last_token("email_change_confirm"), address=ADDR)
    with pytest.raises(InvalidToken):
        env.kit.account.verify_email(token=verify, address=ADDR)


@pytest.mark.parametrize("token", ["", "short", "x" * 200, "A" * 43])
def test_malformed_or_unknown_links_are_invalid(memory_env: Env, token: str) -> None:
    with pytest.raises(InvalidToken):
        memory_env.kit.account.verify_email(token=token, address=ADDR)
    with pytest.raises(InvalidToken):
        memory_env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)
    with pytest.raises(InvalidToken):
        memory_env.kit.account.confirm_email_change(token=token, address=ADDR)


def test_a_link_of_one_purpose_does_not_work_for_another(memory_env: Env) -> None:
    memory_env.register()
    token = memory_env.last_token("verify_email")
    with pytest.raises(InvalidToken):
        memory_env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)
    with pytest.raises(InvalidToken):
        memory_env.kit.account.confirm_email_change(token=token, address=ADDR)
    assert memory_env.kit.account.verify_email(token=token, address=ADDR).email_verified


def test_links_expire_with_the_injected_clock(memory_env: Env) -> None:
    memory_env.register()
    token = memory_env.last_token("verify_email")
    memory_env.clock.advance(24 * 3600)
    with pytest.raises(InvalidToken):
        memory_env.kit.account.verify_email(token=token, address=ADDR)


# -- verified-email gate -------------------------------------------------------------------


def test_require_verified_email_refuses_sign_in_only_after_a_correct_password(
    tmp_path: Path,
) -> None:
    env = _env(
        "memory://",
        tmp_path,
        account=AccountConfig(public_url="https://app.example", require_verified_email=True),
    )
    try:
        env.register()
        with pytest.raises(InvalidCredentials):
            env.kit.auth.login(identifier="alice", password="wrong-password-1", address=ADDR)
        with pytest.raises(EmailUnverified):
            env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
        env.kit.account.verify_email(token=env.last_token("verify_email"), address=ADDR)
        assert env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    finally:
        env.kit.close()


def test_a_completed_reset_verifies_the_email_it_was_sent_to(tmp_path: Path) -> None:
    """The way back for an unverified account whose verification link expired.

    With ``require_verified_email`` the account cannot sign in to ask for a new
    link; a reset link goes to the same address, so completing it proves the
    mailbox and verifies it, and sign-in works.
    """
    env = _env(
        "memory://",
        tmp_path,
        account=AccountConfig(public_url="https://app.example", require_verified_email=True),
    )
    try:
        user = env.register()
        expired = env.last_token("verify_email")
        env.clock.advance(24 * 3600)
        with pytest.raises(InvalidToken):
            env.kit.account.verify_email(token=expired, address=ADDR)
        with pytest.raises(EmailUnverified) as refused:
            env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
        assert "Forgot password" in refused.value.message
        env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
        reset = env.kit.account.reset_password(
            token=env.last_token("password_reset"), new_password=NEW_PASSWORD, address=ADDR
        )
        assert reset.email_verified is True
        stored = env.kit.stores.users.get(user.id)
        assert stored is not None
        assert stored.email_verified_at == env.clock.now()
        assert env.kit.auth.login(identifier="alice", password=NEW_PASSWORD, address=ADDR)
        resets = [e for e in env.audit_events() if e["event"] == "password.reset"]
        assert resets[-1]["newly_verified"] is True
    finally:
        env.kit.close()


def test_a_reset_of_a_verified_account_keeps_its_verification_time(env: Env) -> None:
    env.register()
    env.kit.account.verify_email(token=env.last_token("verify_email"), address=ADDR)
    verified_at = env.clock.now()
    env.clock.advance(60)
    env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    user = env.kit.account.reset_password(
        token=env.last_token("password_reset"), new_password=NEW_PASSWORD, address=ADDR
    )
    assert user.email_verified is True
    assert user.email_verified_at == verified_at


# -- forgotten password and reset ----------------------------------------------------------


def test_forgot_password_mails_a_known_account_and_nobody_else(env: Env) -> None:
    env.register()
    env.kit.account.forgot_password(email="ALICE@example.com ", address=ADDR)
    env.kit.account.forgot_password(email="nobody@example.com", address=ADDR)
    env.kit.account.forgot_password(email="alice", address=ADDR)  # a username, not an email
    resets = env.outbox("password_reset")
    assert [m.to for m in resets] == ["alice@example.com"]
    assert "https://app.example/reset-password#token=" in resets[0].text


def test_forgot_password_skips_a_disabled_account(memory_env: Env) -> None:
    user = memory_env.register()
    memory_env.kit.stores.users.set_active(user.id, False)
    memory_env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    assert memory_env.outbox("password_reset") == []


def test_forgot_password_is_throttled_per_email_as_typed_known_or_not(memory_env: Env) -> None:
    memory_env.register()
    limit = ThrottleRules().forgot_password_per_email
    for email in ("alice@example.com", "nobody@example.com"):
        for i in range(limit):
            memory_env.kit.account.forgot_password(email=email, address=f"198.51.100.{i + 10}")
        with pytest.raises(TooManyAttempts):
            memory_env.kit.account.forgot_password(email=email.upper(), address="203.0.113.9")


def test_forgot_password_is_throttled_per_client_address(memory_env: Env) -> None:
    for i in range(ThrottleRules().forgot_password_per_address):
        memory_env.kit.account.forgot_password(email=f"user{i}@example.com", address=ADDR)
    with pytest.raises(TooManyAttempts):
        memory_env.kit.account.forgot_password(email="other@example.com", address=ADDR)


def test_reset_sets_the_password_revokes_every_session_and_notifies(env: Env) -> None:
    user = env.register()
    pair = env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    token = env.last_token("password_reset")
    env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)
    with pytest.raises(InvalidToken):
        env.kit.auth.refresh(refresh_token=pair.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        env.kit.auth.authenticate_access_token(pair.access_token)
    with pytest.raises(InvalidCredentials):
        env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    assert env.kit.auth.login(identifier="alice", password=NEW_PASSWORD, address="203.0.113.1")
    assert [m.to for m in env.outbox("password_changed")] == [user.email]
    with pytest.raises(InvalidToken):
        env.kit.account.reset_password(token=token, new_password=PASSWORD + "x", address=ADDR)


def test_a_weak_new_password_does_not_spend_the_link(memory_env: Env) -> None:
    memory_env.register()
    memory_env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    token = memory_env.last_token("password_reset")
    with pytest.raises(WeakPassword):
        memory_env.kit.account.reset_password(token=token, new_password="short", address=ADDR)
    memory_env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)


def test_a_reset_link_dies_when_the_password_changes(env: Env) -> None:
    env.register()
    env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    token = env.last_token("password_reset")
    pair = env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    principal = env.kit.auth.authenticate_access_token(pair.access_token)
    env.kit.auth.change_password(
        principal=principal, current_password=PASSWORD, new_password=NEW_PASSWORD, address=ADDR
    )
    with pytest.raises(InvalidToken):
        env.kit.account.reset_password(
            token=token, new_password="plum-orchard-9-ravens", address=ADDR
        )


def test_a_reset_link_dies_when_the_email_changes(env: Env) -> None:
    """A link mailed to an address the account has left neither resets nor verifies."""
    user = env.register()
    env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    old_link = env.last_token("password_reset", "alice@example.com")
    env.kit.account.request_email_change(
        user=user, password=PASSWORD, new_email="alice.new@example.com", address=ADDR
    )
    env.kit.account.confirm_email_change(token=env.last_token("email_change_confirm"), address=ADDR)
    with pytest.raises(InvalidToken):
        env.kit.account.reset_password(token=old_link, new_password=NEW_PASSWORD, address=ADDR)
    assert env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)


def test_a_reset_link_cannot_verify_an_email_changed_under_it(
    memory_env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the link's check and the verification the email moved: nothing is verified.

    The store's ``mark_email_verified`` is conditional on the email the link was
    bound to, so the race cannot verify the new address with the old mailbox.
    """
    user = memory_env.register()
    memory_env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    token = memory_env.last_token("password_reset")
    users = memory_env.kit.stores.users
    assert isinstance(users, MemoryUserStore)
    real_set_password = users.set_password

    def set_password_then_email_moves(user_id: str, password_hash: str, *, at: datetime) -> None:
        real_set_password(user_id, password_hash, at=at)
        users._replace(user_id, email="elsewhere@example.com")  # a concurrent change

    monkeypatch.setattr(users, "set_password", set_password_then_email_moves)
    memory_env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)
    stored = users.get(user.id)
    assert stored is not None
    assert stored.email == "elsewhere@example.com"
    assert stored.email_verified is False


def test_a_reset_link_expires_after_thirty_minutes(memory_env: Env) -> None:
    memory_env.register()
    memory_env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    token = memory_env.last_token("password_reset")
    memory_env.clock.advance(30 * 60)
    with pytest.raises(InvalidToken):
        memory_env.kit.account.reset_password(token=token, new_password=NEW_PASSWORD, address=ADDR)


# -- email change ------------------------------------------------------------------------


def test_email_change_confirms_at_the_new_address_and_warns_the_old(env: Env) -> None:
    user = env.register()
    env.kit.account.request_email_change(
        user=user, password=PASSWORD, new_email="alice.new@example.com", address=ADDR
    )
    assert env.outbox("email_change_confirm", "alice.new@example.com")
    assert env.outbox("email_change_notice", "alice@example.com")
    unchanged = env.kit.stores.users.get(user.id)
    assert unchanged is not None
    assert unchanged.email == "alice@example.com"
    changed = env.kit.account.confirm_email_change(
        token=env.last_token("email_change_confirm"), address=ADDR
    )
    assert changed.email == "alice.new@example.com"
    assert changed.email_verified is True
    assert env.kit.auth.login(identifier="alice.new@example.com", password=PASSWORD, address=ADDR)
    with pytest.raises(InvalidCredentials):
        env.kit.auth.login(identifier="alice@example.com", password=PASSWORD, address="203.0.113.2")


def test_a_pending_email_change_dies_when_the_owner_resets_the_password(env: Env) -> None:
    """Whoever learnt the password asks to move the account to their address; the
    owner, warned at the old address, resets the password: the pending change link
    must be dead, or the takeover completes after the owner took the account back.
    """
    user = env.register()
    env.kit.account.request_email_change(
        user=user, password=PASSWORD, new_email="mallory@example.net", address="203.0.113.66"
    )
    assert env.outbox("email_change_notice", "alice@example.com")
    hijack = env.last_token("email_change_confirm", "mallory@example.net")
    env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    env.kit.account.reset_password(
        token=env.last_token("password_reset"), new_password=NEW_PASSWORD, address=ADDR
    )
    with pytest.raises(InvalidToken):
        env.kit.account.confirm_email_change(token=hijack, address="203.0.113.66")
    stored = env.kit.stores.users.get(user.id)
    assert stored is not None
    assert stored.email == "alice@example.com"


def test_a_pending_email_change_dies_when_the_password_is_changed(env: Env) -> None:
    user = env.register()
    env.kit.account.request_email_change(
        user=user, password=PASSWORD, new_email="mallory@example.net", address=ADDR
    )
    hijack = env.last_token("email_change_confirm")
    pair = env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    env.kit.auth.change_password(
        principal=env.kit.auth.authenticate_access_token(pair.access_token),
        current_password=PASSWORD,
        new_password=NEW_PASSWORD,
        address=ADDR,
    )
    with pytest.raises(InvalidToken):
        env.kit.account.confirm_email_change(token=hijack, address=ADDR)


def test_email_change_requests_spend_the_mail_budget_even_when_the_address_is_taken(
    memory_env: Env,
) -> None:
    """A 409 says an address is registered: probing must be throttled like any request."""
    alice = memory_env.register()
    memory_env.register("bob")
    for _ in range(ThrottleRules().account_mails):
        with pytest.raises(Conflict):
            memory_env.kit.account.request_email_change(
                user=alice, password=PASSWORD, new_email="bob@example.com", address=ADDR
            )
    for probe in ("bob@example.com", "nobody@example.com"):
        with pytest.raises(TooManyAttempts):
            memory_env.kit.account.request_email_change(
                user=alice, password=PASSWORD, new_email=probe, address=ADDR
            )


def test_email_change_needs_the_password(memory_env: Env) -> None:
    user = memory_env.register()
    with pytest.raises(InvalidCredentials):
        memory_env.kit.account.request_email_change(
            user=user, password="not-the-password", new_email="x@example.com", address=ADDR
        )
    assert memory_env.outbox("email_change_confirm") == []


def test_email_change_to_a_taken_address_conflicts_now_and_at_confirmation(env: Env) -> None:
    alice = env.register()
    env.register("bob")
    with pytest.raises(Conflict):
        env.kit.account.request_email_change(
            user=alice, password=PASSWORD, new_email="BOB@example.com", address=ADDR
        )
    env.kit.account.request_email_change(
        user=alice, password=PASSWORD, new_email="carol@example.com", address=ADDR
    )
    token = env.last_token("email_change_confirm")
    env.register("carol")  # takes the address before alice confirms
    with pytest.raises(Conflict):
        env.kit.account.confirm_email_change(token=token, address=ADDR)
    stored = env.kit.stores.users.get(alice.id)
    assert stored is not None
    assert stored.email == "alice@example.com"


def test_email_change_rechecks_look_alike_addresses_at_confirmation(env: Env) -> None:
    alice = env.register()
    env.kit.account.request_email_change(
        user=alice, password=PASSWORD, new_email="p\u0430ypal@example.com", address=ADDR
    )
    token = env.last_token("email_change_confirm")
    env.register("paypal", "paypal@example.com")
    with pytest.raises(Conflict):
        env.kit.account.confirm_email_change(token=token, address=ADDR)


def test_an_invalid_new_email_is_a_validation_error(memory_env: Env) -> None:
    from authkit.errors import ValidationFailed

    user = memory_env.register()
    with pytest.raises(ValidationFailed):
        memory_env.kit.account.request_email_change(
            user=user, password=PASSWORD, new_email="not-an-email", address=ADDR
        )


# -- deletion ----------------------------------------------------------------------------


def test_delete_my_account_erases_it_and_the_audit_keeps_pseudonyms_only(env: Env) -> None:
    user = env.register()
    pair = env.kit.auth.login(identifier="alice", password=PASSWORD, address=ADDR)
    with pytest.raises(InvalidCredentials):
        env.kit.account.delete_account(user=user, password="wrong-password-2", address=ADDR)
    env.kit.account.delete_account(user=user, password=PASSWORD, address=ADDR)
    assert env.kit.stores.users.get(user.id) is None
    assert (
        env.kit.stores.refresh_tokens.get_by_hash(
            __import__("authkit.tokens", fromlist=["hash_token"]).hash_token(pair.refresh_token)
        )
        is None
    )
    with pytest.raises(InvalidToken):
        env.kit.auth.authenticate_access_token(pair.access_token)
    with pytest.raises(InvalidCredentials):
        env.kit.auth.login(identifier="alice", password=PASSWORD, address="203.0.113.3")
    assert env.outbox("account_deleted", "alice@example.com")
    raw = env.audit_path.read_text()
    assert "alice@example.com" not in raw
    assert '"alice"' not in raw
    assert ADDR not in raw
    assert any(
        e["event"] == "account.delete" and e["outcome"] == "success" for e in env.audit_events()
    )
    # The email is free again.
    env.register()


def test_delete_account_removes_mfa_and_recovery_codes(env: Env) -> None:
    user = env.register()
    assert env.kit.stores.mfa.set_pending_secret(user.id, "encrypted")
    assert env.kit.stores.mfa.enable(user.id, ["hash-1", "hash-2"], now=env.clock.now())
    env.kit.account.delete_account(user=user, password=PASSWORD, address=ADDR)
    assert env.kit.stores.mfa.get_secret(user.id) is None
    assert env.kit.stores.mfa.remaining_recovery_codes(user.id) == 0


def _admin(env: Env, name: str = "root") -> User:
    return env.kit.auth.create_user(
        username=name, email=f"{name}@example.com", password=PASSWORD, roles=(ADMIN,)
    )


def test_the_last_admin_cannot_delete_itself(env: Env) -> None:
    root = _admin(env)
    with pytest.raises(Conflict) as caught:
        env.kit.account.delete_account(user=root, password=PASSWORD, address=ADDR)
    assert caught.value.extra["reason"] == "last_admin"
    assert env.kit.stores.users.get(root.id) is not None


def test_admin_delete_applies_the_last_admin_guard(env: Env) -> None:
    root = _admin(env)
    other = _admin(env, "ops")
    alice = env.register()
    env.kit.account.admin_delete(actor=root, user_id=alice.id, address=ADDR)
    assert env.kit.stores.users.get(alice.id) is None
    env.kit.account.admin_delete(actor=root, user_id=other.id, address=ADDR)
    with pytest.raises(Conflict):
        env.kit.account.admin_delete(actor=root, user_id=root.id, address=ADDR)
    with pytest.raises(NotFound):
        env.kit.account.admin_delete(actor=root, user_id=alice.id, address=ADDR)
    with pytest.raises(NotFound):
        env.kit.account.admin_delete(actor=root, user_id="not-an-id", address=ADDR)


def _race(*actions: Callable[[], object]) -> list[str]:
    """Run ``actions`` in threads released together; "ok" or "conflict" for each."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_last_admin_guard_holds_when_deletions_race(env: Env) -> None:
    """Two last admins deleting each other at once, or one deleting itself while the
    other is deactivated: exactly one change lands, one active admin is left.
    """
    users = env.kit.stores.users
    account = env.kit.account
    leftovers: list[User] = []
    for round_ in range(4):
        a, b = _admin(env, f"alpha{round_}"), _admin(env, f"bravo{round_}")
        for old in leftovers:
            assert users.delete(old.id)
        outcomes = _race(
            partial(account.admin_delete, actor=a, user_id=b.id, address=ADDR),
            partial(account.admin_delete, actor=b, user_id=a.id, address=ADDR),
        )
        assert sorted(outcomes) == ["conflict", "ok"]
        assert users.count_active_admins() == 1
        survivor = a if users.get(a.id) is not None else b
        c = _admin(env, f"charlie{round_}")
        outcomes = _race(
            partial(account.delete_account, user=c, password=PASSWORD, address=ADDR),
            partial(users.set_active, survivor.id, False),
        )
        assert sorted(outcomes) == ["conflict", "ok"]
        assert users.count_active_admins() == 1
        leftovers = [u for u in (a, b, c) if users.get(u.id) is not None]


def test_admin_delete_needs_an_admin(memory_env: Env) -> None:
    alice = memory_env.register()
    bob = memory_env.register("bob")
    with pytest.raises(Forbidden):
        memory_env.kit.account.admin_delete(actor=alice, user_id=bob.id, address=ADDR)


def test_audit_of_every_flow_holds_no_raw_email_or_token(memory_env: Env) -> None:
    user = memory_env.register()
    memory_env.kit.account.verify_email(token=memory_env.last_token("verify_email"), address=ADDR)
    memory_env.kit.account.forgot_password(email="alice@example.com", address=ADDR)
    memory_env.kit.account.forgot_password(email="ghost@example.com", address=ADDR)
    reset = memory_env.last_token("password_reset")
    user = memory_env.kit.account.reset_password(
        token=reset, new_password=NEW_PASSWORD, address=ADDR
    )
    memory_env.kit.account.request_email_change(
        user=user, password=NEW_PASSWORD, new_email="alice2@example.com", address=ADDR
    )
    change = memory_env.last_token("email_change_confirm")
    memory_env.kit.account.confirm_email_change(token=change, address=ADDR)
    raw = memory_env.audit_path.read_text()
    for secret in ("alice@example.com", "ghost@example.com", "alice2@example.com", reset, change):
        assert secret not in raw
    events = {e["event"] for e in memory_env.audit_events()}
    assert {
        "email.verify_request",
        "email.verify",
        "password.forgot",
        "password.reset_link",
        "password.reset",
        "email.change_request",
        "email.change",
    } <= events
