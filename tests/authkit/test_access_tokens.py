"""Access tokens: issuing (RFC 9068) and strict verification (RFC 8725).

Every attack token is built by hand, the way an attacker would: the header and the
payload are JSON we encode ourselves, signed with ``cryptography`` or ``hmac``
directly (or not at all), so the verifier cannot lean on PyJWT's encoder refusing
to produce them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.clock import FrozenClock
from authkit.errors import InvalidToken
from authkit.keys import KeyRing, KeyStatus, SigningKey, StaticKeyRingSource
from authkit.storage import MemoryRefreshTokenStore
from authkit.tokens import AccessTokenConfig, AccessTokens, RefreshTokens

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ISSUER = "https://auth.example.test"
AUDIENCE = "flight-api"
CONFIG = AccessTokenConfig(issuer=ISSUER, audience=AUDIENCE)

Signer = Callable[[bytes], bytes]


# -- building tokens by hand -------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def forge(header: Any, payload: Any, sign: Signer | None) -> str:
    """A compact JWS from raw parts; ``sign=None`` leaves the signature empty."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = b64url(sign(signing_input.encode("ascii"))) if sign else ""
    return f"{signing_input}.{signature}"


def rs256(private_key: Any) -> Signer:
    def sign(data: bytes) -> bytes:
        signature: bytes = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        return signature

    return sign


def hs256(secret: bytes) -> Signer:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


@pytest.fixture(scope="module")
def rsa_ring() -> KeyRing:
    return KeyRing.generate("RS256", now=NOW)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
def tokens(rsa_ring: KeyRing, clock: FrozenClock) -> AccessTokens:
    return AccessTokens(StaticKeyRingSource(rsa_ring), CONFIG, clock=clock)


def header_for(ring: KeyRing, **changes: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": "RS256", "typ": "at+jwt", "kid": ring.active.kid}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def claims_at(now: datetime, **changes: Any) -> dict[str, Any]:
    ts = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": ts,
        "exp": ts + 900,
        "jti": "jti-1",
        "roles": ["user"],
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    def part(text: str) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        )
        return decoded

    header, payload, _ = token.split(".")
    return part(header), part(payload)


# -- issuing -------------------------------------------------------------------------


def test_issued_token_has_rfc9068_header_and_claims(
    tokens: AccessTokens, rsa_ring: KeyRing
) -> None:
    """Header typ at+jwt, kid and alg of the active key; claims iss aud sub exp iat jti roles."""
    issued = tokens.issue(subject="user-42", roles=("admin", "user"))
    assert issued.expires_in == 900
    header, payload = unverified(issued.token)
    assert header == {"alg": "RS256", "typ": "at+jwt", "kid": rsa_ring.active.kid}
    ts = int(NOW.timestamp())
    assert set(payload) == {"iss", "aud", "sub", "exp", "iat", "jti", "roles"}
    assert payload["iss"] == ISSUER
    assert payload["aud"] == AUDIENCE
    assert payload["sub"] == "user-42"
    assert payload["iat"] == ts
    assert payload["exp"] == ts + 900
    assert payload["roles"] == ["admin", "user"]
    assert len(payload["jti"]) >= 16


def test_issued_token_carries_sid_when_given(tokens: AccessTokens) -> None:
    """session_id becomes the sid claim and comes back from verify."""
    issued = tokens.issue(subject="u", roles=(), session_id="family-1")
    assert unverified(issued.token)[1]["sid"] == "family-1"
    assert tokens.verify(issued.token).session_id == "family-1"


def test_jti_is_unique_per_token(tokens: AccessTokens) -> None:
    """Every token gets its own jti."""
    jtis = {tokens.verify(tokens.issue(subject="u", roles=()).token).jti for _ in range(20)}
    assert len(jtis) == 20


def test_verify_returns_the_claims(tokens: AccessTokens, rsa_ring: KeyRing) -> None:
    """verify gives subject, roles, jti, times and the kid that verified it."""
    issued = tokens.issue(subject="user-7", roles=("user",))
    claims = tokens.verify(issued.token)
    assert claims.subject == "user-7"
    assert claims.roles == ("user",)
    assert claims.kid == rsa_ring.active.kid
    assert claims.issued_at == NOW
    assert claims.expires_at == NOW + timedelta(seconds=900)
    assert claims.session_id is None


