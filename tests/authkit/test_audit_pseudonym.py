"""Keyed pseudonyms: stable per key, separated per kind, never revealing the input."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from authkit.audit import Pseudonymizer
from authkit.errors import ConfigurationError

KEY = b"k" * 32
keys = st.binary(min_size=16, max_size=64)
values = st.text(min_size=1, max_size=64)
PSEUDONYM_RE = re.compile(r"(user|ip)_[0-9a-f]{32}")


@given(key=keys, value=values)
def test_same_key_same_value_gives_same_pseudonym(key: bytes, value: str) -> None:
    first = Pseudonymizer(key).pseudonymize(value, kind="user")
    assert first == Pseudonymizer(key).pseudonymize(value, kind="user")
    assert PSEUDONYM_RE.fullmatch(first)


@given(key=keys, other=keys, value=values)
def test_different_keys_give_different_pseudonyms(key: bytes, other: bytes, value: str) -> None:
    assume(key != other)
    assert Pseudonymizer(key).pseudonymize(value, kind="user") != Pseudonymizer(other).pseudonymize(
        value, kind="user"
    )


@given(key=keys, value=values)
def test_kinds_are_domain_separated(key: bytes, value: str) -> None:
    """The same text as a username and as an address must not be linkable."""
    p = Pseudonymizer(key)
    user_hex = p.pseudonymize(value, kind="user").split("_", 1)[1]
    ip_hex = p.pseudonymize(value, kind="ip").split("_", 1)[1]
    assert user_hex != ip_hex


@given(key=keys, value=st.text(min_size=8, max_size=64), kind=st.sampled_from(["user", "ip"]))
def test_output_never_contains_the_input(key: bytes, value: str, kind: str) -> None:
    """At 8+ characters a chance match inside 32 hex digits is below 1e-8."""
    out = Pseudonymizer(key).pseudonymize(value, kind=kind)
    assert value not in out
    assert value.strip().casefold() not in out


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Alice@Example.com", " alice@example.com\t"),
        ("STRASSE", "straße"),
        ("\uff42\uff4f\uff42", "bob"),  # fullwidth letters, NFKC
    ],
)
def test_identifiers_are_normalised(a: str, b: str) -> None:
    p = Pseudonymizer(KEY)
    assert p.pseudonymize(a, kind="user") == p.pseudonymize(b, kind="user")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("2001:DB8:0::1", "2001:db8::1"),
        (" 10.0.0.1 ", "10.0.0.1"),
    ],
)
def test_ip_addresses_are_canonicalised(a: str, b: str) -> None:
    p = Pseudonymizer(KEY)
    assert p.pseudonymize(a, kind="ip") == p.pseudonymize(b, kind="ip")


def test_distinct_values_differ() -> None:
    p = Pseudonymizer(KEY)
    assert p.pseudonymize("alice", kind="user") != p.pseudonymize("bob", kind="user")


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 15])
def test_short_keys_are_refused(key: bytes) -> None:
    with pytest.raises(ConfigurationError):
        Pseudonymizer(key)


def test_non_bytes_key_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        Pseudonymizer("a string key of enough length")  # type: ignore[arg-type]


def test_repr_never_shows_the_key() -> None:
    key = b"super-secret-key-material-0123456789"
    p = Pseudonymizer(key)
    for text in (repr(p), str(p)):
        assert "super-secret" not in text
        assert key.hex() not in text


@pytest.mark.parametrize("kind", ["", "User", "a b", "x" * 17, "ip\x00"])
def test_malformed_kinds_are_refused(kind: str) -> None:
    with pytest.raises(ValueError, match="kind"):
        Pseudonymizer(KEY).pseudonymize("alice", kind=kind)
