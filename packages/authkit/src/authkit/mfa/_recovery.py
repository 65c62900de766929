"""Single-use recovery codes: random, shown once, stored only as salted argon2id.

A code is 10 characters from a 31-letter alphabet: about 50 bits, short enough
to type from paper. That is far below the 112 bits under which NIST SP 800-63B
(§5.1.2.2; 800-63B-4 §3.1.2) asks look-up secrets to be stored salted and hashed
with a password hashing scheme: an unsalted fast hash of 50 bits is found by one
GPU in days, and every user's codes at once. So codes are hashed with argon2id,
the password parameters of the config (OWASP's minimum by default). The other
road, codes of 112 bits or more under a keyed hash, was not taken: 23-character
codes are worse to type in the moment they are needed, and a key derived from
the service's secret would make rotating that secret void every code.

One salt per enrolment, shared by its ten codes: checking a code then costs one
argon2 computation (the candidate is looked up, and spent, by one conditional
update, so single use stays atomic), not ten. Sharing a salt within one user
lets an offline attacker test a guess against that user's ten codes at once:
2^50 / 10 argon2id computations per user instead of 2^50, still out of reach.

Stored forms: ``$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`` (PHC string) of
the normalised code; ``sha256$`` followed by such a string for codes issued
before argon2id, whose SHA-256 hex digest the 0004 migration hashed again with
argon2id (OWASP Password Storage: wrap legacy hashes rather than wait for each
code's use), so no fast hash is left in the database.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable

from argon2.exceptions import HashingError
from argon2.low_level import ARGON2_VERSION, Type, hash_secret

from authkit.passwords._hashing import Argon2Parameters

RECOVERY_CODE_COUNT = 10
"""How many recovery codes an enrolment hands out."""
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
_CODE_CHARS = 10
_NORMALISED = re.compile(f"[{_ALPHABET}]{{{_CODE_CHARS}}}")
WRAPPED_SHA256_PREFIX = "sha256$"
"""Marks a code stored before argon2id: argon2id over the SHA-256 hex of the code."""


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """``count`` distinct codes, ``xxxxx-xxxxx``, from the CSPRNG."""
    codes: dict[str, None] = {}
    while len(codes) < count:
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(_CODE_CHARS))
        codes[f"{raw[:5]}-{raw[5:]}"] = None
    return list(codes)


def normalise_recovery_code(code: str) -> str:
    """A recovery code as typed, in the form it was issued: case, spaces and dashes ignored."""
    return code.strip().lower().replace(" ", "").replace("-", "")


class RecoveryCodeHasher:
    """Hashes a set of codes under one fresh salt; finds what a typed code is stored as."""

    def __init__(self, parameters: Argon2Parameters | None = None) -> None:
        self.parameters = parameters or Argon2Parameters()

    def hash_codes(self, codes: Iterable[str]) -> list[str]:
        """The stored forms of ``codes``, under one new salt."""
        salt = secrets.token_bytes(self.parameters.salt_len)
        p = self.parameters
        return [
            _phc(
                normalise_recovery_code(code).encode(),
                salt,
                p.time_cost,
                p.memory_cost,
                p.parallelism,
                hash_len=p.hash_len,
            )
            for code in codes
        ]

    def wrap_legacy_digests(self, digests: Iterable[str]) -> list[str]:
        """The stored forms of one user's legacy SHA-256 hex digests, under one new salt.

        For migrations: argon2id over each digest, marked ``sha256$``, so the codes
        behind them keep working and no fast hash stays in the database.
        """
        salt = secrets.token_bytes(self.parameters.salt_len)
        p = self.parameters
        return [
            WRAPPED_SHA256_PREFIX
            + _phc(
                digest.encode(),
                salt,
                p.time_cost,
                p.memory_cost,
                p.parallelism,
                hash_len=p.hash_len,
            )
            for digest in digests
        ]

    def candidates(self, code: str, stored: Iterable[str]) -> list[str]:
        """Among ``stored``, the forms that ``code`` has (normally none or one).

        One argon2 computation per distinct salt (and scheme) in ``stored``, at
        most ``RECOVERY_CODE_COUNT`` of them; a code that cannot be a recovery code
        (wrong length or letters) costs none.
        """
        normalised = normalise_recovery_code(code)
        if not _NORMALISED.fullmatch(normalised):
            return []
        stored_set = set(stored)
        settings: dict[str, int] = {}
        for value in stored_set:
            prefix, dollar, digest = value.rpartition("$")
            if dollar:
                settings[prefix] = len(_b64decode(digest))
        found = []
        for prefix, hash_len in list(settings.items())[:RECOVERY_CODE_COUNT]:
            candidate = _rehash(normalised, prefix, hash_len)
            if candidate is not None and candidate in stored_set:
                found.append(candidate)
        return found

    def __repr__(self) -> str:
        return f"RecoveryCodeHasher({self.parameters!r})"


def legacy_digest(normalised: str) -> str:
    """The SHA-256 hex digest recovery codes were once stored as (before argon2id)."""
    return hashlib.sha256(normalised.encode()).hexdigest()


def _rehash(normalised: str, prefix: str, hash_len: int) -> str | None:
    """The stored form of ``normalised`` under the scheme, parameters and salt of ``prefix``."""
    secret, wrapped = normalised.encode(), ""
    if prefix.startswith(WRAPPED_SHA256_PREFIX):
        prefix = prefix.removeprefix(WRAPPED_SHA256_PREFIX)
        secret, wrapped = legacy_digest(normalised).encode(), WRAPPED_SHA256_PREFIX
    parts = prefix.split("$")  # ['', 'argon2id', 'v=19', 'm=..,t=..,p=..', salt]
    if len(parts) != 5 or parts[:3] != ["", "argon2id", f"v={ARGON2_VERSION}"]:
        return None
    try:
        params = dict(item.split("=", 1) for item in parts[3].split(","))
        salt = _b64decode(parts[4])
        cost = int(params["t"]), int(params["m"]), int(params["p"])
    except (KeyError, ValueError):
        return None
    try:
        return wrapped + _phc(secret, salt, *cost, hash_len=hash_len)
    except HashingError:  # parameters argon2 refuses: no code of ours
        return None


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except ValueError:
        return b""


def _phc(
    secret: bytes, salt: bytes, time_cost: int, memory_cost: int, parallelism: int, *, hash_len: int
) -> str:
    return hash_secret(
        secret,
        salt,
        time_cost=time_cost,
        memory_cost=memory_cost,
        parallelism=parallelism,
        hash_len=hash_len,
        type=Type.ID,
    ).decode("ascii")


__all__ = [
    "RECOVERY_CODE_COUNT",
    "WRAPPED_SHA256_PREFIX",
    "RecoveryCodeHasher",
    "legacy_digest",
    "new_recovery_codes",
    "normalise_recovery_code",
]