def test_hand_built_valid_token_verifies(tokens: AccessTokens, rsa_ring: KeyRing) -> None:
    """Sanity check of the forging helpers: a correct hand-built token is accepted."""
    token = forge(header_for(rsa_ring), claims_at(NOW), rs256(rsa_ring.active.signing_key))
    assert tokens.verify(token).subject == "user-1"
    app_typ = forge(
        header_for(rsa_ring, typ="application/at+jwt"),
        claims_at(NOW),
        rs256(rsa_ring.active.signing_key),
    )
    assert tokens.verify(app_typ).subject == "user-1"


def test_token_from_verify_only_key_still_verifies(rsa_ring: KeyRing, clock: FrozenClock) -> None:
    """After a rotation, tokens signed by the demoted key verify until it is retired."""
    old = AccessTokens(StaticKeyRingSource(rsa_ring), CONFIG, clock=clock)
    token = old.issue(subject="u", roles=()).token
    rotated = rsa_ring.rotate("ES256", now=NOW)
    new = AccessTokens(StaticKeyRingSource(rotated), CONFIG, clock=clock)
    assert new.verify(token).kid == rsa_ring.active.kid
    fresh = new.issue(subject="u", roles=()).token
    assert unverified(fresh)[0]["kid"] == rotated.active.kid
    assert unverified(fresh)[0]["alg"] == "ES256"
    with pytest.raises(InvalidToken):
        old.verify(fresh)  # the old ring never knew the new key


def test_token_from_retired_key_is_rejected(rsa_ring: KeyRing, clock: FrozenClock) -> None:
    """Once its key is retired, a still-unexpired token is refused."""
    old = AccessTokens(StaticKeyRingSource(rsa_ring), CONFIG, clock=clock)
    token = old.issue(subject="u", roles=()).token
    rotated = rsa_ring.rotate(now=NOW)
    retired = KeyRing(
        tuple(
            k.with_status(KeyStatus.RETIRED) if k.status is KeyStatus.VERIFY_ONLY else k
            for k in rotated.keys
        )
    )
    with pytest.raises(InvalidToken):
        AccessTokens(StaticKeyRingSource(retired), CONFIG, clock=clock).verify(token)
    removed, _ = rotated.retire(now=NOW, window=timedelta(0))
    with pytest.raises(InvalidToken):
        AccessTokens(StaticKeyRingSource(removed), CONFIG, clock=clock).verify(token)


# -- RFC 8725 rejections ---------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_rejected(tokens: AccessTokens, rsa_ring: KeyRing, alg: str) -> None:
    """An unsigned token (alg none, empty signature) never verifies (RFC 8725 §2.1)."""
    token = forge(header_for(rsa_ring, alg=alg), claims_at(NOW), None)
    with pytest.raises(InvalidToken):
        tokens.verify(token)
    with pytest.raises(InvalidToken):
        tokens.verify(token.rstrip("."))


def public_key_encodings(ring: KeyRing) -> list[bytes]:
    public = ring.active.verifying_key
    jwk = ring.active.public_jwk()
    assert jwk is not None
    return [
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH),
        json.dumps(jwk).encode(),
        json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode(),
    ]


def test_hs256_signed_with_the_public_key_is_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing
) -> None:
    """Algorithm confusion (RFC 8725 §2.1): HMAC keyed with the RSA public key is refused."""
    for secret in public_key_encodings(rsa_ring):
        for alg in ("HS256", "HS384", "HS512"):
            token = forge(header_for(rsa_ring, alg=alg), claims_at(NOW), hs256(secret))
            with pytest.raises(InvalidToken):
                tokens.verify(token)


