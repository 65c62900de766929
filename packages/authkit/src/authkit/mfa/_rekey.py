"""Re-encrypt every stored TOTP secret under the current MFA key.

``SecretBox`` decrypts with every configured key and encrypts with the first, so
rotating the key (new key first, old ones after) keeps old secrets readable but
leaves them under the old key until their user enrols again. ``rekey_secrets``
moves them all: each secret is decrypted with whichever key opens it and written
back under the current one with a compare-and-set, so a secret the user replaced
meanwhile is left alone. Running it twice changes nothing the second time. When
it reports no secret left under an old key, the old key can be removed from the
configuration (NIST SP 800-57 Part 1 §5.3: a key's use ends with its cryptoperiod).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from authkit.audit._sink import AuditSink
from authkit.errors import ConfigurationError
from authkit.mfa._secret_box import SecretBox
from authkit.mfa._store import MfaStore

DEFAULT_BATCH = 500


@dataclass(frozen=True, kw_only=True)
class RekeyReport:
    """What one ``rekey_secrets`` run did, by count.

    ``examined`` secrets were read; ``rekeyed`` were re-encrypted; ``current``
    were already under the current key; ``changed`` were replaced by their user
    during the run (so already under the current key) and skipped;
    ``undecryptable`` lists the user ids whose secret no configured key opens.
    """

    examined: int = 0
    rekeyed: int = 0
    current: int = 0
    changed: int = 0
    undecryptable: tuple[str, ...] = field(default=())

    @property
    def complete(self) -> bool:
        """True when every secret is now under the current key."""
        return not self.undecryptable


def rekey_secrets(
    *, store: MfaStore, box: SecretBox, audit: AuditSink, batch_size: int = DEFAULT_BATCH
) -> RekeyReport:
    """Re-encrypt every stored TOTP secret (pending or enabled) under ``box``'s current key.

    Idempotent, safe beside running servers (sign-ins keep decrypting with any
    key; a concurrent enrolment wins over the re-encryption), and audited as one
    ``mfa.rekey`` event with the counts: ``success``, or ``failure`` when some
    secret could not be decrypted (those are left untouched and listed).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1.")
    examined = rekeyed = current = changed = 0
    undecryptable: list[str] = []
    after: str | None = None
    while True:
        page = store.encrypted_secrets(after=after, limit=batch_size)
        for user_id, ciphertext in page:
            examined += 1
            if box.is_current(ciphertext):
                current += 1
                continue
            try:
                fresh = box.rotate(ciphertext)
            except ConfigurationError:
                undecryptable.append(user_id)
                continue
            if store.replace_secret(user_id, ciphertext, fresh):
                rekeyed += 1
            else:
                changed += 1
        if len(page) < batch_size:
            break
        after = page[-1][0]
    report = RekeyReport(
        examined=examined,
        rekeyed=rekeyed,
        current=current,
        changed=changed,
        undecryptable=tuple(undecryptable),
    )
    audit.log(
        "mfa.rekey",
        outcome="success" if report.complete else "failure",
        examined=examined,
        rekeyed=rekeyed,
        current=current,
        changed=changed,
        undecryptable=len(undecryptable),
        target_ids=list(undecryptable),
    )
    return report


__all__ = ["DEFAULT_BATCH", "RekeyReport", "rekey_secrets"]
