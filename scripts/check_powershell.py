"""Syntax check of PowerShell scripts without PowerShell: ``check_powershell.py [PATH...]``.

PowerShell is not installable on the CI machine, so every ``*.ps1`` (under the
repository by default, or the files and folders given) is parsed with tree-sitter's
PowerShell grammar. Any ``ERROR`` node (text the grammar cannot place) or
``MISSING`` node (a token the parser had to invent, such as an unclosed brace)
fails the check, printed as ``path:line:col: message`` (1-based). Exit status 0
when every script parses cleanly, 1 otherwise, 2 when there is nothing to check.

A grammar is not the PowerShell parser: this catches broken structure (brackets,
quotes, blocks, here-strings), not unknown cmdlets or runtime errors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import tree_sitter_powershell
from tree_sitter import Language, Node, Parser

ROOT = Path(__file__).resolve().parent.parent
_SKIPPED_DIRS = {".git", ".venv", ".nox", "node_modules", "site"}


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


def _parser() -> Parser:
    return Parser(Language(tree_sitter_powershell.language()))


def _bad_nodes(node: Node) -> Iterator[Node]:
    """ERROR and MISSING nodes, outermost first (an ERROR's insides are not repeated)."""
    if node.is_missing or node.type == "ERROR":
        yield node
        return
    if node.has_error:
        for child in node.children:
            yield from _bad_nodes(child)


def check_source(source: bytes, path: Path) -> list[Problem]:
    """The syntax problems of one script (empty when it parses cleanly)."""
    tree = _parser().parse(source)
    problems = []
    for node in _bad_nodes(tree.root_node):
        line, column = node.start_point.row + 1, node.start_point.column + 1
        if node.is_missing:
            message = f"missing {node.type!r}"
        else:
            text = source[node.start_byte : node.end_byte].decode("utf-8", "replace")
            first = text.strip().splitlines()[0][:60] if text.strip() else ""
            message = f"syntax error near {first!r}"
        problems.append(Problem(path, line, column, message))
    return problems


def scripts_under(paths: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(
                p
                for p in path.rglob("*.ps1")
                if not _SKIPPED_DIRS.intersection(p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def main(argv: Sequence[str]) -> int:
    scripts = scripts_under([Path(a) for a in argv] or [ROOT])
    if not scripts:
        print("check_powershell: no *.ps1 script to check", file=sys.stderr)
        return 2
    problems: list[Problem] = []
    for script in scripts:
        try:
            source = script.read_bytes()
        except OSError as exc:
            problems.append(Problem(script, 1, 1, f"cannot read: {exc.strerror}"))
            continue
        problems += check_source(source, script)
    for problem in problems:
        print(problem)
    print(f"check_powershell: {len(scripts)} script(s), {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