def test_alg_of_another_ring_key_is_rejected(clock: FrozenClock) -> None:
    """A kid names its algorithm: RS256 in the header of an HS256 key's token is refused."""
    hmac_key = SigningKey.generate("HS256", created_at=NOW, status=KeyStatus.VERIFY_ONLY)
    ring = KeyRing.generate("ES256", now=NOW)
    ring = KeyRing((*ring.keys, hmac_key))
    tokens = AccessTokens(StaticKeyRingSource(ring), CONFIG, clock=clock)
    good = forge(
        {"alg": "HS256", "typ": "at+jwt", "kid": hmac_key.kid},
        claims_at(NOW),
        hs256(hmac_key.signing_key),
    )
    assert tokens.verify(good).kid == hmac_key.kid
    for alg in ("RS256", "ES256", "HS512"):
        bad = forge(
            {"alg": alg, "typ": "at+jwt", "kid": hmac_key.kid},
            claims_at(NOW),
            hs256(hmac_key.signing_key),
        )
        with pytest.raises(InvalidToken):
            tokens.verify(bad)


def test_unknown_kid_is_rejected(tokens: AccessTokens, rsa_ring: KeyRing) -> None:
    """A kid not in the ring is refused even with a valid signature."""
    token = forge(
        header_for(rsa_ring, kid="not-a-kid"), claims_at(NOW), rs256(rsa_ring.active.signing_key)
    )
    with pytest.raises(InvalidToken):
        tokens.verify(token)


@pytest.mark.parametrize("kid", [None, 1, ["x"], {"kid": "x"}, True])
def test_missing_or_non_string_kid_is_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing, kid: Any
) -> None:
    """No kid, or a kid that is not a string, is refused."""
    header = header_for(rsa_ring)
    if kid is None:
        del header["kid"]
    else:
        header["kid"] = kid
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header, claims_at(NOW), rs256(rsa_ring.active.signing_key)))


def test_signature_by_another_key_with_our_kid_is_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing
) -> None:
    """An attacker's own RSA key, claiming our kid, does not verify."""
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header_for(rsa_ring), claims_at(NOW), rs256(attacker)))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("x5u", "https://attacker.example/cert.pem"),
        ("jwk", {"kty": "oct", "k": "c2VjcmV0"}),
        ("x5c", ["MIIB"]),
        ("crit", ["exp"]),
    ],
)
def test_header_key_locations_are_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing, name: str, value: Any
) -> None:
    """jku / x5u / jwk / x5c / crit in the header are refused even with a good signature."""
    header = header_for(rsa_ring, **{name: value})
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header, claims_at(NOW), rs256(rsa_ring.active.signing_key)))


@pytest.mark.parametrize("typ", [None, "JWT", "jwt", "at+jwt ", "application/jwt", "dpop+jwt", 1])
def test_wrong_typ_is_rejected(tokens: AccessTokens, rsa_ring: KeyRing, typ: Any) -> None:
    """Only typ at+jwt (or application/at+jwt) is an access token (RFC 8725 §3.11)."""
    header = header_for(rsa_ring)
    if typ is None:
        del header["typ"]
    else:
        header["typ"] = typ
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header, claims_at(NOW), rs256(rsa_ring.active.signing_key)))


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "exp", "iat", "jti"])
def test_missing_required_claim_is_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing, claim: str
) -> None:
    """Every RFC 9068 claim is required; a token without one is refused."""
    claims = claims_at(NOW)
    del claims[claim]
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header_for(rsa_ring), claims, rs256(rsa_ring.active.signing_key)))


@pytest.mark.parametrize(
    "changes",
    [
        {"iss": "https://evil.example.test"},
        {"iss": ISSUER + "/"},
        {"aud": "another-api"},
        {"aud": ["another-api"]},
        {"aud": 5},
        {"sub": ""},
        {"sub": 5},
        {"jti": 5},
        {"exp": "9999999999"},
        {"exp": float(int(NOW.timestamp()) + 900) + 0.5},
        {"exp": True},
        {"iat": "0"},
        {"nbf": "0"},
        {"roles": "admin"},
        {"roles": ["admin", 1]},
        {"sid": 5},
    ],
)
def test_bad_claim_values_are_rejected(
    tokens: AccessTokens, rsa_ring: KeyRing, changes: dict[str, Any]
) -> None:
    """Wrong issuer or audience, or ill-typed claims, are refused even when signed."""
    claims = claims_at(NOW, **changes)
    with pytest.raises(InvalidToken):
        tokens.verify(forge(header_for(rsa_ring), claims, rs256(rsa_ring.active.signing_key)))


