"""``flight-app``: the one command-line entry point of the reference app.

serve        migrate, seed, then serve with gunicorn (SIGTERM shuts down gracefully)
migrate      Alembic upgrade to head
seed         create the default admin (and demo user in dev) if absent
purge-tokens delete expired and revoked refresh tokens
keys         list | rotate | retire the signing keys (retire --kid K --compromised:
             the emergency retirement of a leaked key, at once)
mfa rekey    re-encrypt every stored TOTP secret under the current MFA key
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Final

from authkit import AuthkitError
from authkit.errors import WeakPassword
from authkit.keys import KeyRing, KeyStatus
from authkit.live import JsonlFollower
from flight_app import migrate as migrations
from flight_app.components import build_components
from flight_app.logging_setup import configure_logging
from flight_app.seed import seed
from flight_app.settings import Settings, SettingsError, load_settings

logger = logging.getLogger("flight_app.cli")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``flight-app`` with ``argv`` (default: the process's); returns the exit status.

    Invalid settings give status 2 and a message naming each offending variable.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    _export_overrides(args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"flight-app: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        result: int = args.handler(settings, args)
    except WeakPassword as exc:
        rules = "; ".join(e["message"] for e in exc.errors)
        print(f"flight-app: a configured password is too weak: {rules}", file=sys.stderr)
        return 2
    except AuthkitError as exc:
        print(f"flight-app: {exc.message}", file=sys.stderr)
        return 2
    except migrations.NotMigrated as exc:
        print(f"flight-app: {exc}", file=sys.stderr)
        return 2
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flight-app", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, seed and serve with gunicorn")
    serve.add_argument("--host", help="bind address (FLIGHT_APP_HOST)")
    serve.add_argument("--port", type=int, help="port (FLIGHT_APP_PORT)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (FLIGHT_APP_WORKERS)")
    serve.add_argument("--threads", type=int, help="threads per worker (FLIGHT_APP_THREADS)")
    serve.add_argument(
        "--tail", action="store_true", help="serve in the background and stream the log"
    )
    serve.set_defaults(handler=_serve)

    sub.add_parser("migrate", help="upgrade the database to head").set_defaults(handler=_migrate)
    sub.add_parser("seed", help="create default accounts if absent").set_defaults(handler=_seed)
    sub.add_parser("purge-tokens", help="delete dead refresh tokens").set_defaults(
        handler=_purge_tokens
    )

    keys = sub.add_parser("keys", help="manage the signing key ring")
    keys.add_argument("action", choices=["list", "rotate", "retire"])
    keys.add_argument("--kid", help="with retire: the one key to retire (never the active one)")
    keys.add_argument(
        "--compromised",
        action="store_true",
        help="with retire --kid: the key leaked; retire it now, skipping the dual-key "
        "window (the active key is replaced first); tokens it signed stop working",
    )
    keys.add_argument(
        "--yes", action="store_true", help="with --compromised: do not ask for confirmation"
    )
    keys.set_defaults(handler=_keys)

    mfa = sub.add_parser("mfa", help="manage stored two-factor secrets")
    mfa.add_argument(
        "action",
        choices=["rekey"],
        help="rekey: re-encrypt every TOTP secret under the first FLIGHT_APP_MFA_ENCRYPTION_KEY",
    )
    mfa.set_defaults(handler=_mfa)
    return parser


def _export_overrides(args: argparse.Namespace) -> None:
    """CLI flags become FLIGHT_APP_* variables so gunicorn's workers see them too."""
    for name in ("host", "port", "workers", "threads"):
        value = getattr(args, name, None)
        if value is not None:
            os.environ[f"FLIGHT_APP_{name.upper()}"] = str(value)


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrations.upgrade(settings.effective_database_url)
    logger.info("database migrated to head")
    print("Database is at the newest schema.")
    return 0


def _seed(settings: Settings, _args: argparse.Namespace) -> int:
    migrations.require_head(settings.effective_database_url)
    components = build_components(settings)
    try:
        report = seed(settings, components.kit)
    finally:
        components.close()
    for name in report.created:
        print(f"Created user {name!r}.")
    for name in report.skipped:
        print(f"User {name!r} exists; skipped.")
    for name, password in report.generated_passwords.items():
        print(f"Generated password for {name!r} (shown once): {password}")
    return 0


