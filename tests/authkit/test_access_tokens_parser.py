"""The access-token parser is never more permissive than PyJWT's ``decode``.

``AccessTokens.verify`` parses the compact JWS itself (one regular expression,
``base64``, ``json``) instead of calling ``jwt.get_unverified_header`` then
``jwt.decode``. Property: for any mutation of a valid token (a character
replaced, inserted or deleted anywhere, padding added, a segment swapped), if
authkit accepts the result, PyJWT with the same key, algorithm, audience and
issuer accepts it too, with the same claims. Both refuse everything else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.clock import FrozenClock
from authkit.errors import InvalidToken
from authkit.keys import KeyRing, KeyStatus, SigningKey, StaticKeyRingSource
from authkit.tokens import AccessTokenConfig, AccessTokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = AccessTokenConfig(issuer="https://auth.example.test", audience="flight-api")
CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ !\x00é"


@pytest.fixture(scope="module", params=["RS256", "ES256", "EdDSA", "HS256"])
def setup(request: pytest.FixtureRequest) -> tuple[AccessTokens, SigningKey, str]:
    key = SigningKey.generate(request.param, created_at=NOW, status=KeyStatus.ACTIVE)
    tokens = AccessTokens(StaticKeyRingSource(KeyRing((key,))), CONFIG, clock=FrozenClock(NOW))
    token = tokens.issue(subject="user-1", roles=("user",), session_id="family-1").token
    return tokens, key, token


def pyjwt_claims(token: str, key: SigningKey) -> dict[str, Any] | None:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.verifying_key,
            algorithms=[key.alg],
            audience=CONFIG.audience,
            issuer=CONFIG.issuer,
            options={"require": ["iss", "aud", "sub", "exp", "iat", "jti"], "verify_exp": False},
        )
    except (jwt.PyJWTError, ValueError, TypeError):
        return None
    return claims


def mutate(token: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(["replace", "insert", "delete", "pad", "swap"]))
    if kind == "pad":
        segment = data.draw(st.integers(0, 2))
        parts = token.split(".")
        parts[segment] += "=" * data.draw(st.integers(1, 3))
        return ".".join(parts)
    if kind == "swap":
        parts = token.split(".")
        i, j = data.draw(st.permutations(range(3)))[:2]
        parts[i], parts[j] = parts[j], parts[i]
        return ".".join(parts)
    position = data.draw(st.integers(0, len(token) - 1))
    if kind == "delete":
        return token[:position] + token[position + 1 :]
    character = data.draw(st.sampled_from(CHARACTERS))
    if kind == "insert":
        return token[:position] + character + token[position:]
    return token[:position] + character + token[position + 1 :]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_never_more_permissive_than_pyjwt(
    setup: tuple[AccessTokens, SigningKey, str], data: st.DataObject
) -> None:
    tokens, key, token = setup
    mutated = mutate(token, data)
    try:
        claims = tokens.verify(mutated)
    except InvalidToken:
        return
    reference = pyjwt_claims(mutated, key)
    assert reference is not None, f"authkit accepted a token PyJWT refuses: {mutated!r}"
    assert reference["sub"] == claims.subject
    assert reference["jti"] == claims.jti


def test_the_unmutated_token_is_accepted_by_both(
    setup: tuple[AccessTokens, SigningKey, str],
) -> None:
    tokens, key, token = setup
    assert tokens.verify(token).subject == "user-1"
    assert pyjwt_claims(token, key) is not None


@pytest.mark.parametrize("suffix", ["=", "==", "==="])
def test_padding_on_any_segment_is_refused(
    setup: tuple[AccessTokens, SigningKey, str], suffix: str
) -> None:
    tokens, _, token = setup
    parts = token.split(".")
    for index in range(3):
        padded = parts.copy()
        padded[index] += suffix
        with pytest.raises(InvalidToken):
            tokens.verify(".".join(padded))