def test_expiry_honours_the_skew(tokens: AccessTokens, clock: FrozenClock) -> None:
    """An expired token is accepted within the 30 s skew and refused beyond it."""
    token = tokens.issue(subject="u", roles=()).token
    clock.advance(900 + 29)
    assert tokens.verify(token).subject == "u"
    clock.advance(1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)
    clock.advance(3600)
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_zero_skew_rejects_at_exp(rsa_ring: KeyRing, clock: FrozenClock) -> None:
    """With no skew a token is refused from its exp second on."""
    config = AccessTokenConfig(
        issuer=ISSUER, audience=AUDIENCE, clock_skew_seconds=0, ttl_seconds=60
    )
    tokens = AccessTokens(StaticKeyRingSource(rsa_ring), config, clock=clock)
    token = tokens.issue(subject="u", roles=()).token
    clock.advance(59)
    tokens.verify(token)
    clock.advance(1)
    with pytest.raises(InvalidToken):
        tokens.verify(token)


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_future_iat_and_nbf_honour_the_skew(
    tokens: AccessTokens, rsa_ring: KeyRing, claim: str
) -> None:
    """iat or nbf up to 30 s ahead is clock drift; further ahead is refused."""
    ts = int(NOW.timestamp())
    sign = rs256(rsa_ring.active.signing_key)
    within = forge(header_for(rsa_ring), claims_at(NOW, **{claim: ts + 30}), sign)
    assert tokens.verify(within).subject == "user-1"
    beyond = forge(header_for(rsa_ring), claims_at(NOW, **{claim: ts + 31}), sign)
    with pytest.raises(InvalidToken):
        tokens.verify(beyond)


def test_oversized_token_is_rejected(tokens: AccessTokens, rsa_ring: KeyRing) -> None:
    """A token at the size limit verifies; one byte more is refused even if validly signed."""
    sign = rs256(rsa_ring.active.signing_key)
    limit = CONFIG.max_token_bytes

    def padded(n: int) -> str:
        return forge(header_for(rsa_ring), claims_at(NOW, pad="x" * n), sign)

    n = (limit - len(padded(0))) * 3 // 4 - 4
    while len(padded(n + 1)) <= limit:
        n += 1
    at_limit, over = padded(n), padded(n + 1)
    assert limit - 3 <= len(at_limit) <= limit < len(over)
    assert tokens.verify(at_limit).subject == "user-1"
    with pytest.raises(InvalidToken):
        tokens.verify(over)
    with pytest.raises(InvalidToken):
        tokens.verify(padded(10 * limit))


def test_tampered_payload_is_rejected(tokens: AccessTokens) -> None:
    """Swapping in a payload with more roles breaks the signature."""
    token = tokens.issue(subject="u", roles=("user",)).token
    header, payload, signature = token.split(".")
    claims = unverified(token)[1]
    claims["roles"] = ["admin"]
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{segment(claims)}.{signature}")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{payload}.{flipped}")
    with pytest.raises(InvalidToken):
        tokens.verify(f"{header}.{payload}.")


def test_refresh_token_is_not_an_access_token(tokens: AccessTokens, clock: FrozenClock) -> None:
    """A refresh token string presented as a bearer token is refused."""
    refresh = RefreshTokens(MemoryRefreshTokenStore(), clock=clock).start_family("u", ("user",))
    for candidate in (refresh.token, refresh.record.token_hash, refresh.record.jti):
        with pytest.raises(InvalidToken):
            tokens.verify(candidate)


