"""Keyed pseudonyms for identifiers that must not appear in the audit log.

The audit log has to answer "did the same account (or the same address) do this
again?" without storing the email, username or IP address itself (GDPR Art. 4(5)
and Art. 25: pseudonymisation and data minimisation). A plain hash is not enough:
the space of emails and IPv4 addresses is small enough to enumerate, so the
pseudonym is a keyed HMAC-SHA256 (RFC 2104) and only someone holding the key can
link a value to its pseudonym.

Each kind of value ("user", "ip", ...) gets its own subkey derived from the master
key, so the pseudonym of the username ``10.0.0.1`` never equals the pseudonym of
the address ``10.0.0.1``: a value can only be correlated within its kind.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import unicodedata
from typing import Final

from authkit.errors import ConfigurationError

MIN_KEY_BYTES: Final = 16
"""128 bits: below this the HMAC key could be brute-forced offline (NIST SP 800-107)."""

DIGEST_BYTES: Final = 16
"""128 bits of the HMAC output: collisions stay negligible for any realistic log."""

_KIND_RE: Final = re.compile(r"[a-z][a-z0-9]{0,15}")
_DERIVATION_LABEL: Final = b"authkit.audit.pseudonym.v1\x00"


def _normalise_ip(value: str) -> str:
    """The canonical text of an IP address, so one address has one pseudonym.

    ``::ffff:192.0.2.1`` (IPv4-mapped, as dual-stack sockets report it) and
    ``192.0.2.1`` are one client; ``2001:DB8::1`` and ``2001:db8:0::1`` are one too.
    Anything that is not an address is treated as an opaque identifier.
    """
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return value.casefold()
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.compressed


def normalise(value: str, *, kind: str) -> str:
    """The form of ``value`` that is pseudonymised.

    Identifiers are matched case-insensitively elsewhere in authkit (throttling,
    sign-in by email), so ``Alice@Example.com `` and ``alice@example.com`` must give
    one pseudonym: NFKC, strip, then casefold (Unicode's caseless matching).
    """
    text = unicodedata.normalize("NFKC", value).strip()
    if kind == "ip":
        return _normalise_ip(text)
    return text.casefold()


class Pseudonymizer:
    """Turns identifiers into stable, keyed, non-reversible pseudonyms.

    The same key gives the same pseudonym across processes and restarts, which is
    what makes the log useful; changing the key breaks the link with older lines
    (a deliberate way to forget). The key never shows in ``repr`` or ``str``.
    """

    __slots__ = ("_key", "_subkeys")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes | bytearray):
            raise ConfigurationError("The pseudonymisation key must be bytes.")
        if len(key) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"The pseudonymisation key must be at least {MIN_KEY_BYTES} bytes."
            )
        self._key = bytes(key)
        self._subkeys: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return "Pseudonymizer(key=<redacted>)"

    def _subkey(self, kind: str) -> bytes:
        subkey = self._subkeys.get(kind)
        if subkey is None:
            if not _KIND_RE.fullmatch(kind):
                raise ValueError("kind must be 1-16 lowercase letters or digits, e.g. 'user'.")
            label = _DERIVATION_LABEL + kind.encode("ascii")
            subkey = hmac.new(self._key, label, hashlib.sha256).digest()
            self._subkeys[kind] = subkey
        return subkey

    def pseudonymize(self, value: str, *, kind: str) -> str:
        """``<kind>_<32 hex digits>``: the kind prefix keeps pseudonyms self-describing."""
        message = normalise(value, kind=kind).encode("utf-8", "surrogatepass")
        digest = hmac.new(self._subkey(kind), message, hashlib.sha256).digest()
        return f"{kind}_{digest[:DIGEST_BYTES].hex()}"


__all__ = ["MIN_KEY_BYTES", "Pseudonymizer", "normalise"]
