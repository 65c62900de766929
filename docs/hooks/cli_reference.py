"""MkDocs hook: the CLI reference, generated from the ``flight-app`` argument parser.

``docs/cli.md`` holds the marker ``<!-- cli-reference -->``; at build time it is
replaced by the ``--help`` text of ``flight-app`` and of each of its commands, so
a new command or option shows up without touching the page.
"""

from __future__ import annotations

import argparse
from typing import Any

MARKER = "<!-- cli-reference -->"
PAGE = "cli.md"
WIDTH = 88


def _help(parser: argparse.ArgumentParser) -> str:
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=WIDTH)
    return parser.format_help().rstrip()


def commands() -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """``flight-app`` and each command: its one-line summary and its parser, in order."""
    from flight_app import cli

    parser = cli._parser()
    found = {"flight-app": (parser.description or "", parser)}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            summaries = {a.dest: a.help or "" for a in action._choices_actions}
            for name, sub in action.choices.items():
                found[f"flight-app {name}"] = (summaries.get(name, ""), sub)
    return found


def render() -> str:
    """One section per command: its summary, then its help text."""
    parts: list[str] = []
    for name, (summary, parser) in commands().items():
        summary = summary.replace("``", "`")
        parts += [f"### `{name}`", "", f"{summary[:1].upper()}{summary[1:]}.".replace("..", ".")]
        parts += ["", "```text", _help(parser), "```", ""]
    return "\n".join(parts)


def on_page_markdown(markdown: str, *, page: Any, **_: Any) -> str:
    """Replace the marker of the CLI page with the generated help texts."""
    if page.file.src_uri != PAGE:
        return markdown
    if markdown.count(MARKER) != 1:
        raise ValueError(f"{PAGE} must hold {MARKER} exactly once")
    return markdown.replace(MARKER, render())