def _purge_tokens(settings: Settings, _args: argparse.Namespace) -> int:
    migrations.require_head(settings.effective_database_url)
    components = build_components(settings)
    try:
        removed = components.kit.auth.refresh_tokens.purge()
        links = components.kit.account.tokens.purge()
    finally:
        components.close()
    logger.info("purged refresh tokens", extra={"removed": removed, "links_removed": links})
    print(f"Removed {removed} expired or revoked refresh tokens.")
    print(f"Removed {links} expired emailed links.")
    return 0


def _keys(settings: Settings, args: argparse.Namespace) -> int:
    """List, rotate or retire signing keys; running workers pick the change up.

    The core's ``KeyManager`` does the work: under the ring file's lock, written
    atomically, audited as ``keys.rotate`` / ``keys.retire``.
    """
    if args.compromised and (args.action != "retire" or not args.kid):
        print("flight-app: --compromised goes with: keys retire --kid KID", file=sys.stderr)
        return 2
    components = build_components(settings)
    try:
        keys = components.kit.keys
        if args.compromised:
            if not _confirm_compromised(keys.current(), args.kid, assume_yes=args.yes):
                return 2
            active = keys.current().active.kid
            removed = keys.retire(kid=args.kid, compromised=True)
            print(f"Retired compromised key {', '.join(removed)} immediately.")
            if args.kid == active:
                print(f"{keys.current().active.kid} is the new active key.")
        elif args.action == "rotate":
            demoted = keys.current().active.kid
            ring = keys.rotate()
            print(f"Rotated: {ring.active.kid} signs now; {demoted} verifies until retired.")
        elif args.action == "retire":
            removed = keys.retire(kid=args.kid)
            print(f"Retired {len(removed)} key(s): {', '.join(removed) or '-'}")
        if args.action != "list":
            logger.log(
                logging.WARNING if args.compromised else logging.INFO,
                "signing key ring %s",
                "rotated" if args.action == "rotate" else "retired",
                extra={
                    "action": args.action,
                    "kid": keys.current().active.kid,
                    "compromised": args.compromised,
                },
            )
        retirable = {k.kid for k in keys.retirable()}
        for key in keys.current().keys:
            note = " (retirable)" if key.kid in retirable else ""
            print(f"{key.kid}\t{key.alg}\t{key.status.value}\t{key.created_at.isoformat()}{note}")
    finally:
        components.close()
    return 0


def _mfa(settings: Settings, _args: argparse.Namespace) -> int:
    """``mfa rekey``: the core re-encrypts; exit 1 if some secret no key opens."""
    migrations.require_head(settings.effective_database_url)
    components = build_components(settings)
    try:
        report = components.kit.mfa.rekey_secrets()
    finally:
        components.close()
    counts = {
        "examined": report.examined,
        "rekeyed": report.rekeyed,
        "current": report.current,
        "changed": report.changed,
        "undecryptable": len(report.undecryptable),
    }
    logger.log(
        logging.INFO if report.complete else logging.WARNING,
        "mfa secrets re-encrypted",
        extra=counts,
    )
    print(
        f"Re-encrypted {report.rekeyed} of {report.examined} TOTP secret(s) under the current "
        f"MFA key; {report.current} already were, {report.changed} changed meanwhile (skipped)."
    )
    if not report.complete:
        print(
            f"flight-app: {len(report.undecryptable)} TOTP secret(s) could not be decrypted "
            "with any configured MFA key (user ids: "
            f"{', '.join(report.undecryptable)}); keep the key that encrypted them listed "
            "in FLIGHT_APP_MFA_ENCRYPTION_KEY.",
            file=sys.stderr,
        )
        return 1
    return 0


