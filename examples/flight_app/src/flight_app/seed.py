"""``flight-app seed``: idempotent creation of the default accounts.

Creates the admin (and, in dev, a demo user) only when absent. Every run logs what
it created or skipped, naming the account by its seed slot (``admin``, ``demo``),
never by its username: the system log is kept and shipped like any other, and a
configured username is personal data (``docs/privacy.md``). The terminal, which
only the operator sees, gets the names; a generated password is printed there
once and never logged.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field

from authkit import Authkit
from authkit.roles import ADMIN, USER
from flight_app.settings import Settings

logger = logging.getLogger("flight_app.seed")


@dataclass
class SeedReport:
    """What ``seed`` did: accounts created, accounts skipped, and passwords it generated."""

    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    generated_passwords: dict[str, str] = field(default_factory=dict, repr=False)


def generate_password() -> str:
    """A random password that satisfies every preset policy (24+ chars, mixed classes)."""
    return secrets.token_urlsafe(18) + "-A9b"


def seed(settings: Settings, kit: Authkit) -> SeedReport:
    """Create the admin (and the demo user in ``dev``) if absent; idempotent.

    A password not set in the settings is generated and returned in the report, to be printed once
    and never logged.
    """
    report = SeedReport()
    accounts: list[tuple[str, str, str | None, tuple[str, ...]]] = [
        (
            "admin",
            settings.admin_username,
            settings.admin_password.get_secret_value() if settings.admin_password else None,
            (ADMIN, USER),
        )
    ]
    if settings.demo_user and settings.app_env == "dev":
        accounts.append(
            (
                "demo",
                settings.demo_username,
                settings.demo_password.get_secret_value() if settings.demo_password else None,
                (USER,),
            )
        )
    for slot, username, password, roles in accounts:
        if kit.stores.users.find_by_login(username) is not None:
            report.skipped.append(username)
            logger.info("seed skipped existing user", extra={"account": slot})
            continue
        if password is None:
            password = generate_password()
            report.generated_passwords[username] = password
        user = kit.auth.create_user(
            username=username,
            email=f"{username}@flight-app.example",
            password=password,
            roles=roles,
        )
        # The operator made these accounts, at an address no one receives mail at:
        # they count as verified, or FLIGHT_APP_REQUIRE_VERIFIED_EMAIL would lock
        # the seeded admin out.
        kit.stores.users.mark_email_verified(user.id, email=user.email, at=kit.clock.now())
        report.created.append(username)
        logger.info("seed created user", extra={"account": slot, "roles": list(roles)})
    return report


__all__ = ["SeedReport", "generate_password", "seed"]
