"""``authkit.build``: one config and a few URLs give working services.

Each backend the builder can choose by URL is exercised end to end (register,
sign in, refresh, verify, administer, enrol TOTP, rotate keys), so the promise
"only settings change between a laptop and many hosts" is tested in the core.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from authkit import Authkit, AuthkitConfig, MfaConfig, build, open_stores
from authkit.clock import FrozenClock
from authkit.errors import ConfigurationError, InvalidToken, KeyRingError
from authkit.keys import KeyManager, KeyRingFile
from authkit.passwords import Argon2Parameters
from authkit.roles import ADMIN
from authkit.throttle import ThrottleRules
from authkit.users import UserQuery

PASSWORD = "violet-harbour-7-lanterns"
ADDR = "198.51.100.4"
CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024)
SECRET = "a-test-secret-key-of-32-characters"


def config(**overrides: object) -> AuthkitConfig:
    values: dict[str, object] = {
        "service_name": "buildtest",
        "secret_key": SECRET,
        "argon2": CHEAP,
        **overrides,
    }
    return AuthkitConfig(**values)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Authkit]:
    """A kit on each store backend the builder reaches by URL."""
    url = {
        "memory": "memory://",
        "sqlite": f"sqlite:///{tmp_path / 'auth.db'}",
    }.get(request.param) or request.getfixturevalue("postgres_url")
    stores = open_stores(url, create_tables=True)
    built = build(config(), audit=tmp_path / "auth.jsonl", stores=stores)
    yield built
    built.close()


def test_a_built_kit_signs_in_refreshes_and_verifies(kit: Authkit) -> None:
    user = kit.auth.register(
        username="alice", email="alice@example.com", password=PASSWORD, address=ADDR
    )
    pair = kit.auth.login(identifier="alice@example.com", password=PASSWORD, address=ADDR)
    assert kit.auth.authenticate_access_token(pair.access_token).user.id == user.id
    renewed = kit.auth.refresh(refresh_token=pair.refresh_token, address=ADDR)
    assert kit.auth.authenticate_access_token(renewed.access_token).user.id == user.id
    kit.auth.logout(refresh_token=renewed.refresh_token, address=ADDR)
    with pytest.raises(InvalidToken):
        kit.auth.authenticate_access_token(renewed.access_token)


def test_the_admin_and_mfa_services_share_the_kit_stores(kit: Authkit) -> None:
    admin = kit.auth.create_user(
        username="root", email="root@example.com", password=PASSWORD, roles=(ADMIN,)
    )
    kit.auth.register(username="bob", email="bob@example.com", password=PASSWORD, address=ADDR)
    page = kit.admin.list_users(UserQuery(q="bob"))
    assert [u.username for u in page.items] == ["bob"]
    enrolment = kit.mfa.setup(user=admin, password=PASSWORD, address=ADDR)
    codes = kit.mfa.enable(user=admin, otp=pyotp.TOTP(enrolment.secret).now(), address=ADDR)
    assert len(codes) == 10
    refreshed = kit.stores.users.get(admin.id)
    assert refreshed is not None
    assert refreshed.mfa_enabled


def test_events_of_every_service_reach_the_one_audit_log(tmp_path: Path) -> None:
    with build(config(), audit=tmp_path / "auth.jsonl") as kit:
        kit.auth.register(
            username="carol", email="carol@example.com", password=PASSWORD, address=ADDR
        )
        kit.keys.rotate()
    events = (tmp_path / "auth.jsonl").read_text(encoding="utf-8")
    assert '"event":"register"' in events.replace(" ", "")
    assert '"event":"keys.rotate"' in events.replace(" ", "")
    assert "carol" not in events


def test_rotation_keeps_old_tokens_valid_until_retired(tmp_path: Path) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with build(config(), audit=tmp_path / "auth.jsonl", clock=clock) as kit:
        kit.auth.register(
            username="dave", email="dave@example.com", password=PASSWORD, address=ADDR
        )
        old = kit.auth.login(identifier="dave", password=PASSWORD, address=ADDR)
        old_kid = kit.keys.current().active.kid
        ring = kit.keys.rotate()
        assert ring.active.kid != old_kid
        assert {k["kid"] for k in kit.keys.jwks()["keys"]} == {old_kid, ring.active.kid}
        kit.auth.authenticate_access_token(old.access_token)
        with pytest.raises(KeyRingError):
            kit.keys.retire(kid=old_kid)  # still inside its dual-key window
        clock.advance(kit.keys.window.total_seconds())
        assert kit.keys.retire() == [old_kid]
        with pytest.raises(InvalidToken):
            kit.auth.authenticate_access_token(old.access_token)


def test_a_key_ring_file_is_shared_by_every_kit_that_opens_it(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"
    with (
        build(config(), audit=tmp_path / "a.jsonl", keys=path) as first,
        build(config(), audit=tmp_path / "b.jsonl", keys=path) as second,
    ):
        assert first.keys.current() == second.keys.current()
        rotated = first.keys.rotate()
        assert KeyRingFile(path).load() == rotated
        assert second.keys.refresh().active.kid == rotated.active.kid
    assert path.stat().st_mode & 0o777 == 0o600


def test_build_takes_ready_made_parts(tmp_path: Path) -> None:
    """Stores, throttle and key manager may be passed in instead of URLs."""
    stores = open_stores("memory://")
    keys = KeyManager.in_memory(window=timedelta(seconds=60))
    with build(config(), audit=tmp_path / "auth.jsonl", stores=stores, keys=keys) as kit:
        assert kit.stores is stores
        assert kit.keys is keys


def test_the_config_nests_and_validates_the_parts() -> None:
    with pytest.raises(ConfigurationError) as caught:
        config(throttle=ThrottleRules(pair_failures=0))
    assert caught.value.field == "pair_failures"
    with pytest.raises(ConfigurationError) as caught:
        config(secret_key="short")
    assert caught.value.field == "secret_key"
    with pytest.raises(ConfigurationError) as caught:
        MfaConfig(skew_steps=5)
    assert caught.value.field == "skew_steps"
    with pytest.raises(ConfigurationError) as caught:
        config(password_policy="none")
    assert caught.value.field == "password_policy"


def test_secrets_never_show_in_a_repr() -> None:
    text = repr(config(mfa=MfaConfig(encryption_keys=("an-mfa-key-of-some-length",))))
    assert SECRET not in text
    assert "an-mfa-key-of-some-length" not in text


def test_an_unknown_store_scheme_names_only_the_scheme() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_stores("nosuchdb://user:hunter2@host/db")
    assert "nosuchdb" in caught.value.message
    assert "hunter2" not in caught.value.message
    assert caught.value.field == "url"


def test_the_default_mfa_key_is_derived_from_the_secret_key() -> None:
    """The same derivation the reference app used, so existing secrets still decrypt."""
    assert config().mfa_keys() == ("mfa:" + SECRET,)
    assert config(mfa=MfaConfig(encryption_keys=("k" * 16,))).mfa_keys() == ("k" * 16,)