@pytest.mark.parametrize(
    "candidate",
    ["", ".", "..", "a.b.c", "Bearer x.y.z", "\ud800.a.b", "é.e.e", b"a.b.c", None, 12],
)
def test_malformed_inputs_raise_invalid_token(tokens: AccessTokens, candidate: Any) -> None:
    """Whatever arrives in the Authorization header, the answer is InvalidToken."""
    with pytest.raises(InvalidToken):
        tokens.verify(candidate)


def test_error_carries_no_detail(tokens: AccessTokens, rsa_ring: KeyRing) -> None:
    """Every rejection is the same generic InvalidToken, telling an attacker nothing."""
    token = forge(header_for(rsa_ring, alg="none"), claims_at(NOW), None)
    with pytest.raises(InvalidToken) as caught:
        tokens.verify(token)
    assert caught.value.message == InvalidToken.default_message


# -- property tests ----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
header_names = st.sampled_from(["alg", "typ", "kid", "jku", "x5u", "jwk", "crit", "cty", "b64"])
header_values = st.one_of(
    st.sampled_from(["none", "RS256", "HS256", "ES256", "EdDSA", "at+jwt", "JWT"]),
    json_values,
)
headers = st.dictionaries(header_names | st.text(max_size=6), header_values, max_size=6)
all_text = st.text(st.characters(exclude_categories=()), max_size=200)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=300))
def test_random_bytes_never_verify(tokens: AccessTokens, raw: bytes) -> None:
    """Property: random bytes (as text or bytes) are InvalidToken, never another exception."""
    for candidate in (raw.decode("latin-1"), raw.decode("utf-8", "surrogateescape"), raw):
        with pytest.raises(InvalidToken):
            tokens.verify(candidate)  # type: ignore[arg-type]


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=all_text)
def test_random_text_never_verifies(tokens: AccessTokens, text: str) -> None:
    """Property: any string, lone surrogates included, is InvalidToken."""
    with pytest.raises(InvalidToken):
        tokens.verify(text)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=headers,
    use_real_kid=st.booleans(),
    payload=st.one_of(st.just("claims"), json_values),
    signature=st.binary(max_size=300),
)
def test_random_json_headers_never_verify(
    tokens: AccessTokens,
    rsa_ring: KeyRing,
    header: dict[str, Any],
    use_real_kid: bool,
    payload: Any,
    signature: bytes,
) -> None:
    """Property: random headers and payloads with a random signature are InvalidToken."""
    if use_real_kid:
        header = {**header, "kid": rsa_ring.active.kid}
    body = claims_at(NOW) if payload == "claims" else payload
    token = f"{segment(header)}.{segment(body)}.{b64url(signature)}"
    with pytest.raises(InvalidToken):
        tokens.verify(token)


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=st.binary(min_size=0, max_size=64), alg=st.sampled_from(["HS256", "none", "RS256"]))
def test_hmac_with_any_secret_never_verifies_against_rsa(
    tokens: AccessTokens, rsa_ring: KeyRing, secret: bytes, alg: str
) -> None:
    """Property: an HMAC-signed token never verifies against an RSA ring, whatever the secret."""
    token = forge(header_for(rsa_ring, alg=alg), claims_at(NOW), hs256(secret))
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_fresh_tokens_verify_for_every_subject(tokens: AccessTokens) -> None:
    """Round trip for a spread of subjects and role sets."""
    for subject, roles in [("a", ()), ("0" * 36, ("admin",)), ("ü-ß", ("x", "y", "z"))]:
        claims = tokens.verify(tokens.issue(subject=subject, roles=roles).token)
        assert (claims.subject, claims.roles) == (subject, roles)


def test_a_token_living_longer_than_we_ever_issue_is_refused(
    tokens: AccessTokens, rsa_ring: KeyRing, clock: FrozenClock
) -> None:
    """Regression (review): exp - iat beyond ttl + skew marks a token we did not mint,
    e.g. one made with a leaked key to last a year."""
    claims = claims_at(clock.now(), exp=int(clock.now().timestamp()) + 365 * 24 * 3600)
    token = forge(header_for(rsa_ring), claims, rs256(rsa_ring.active.signing_key))
    with pytest.raises(InvalidToken):
        tokens.verify(token)
