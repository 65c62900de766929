"""The CLI reference is generated from the ``flight-app`` parser: every command is on it."""

from __future__ import annotations

import argparse
import html
from pathlib import Path

from flight_app.cli import _parser


def command_names() -> list[str]:
    parser = _parser()
    names = ["flight-app"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            names += [f"flight-app {name}" for name in action.choices]
    return names


def test_every_command_and_option_is_on_the_page(built_site: Path) -> None:
    page = html.unescape((built_site / "cli" / "index.html").read_text(encoding="utf-8"))
    assert len(command_names()) >= 6, "serve, migrate, seed, purge-tokens, keys at least"
    for name in command_names():
        assert f"<code>{name}</code>" in page, name
    for option in ("--workers", "--compromised", "--tail"):
        assert option in page, option
