"""``AccessTokens``' verified-token cache: a remembered token is still checked on every call.

The signature is checked once per token string; the key's trust (retired, or the
ring reloaded) and the time claims are checked on every call, so the cache can
only save work, never accept what a full verification would refuse.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from authkit.clock import FrozenClock
from authkit.errors import ConfigurationError, InvalidToken
from authkit.keys import KeyRing, StaticKeyRingSource
from authkit.tokens import VERIFIED_CACHE_SIZE, AccessTokenConfig, AccessTokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = AccessTokenConfig(issuer="https://auth.test", audience="api", ttl_seconds=300)
SKEW = CONFIG.clock_skew_seconds


class Counting(AccessTokens):
    """Counts the full (signature) verifications."""

    full = 0

    def _verify_signed(self, token: str) -> object:  # type: ignore[override]
        self.full += 1
        return super()._verify_signed(token)


@pytest.fixture(scope="module")
def ring() -> KeyRing:
    return KeyRing.generate("ES256", now=NOW)


def tokens_of(
    ring: KeyRing, *, size: int = VERIFIED_CACHE_SIZE
) -> tuple[Counting, StaticKeyRingSource, FrozenClock]:
    source = StaticKeyRingSource(ring)
    clock = FrozenClock(NOW)
    return Counting(source, CONFIG, clock=clock, verified_cache_size=size), source, clock


def issue(tokens: AccessTokens, subject: str = "user-1") -> str:
    return tokens.issue(subject=subject, roles=("viewer",), session_id="s1").token


def test_a_token_is_verified_in_full_once_then_remembered(ring: KeyRing) -> None:
    tokens, _source, _clock = tokens_of(ring)
    token = issue(tokens)
    first = tokens.verify(token)
    for _ in range(5):
        assert tokens.verify(token) == first
    assert tokens.full == 1


def test_a_remembered_token_still_expires(ring: KeyRing) -> None:
    tokens, _source, clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    clock.advance(CONFIG.ttl_seconds + SKEW - 1)
    tokens.verify(token)  # inside exp + skew
    clock.advance(1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token)  # and again, after the entry was dropped


def test_a_remembered_token_issued_in_the_future_is_refused_when_the_clock_goes_back(
    ring: KeyRing,
) -> None:
    tokens, _source, clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    clock.advance(-(SKEW + 1))  # iat is now beyond the skew
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_remembered_token_fails_once_its_key_is_retired(ring: KeyRing) -> None:
    tokens, source, _clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    rotated = ring.rotate(now=NOW)
    source.ring = rotated
    tokens.verify(token)  # the old key verifies until retired
    old_kid = ring.active.kid
    source.ring, removed = rotated.retire_compromised(old_kid, now=NOW)
    assert removed == [old_kid]
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_a_reloaded_ring_verifies_afresh(ring: KeyRing) -> None:
    tokens, source, _clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    source.ring = KeyRing.from_jwk_set(ring.to_jwk_set())  # same keys, new objects
    tokens.verify(token)
    assert tokens.full == 2


def test_a_reloaded_ring_with_other_material_under_the_same_kid_refuses(ring: KeyRing) -> None:
    tokens, source, _clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    other = KeyRing.generate("ES256", now=NOW).active
    impostor = dataclasses.replace(other, kid=ring.active.kid)
    source.ring = KeyRing((impostor,))
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def _tampered(token: str) -> list[str]:
    """The token with one character changed, in each of its three parts."""
    out = []
    header_end, payload_end = token.index("."), token.rindex(".")
    for at in (header_end // 2, (header_end + payload_end) // 2, (payload_end + len(token)) // 2):
        swap = "A" if token[at] != "A" else "B"
        out.append(token[:at] + swap + token[at + 1 :])
    out.append(token + "A")
    out.append(token[:-1])
    return out


def test_a_tampered_token_is_never_a_hit(ring: KeyRing) -> None:
    tokens, _source, _clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    for bad in _tampered(token):
        before = tokens.full
        with pytest.raises(InvalidToken):
            tokens.verify(bad)
        assert tokens.full == before + 1, "checked in full, not served from the cache"


def test_invalid_tokens_are_never_remembered(ring: KeyRing) -> None:
    tokens, _source, clock = tokens_of(ring)
    token = issue(tokens)
    clock.advance(CONFIG.ttl_seconds + SKEW)  # expired before its first check
    for bad in [token, *_tampered(token), "", "a.b.c"]:
        for _ in range(2):
            with pytest.raises(InvalidToken):
                tokens.verify(bad)
    assert tokens._verified == {}


def test_the_cache_is_bounded(ring: KeyRing) -> None:
    tokens, _source, _clock = tokens_of(ring, size=20)
    issued = [issue(tokens, f"user-{i}") for i in range(100)]
    for token in issued:
        tokens.verify(token)
        assert len(tokens._verified) <= 20
    assert issued[-1] in tokens._verified
    assert issued[0] not in tokens._verified
    full = tokens.full
    tokens.verify(issued[0])  # forgotten: checked in full again, and still good
    assert tokens.full == full + 1


def test_size_zero_remembers_nothing(ring: KeyRing) -> None:
    tokens, _source, _clock = tokens_of(ring, size=0)
    token = issue(tokens)
    for _ in range(3):
        tokens.verify(token)
    assert tokens.full == 3
    assert tokens._verified == {}


@pytest.mark.parametrize("size", [-1, True, 1.5, "10", None])
def test_a_bad_size_is_a_configuration_error(ring: KeyRing, size: object) -> None:
    with pytest.raises(ConfigurationError):
        AccessTokens(StaticKeyRingSource(ring), CONFIG, verified_cache_size=size)  # type: ignore[arg-type]


def test_a_hit_and_a_full_check_give_the_same_claims(ring: KeyRing) -> None:
    cached, _source, _clock = tokens_of(ring)
    fresh, _s, _c = tokens_of(ring, size=0)
    token = issue(cached)
    cached.verify(token)
    assert cached.verify(token) == fresh.verify(token)


def test_a_non_string_token_is_refused_not_looked_up(ring: KeyRing) -> None:
    tokens, _source, _clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token.encode())  # type: ignore[arg-type]


def test_a_remembered_token_is_not_valid_past_a_window_by_clock_jumps(ring: KeyRing) -> None:
    tokens, _source, clock = tokens_of(ring)
    token = issue(tokens)
    tokens.verify(token)
    clock.advance(timedelta(days=365).total_seconds())
    with pytest.raises(InvalidToken):
        tokens.verify(token)
