"""argon2id password hashing: hash/verify, NFC normalisation, rehash, dummy verify."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from authkit.errors import ConfigurationError
from authkit.passwords import Argon2Parameters, PasswordHasher

CHEAP = Argon2Parameters(time_cost=1, memory_cost=1024)


@pytest.fixture
def hasher() -> PasswordHasher:
    return PasswordHasher(CHEAP)


def test_hash_is_argon2id_and_verifies(hasher: PasswordHasher) -> None:
    """A hash is an argon2id PHC string; the right password verifies, a wrong one does not."""
    encoded = hasher.hash("correct horse battery staple")
    assert encoded.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert hasher.verify(encoded, "correct horse battery staple") is True
    assert hasher.verify(encoded, "correct horse battery stapler") is False
    assert hasher.verify(encoded, "") is False


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    """Two hashes of one password differ (random salt) and both verify."""
    first, second = hasher.hash("same password"), hasher.hash("same password")
    assert first != second
    assert hasher.verify(first, "same password")
    assert hasher.verify(second, "same password")


def test_default_parameters_are_the_owasp_minimum() -> None:
    """Without parameters the hasher uses m=19456 KiB, t=2, p=1 (OWASP cheat sheet)."""
    default = PasswordHasher()
    assert default.parameters == Argon2Parameters(time_cost=2, memory_cost=19456, parallelism=1)
    encoded = default.hash("a password")
    assert encoded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert default.verify(encoded, "a password")
    assert not default.needs_rehash(encoded)


@pytest.mark.parametrize(
    "password",
    ["café", "Ångström", "ﬁancé naïve", "한국어 비밀번호", "e\u0301\u0327"],
)
def test_nfc_and_nfd_forms_of_one_password_verify(hasher: PasswordHasher, password: str) -> None:
    """The same password typed as NFC on one device and NFD on another verifies both ways."""
    nfc = unicodedata.normalize("NFC", password)
    nfd = unicodedata.normalize("NFD", password)
    assert hasher.verify(hasher.hash(nfc), nfd)
    assert hasher.verify(hasher.hash(nfd), nfc)


def test_nfkc_compatibility_forms_are_not_folded(hasher: PasswordHasher) -> None:
    """Only NFC is applied: the ligature 'ﬁ' and the letters 'fi' are different passwords."""
    assert not hasher.verify(hasher.hash("ﬁne password"), "fine password")


def test_needs_rehash_when_parameters_grow() -> None:
    """A hash made with lower costs than the current ones must be upgraded."""
    old = PasswordHasher(CHEAP)
    encoded = old.hash("a password")
    assert old.needs_rehash(encoded) is False
    for stronger in (
        Argon2Parameters(time_cost=2, memory_cost=1024),
        Argon2Parameters(time_cost=1, memory_cost=2048),
        Argon2Parameters(time_cost=1, memory_cost=1024, parallelism=2),
        Argon2Parameters(time_cost=1, memory_cost=1024, hash_len=64),
    ):
        new = PasswordHasher(stronger)
        assert new.needs_rehash(encoded) is True
        assert new.verify(encoded, "a password"), "old hashes keep verifying after an upgrade"
        assert new.needs_rehash(new.hash("a password")) is False


def test_unusable_hashes_never_verify(hasher: PasswordHasher) -> None:
    """Garbage, empty, truncated, bcrypt or other-type hashes give False, not an exception."""
    good = hasher.hash("pw")
    unusable = [
        "",
        "garbage",
        "!",  # the conventional "no password" marker
        good[:-5],
        good.replace("$argon2id$", "$argon2x$"),
        "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
    ]
    for value in unusable:
        assert hasher.verify(value, "pw") is False
        assert hasher.needs_rehash(value) is True


def test_lone_surrogates_do_not_crash_hash_or_verify(hasher: PasswordHasher) -> None:
    """JSON can carry a lone surrogate; it must be a wrong password, not a crash."""
    good = hasher.hash("pw")
    assert hasher.verify(good, "\ud800") is False
    hasher.dummy_verify("\udfff")
    odd = hasher.hash("x\ud800y")
    assert hasher.verify(odd, "x\ud800y")
    assert not hasher.verify(odd, "xy")


def test_dummy_verify_returns_none_and_reuses_one_hash(hasher: PasswordHasher) -> None:
    """dummy_verify spends one verification and returns nothing; its hash is made once."""
    calls: list[str] = []
    real_hash = hasher.hash

    def counting_hash(password: str) -> str:
        calls.append(password)
        return real_hash(password)

    hasher.hash = counting_hash  # type: ignore[method-assign]
    assert hasher.dummy_verify("anything") is None  # type: ignore[func-returns-value]
    assert hasher.dummy_verify("something else") is None  # type: ignore[func-returns-value]
    assert len(calls) == 1


def test_parameters_out_of_range_are_refused() -> None:
    """Nonsense costs are a configuration error, not a weak hash."""
    with pytest.raises(ConfigurationError):
        Argon2Parameters(time_cost=0)
    with pytest.raises(ConfigurationError):
        Argon2Parameters(parallelism=0)
    with pytest.raises(ConfigurationError):
        Argon2Parameters(memory_cost=7)


def test_repr_shows_parameters_only(hasher: PasswordHasher) -> None:
    """The hasher's repr names its parameters and nothing else."""
    assert "time_cost=1" in repr(hasher)
    assert "memory_cost=1024" in repr(hasher)


@settings(max_examples=15, deadline=None)
@given(password=st.text(max_size=40), other=st.text(max_size=40))
def test_verify_is_exact_up_to_nfc(password: str, other: str) -> None:
    """Property: a hash verifies exactly the passwords with the same NFC form."""
    hasher = PasswordHasher(CHEAP)
    encoded = hasher.hash(password)
    assert hasher.verify(encoded, password)
    same = unicodedata.normalize("NFC", password) == unicodedata.normalize("NFC", other)
    assert hasher.verify(encoded, other) is same
