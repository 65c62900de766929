"""The offline common-password check.

NIST SP 800-63B-4 §3.1.1.2 has verifiers compare new passwords against a blocklist of
commonly used, expected or compromised values. This one works without the network:
30,000 real leaked passwords (the zxcvbn frequency list, see ``data/README.md``),
lower-cased and matched case-insensitively, so ``PaSsWoRd`` is as weak as ``password``.
The file is read through ``importlib.resources`` (so it works from a wheel or a zip)
once, on first use, into a frozenset: importing authkit stays cheap.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass, field
from importlib import resources

_DATA_DIR = "data"
_DATA_FILE = "common-passwords.txt"


@functools.cache
def load_common_passwords() -> frozenset[str]:
    """The packaged list, lower-cased; loaded once per process."""
    text = (
        resources.files("authkit.passwords")
        .joinpath(_DATA_DIR)
        .joinpath(_DATA_FILE)
        .read_text(encoding="utf-8")
    )
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def _fold(password: str) -> str:
    return unicodedata.normalize("NFC", password).lower()


@dataclass(frozen=True, kw_only=True, slots=True)
class CommonPasswordList:
    """A ``PasswordChecker`` backed by a set of common passwords (the packaged list by default).

    Pass ``passwords`` to use an organisation's own list instead; it is matched the
    same way (NFC, lower case).
    """

    passwords: frozenset[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.passwords is not None:
            object.__setattr__(self, "passwords", frozenset(_fold(p) for p in self.passwords))

    def is_compromised(self, password: str) -> bool:
        """Whether the password, ignoring case, is on the list."""
        known = load_common_passwords() if self.passwords is None else self.passwords
        return _fold(password) in known


def is_common_password(password: str) -> bool:
    """Whether the password, ignoring case, is on the packaged list."""
    return _fold(password) in load_common_passwords()


__all__ = ["CommonPasswordList", "is_common_password", "load_common_passwords"]
