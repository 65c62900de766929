"""Create the secret files ``compose.yaml`` mounts: ``python3 scripts/make_compose_secrets.py``.

Each file in ``./secrets/`` (or the folder given as the one argument) is one compose
secret, mounted in ``/run/secrets`` and read by the app through
``FLIGHT_APP_SECRETS_DIR`` (a file named like the setting). Values are random
(``secrets.token_urlsafe``, 48 bytes: 64 characters, well past prod's 32-character
minimum for the pseudonym key); ``database_url`` is built from the generated
PostgreSQL password so the two always agree.

Existing files are kept, never overwritten: rerunning only fills in what is
missing, and a key that already protects data (the pseudonym key, the MFA
encryption key) is not replaced by accident. Nothing is printed but file names.

The folder is made 0700 (only you, on the host); the files 0644, because compose
bind-mounts them unchanged into containers whose users (uid 10001 for the app,
999 for PostgreSQL) are not you. Standard library only: runs with any Python 3.11.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Final

# The PostgreSQL role, database and host of compose.yaml (service "postgres").
DB_USER: Final = "flight"
DB_NAME: Final = "flight"
DB_HOST: Final = "postgres:5432"

RANDOM_SECRETS: Final = (
    "secret_key",
    "pseudonym_key",
    "mfa_encryption_key",
    "metrics_token",
    "admin_password",
    "postgres_password",
)
"""Secrets that are simply random; ``database_url`` is derived from ``postgres_password``."""

ALL_SECRETS: Final = (*RANDOM_SECRETS, "database_url")


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    os.chmod(path, 0o644)  # whatever the umask: the containers' users must read it


def make_secrets(folder: Path) -> list[str]:
    """Create the missing secret files in ``folder``; the names created, in order."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    created: list[str] = []
    for name in RANDOM_SECRETS:
        if not (folder / name).exists():
            _write(folder / name, secrets.token_urlsafe(48))
            created.append(name)
    if not (folder / "database_url").exists():
        password = (folder / "postgres_password").read_text(encoding="utf-8").rstrip("\r\n")
        # token_urlsafe needs no escaping in a URL; a hand-written password might.
        url = f"postgresql+psycopg://{DB_USER}:{password}@{DB_HOST}/{DB_NAME}"
        _write(folder / "database_url", url)
        created.append("database_url")
    return created


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        print("usage: make_compose_secrets.py [FOLDER]  (default: ./secrets)", file=sys.stderr)
        return 2
    folder = Path(argv[0] if argv else "secrets")
    created = make_secrets(folder)
    for name in ALL_SECRETS:
        state = "created" if name in created else "kept"
        print(f"{folder / name}: {state}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
