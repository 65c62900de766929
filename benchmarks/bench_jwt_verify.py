"""Benchmark: access-token verification cost per algorithm.

Every authenticated request pays one verification, so the key ring's default
algorithm is the asymmetric one that verifies fastest at 128-bit security (new
RS256 keys are RSA-3072; ``RS256-2048`` is a key made before that, which still
verifies). This measures both the raw signature check (cryptography) and the whole
``AccessTokens.verify`` (header checks, PyJWT decode, claim checks). Usage::

    uv run python benchmarks/bench_jwt_verify.py [--rounds 5000]
"""

from __future__ import annotations

import argparse
import functools
import timeit
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from jwt.algorithms import RSAAlgorithm

from authkit import SystemClock
from authkit.keys import ALGORITHMS, RSA_KEY_BITS, KeyRing, StaticKeyRingSource
from authkit.tokens import AccessTokenConfig, AccessTokens

MESSAGE = b"x" * 400  # about the size of a signing input of an access token


def _rsa_verifier(bits: int) -> Any:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    signature = key.sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key()
    return lambda: public.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def _raw_verifiers() -> dict[str, Any]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_sig = ec_key.sign(MESSAGE, ec.ECDSA(hashes.SHA256()))
    ed_key = ed25519.Ed25519PrivateKey.generate()
    ed_sig = ed_key.sign(MESSAGE)
    ec_pub, ed_pub = ec_key.public_key(), ed_key.public_key()
    return {
        "RS256": _rsa_verifier(RSA_KEY_BITS),
        "RS256-2048": _rsa_verifier(2048),
        "ES256": lambda: ec_pub.verify(ec_sig, MESSAGE, ec.ECDSA(hashes.SHA256())),
        "EdDSA": lambda: ed_pub.verify(ed_sig, MESSAGE),
    }


def _rings() -> dict[str, KeyRing]:
    """One ring per algorithm as generated today, plus a 2048-bit RS256 ring from before."""
    now = SystemClock().now()
    rings: dict[str, KeyRing] = {alg: KeyRing.generate(alg, now=now) for alg in ALGORITHMS}
    old = RSAAlgorithm.to_jwk(
        rsa.generate_private_key(public_exponent=65537, key_size=2048), as_dict=True
    )
    old.update({"kid": "rsa-2048", "alg": "RS256", "status": "active"})
    old["created_at"] = now.isoformat()
    rings["RS256-2048"] = KeyRing.from_jwk_set({"keys": [old]})
    return dict(sorted(rings.items(), key=lambda item: item[0] != "RS256"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5000)
    rounds = parser.parse_args().rounds
    raw = _raw_verifiers()
    print(f"{'alg':<10} {'raw verify':>12} {'AccessTokens.verify':>20} {'issue (sign)':>14}")
    for alg, ring in _rings().items():
        tokens = AccessTokens(
            StaticKeyRingSource(ring), AccessTokenConfig(issuer="bench", audience="bench")
        )
        token = tokens.issue(subject="user-1", roles=("user",)).token
        verify = functools.partial(tokens.verify, token)
        issue = functools.partial(tokens.issue, subject="user-1", roles=("user",))
        full = min(timeit.repeat(verify, number=rounds, repeat=3)) / rounds
        sign_rounds = max(50, rounds // 20)
        sign = min(timeit.repeat(issue, number=sign_rounds, repeat=3)) / sign_rounds
        raw_us = "-"
        if alg in raw:
            best = min(timeit.repeat(raw[alg], number=rounds, repeat=3)) / rounds
            raw_us = f"{best * 1e6:.1f} µs"
        name = f"{alg}-{RSA_KEY_BITS}" if alg == "RS256" else alg
        print(f"{name:<10} {raw_us:>12} {full * 1e6:>17.1f} µs {sign * 1e6:>11.1f} µs")


if __name__ == "__main__":
    main()