def _confirm_compromised(ring: KeyRing, kid: str, *, assume_yes: bool) -> bool:
    """Say loudly what an emergency retirement does; go on only when confirmed.

    Confirmation is typing the kid back at a terminal, or ``--yes``. Without a
    terminal and without ``--yes`` it refuses: a script must say so explicitly.
    """
    key = next((k for k in ring.keys if k.kid == kid), None)
    if key is None:
        print(f"flight-app: no key with kid {kid!r} in the ring.", file=sys.stderr)
        return False
    active = key.status is KeyStatus.ACTIVE
    print(
        "\n".join(
            [
                "!" * 72,
                f"EMERGENCY: retiring key {kid} ({key.alg}, {key.status.value}) as COMPROMISED.",
                "It is removed now, without waiting for the dual-key window:",
                "  - every access token it signed stops working on every worker within",
                "    about a second; clients must refresh (their sessions are kept);",
                *(
                    ["  - it is the ACTIVE key: a new key is generated and signs from now on;"]
                    if active
                    else []
                ),
                "  - relying parties that cached the JWKS may accept it for up to 5 minutes.",
                "!" * 72,
            ]
        ),
        file=sys.stderr,
    )
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        print(
            "flight-app: refusing without confirmation: run it at a terminal, or add --yes.",
            file=sys.stderr,
        )
        return False
    answer = input(f"Type the kid ({kid}) to retire it now: ").strip()
    if answer != kid:
        print("flight-app: not confirmed; nothing changed.", file=sys.stderr)
        return False
    return True


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    if settings.limits_per_process:
        # prod refuses this in the settings; elsewhere it is worth a loud line.
        message = (
            f"rate limits are counted per process (memory://) while {settings.workers} "
            "workers serve: each allows the whole budget; set "
            "FLIGHT_APP_RATELIMIT_STORAGE_URL=redis://... to share them"
        )
        print(f"flight-app: warning: {message}", file=sys.stderr, flush=True)
        logger.warning(message)
    migrations.upgrade(settings.effective_database_url)
    components = build_components(settings)
    try:
        report = seed(settings, components.kit)
    finally:
        components.close()
    for name, password in report.generated_passwords.items():
        print(f"Generated password for {name!r} (shown once): {password}")
    _prepare_metrics_dir(settings.instance_path / "prometheus")
    url = f"http://{settings.host}:{settings.port}"
    print(f"Starting flight-app ({settings.app_env}) at {url}", flush=True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        "python:flight_app.gunicorn_conf",
        "flight_app.wsgi:app",
    ]
    if not args.tail:
        # gunicorn takes over the process (and its signals) with our own interpreter.
        os.execv(sys.executable, command)  # noqa: S606
    return _serve_tailing(command, settings.effective_log_dir / "system.jsonl")


def _prepare_metrics_dir(folder: Path) -> None:
    """A fresh multiprocess folder for prometheus_client, exported before gunicorn forks."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


TAIL_POLL_INTERVAL: Final = 0.2
"""Seconds between two looks at the log while tailing."""


def _serve_tailing(command: list[str], log_path: Path) -> int:
    """Run gunicorn as a child and stream the system log until it exits.

    The log is followed with authkit's ``JsonlFollower`` (``tail -F`` by file
    identity), not by comparing sizes: lines written just before a rotation are
    read from the old file before the new one is opened, and only whole lines are
    printed, so a UTF-8 character split across two reads comes out intact.
    """
    with JsonlFollower(log_path) as follower:
        follower.poll()  # open at the current end: only what this server writes is shown
        child = subprocess.Popen(command)  # noqa: S603 - our own interpreter and arguments

        def forward(signum: int, _frame: object) -> None:
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        while child.poll() is None:
            _print_new_lines(follower, sys.stdout.buffer)
            time.sleep(TAIL_POLL_INTERVAL)
        _print_new_lines(follower, sys.stdout.buffer)
    return child.returncode


def _print_new_lines(follower: JsonlFollower, out: BinaryIO) -> int:
    """Write the complete lines appended since the last call to ``out``; how many.

    Bytes go out as UTF-8 whatever the terminal's locale, as the log holds them.
    """
    lines = follower.poll()
    if lines:
        out.write("".join(f"{line}\n" for line in lines).encode("utf-8", "backslashreplace"))
        out.flush()
    return len(lines)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
