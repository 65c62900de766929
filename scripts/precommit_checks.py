"""Offline stand-ins for the pre-commit-hooks checks, run by ``.pre-commit-config.yaml``.

The upstream hooks live in a git repository that pre-commit would clone; every hook
here is ``repo: local`` so that committing works without reaching a git host. Each
subcommand takes file names, like the upstream hook of the same name:

    trailing-whitespace  strip spaces and tabs at line ends (fixes in place)
    end-of-file          end every non-empty file with exactly one newline (fixes in place)
    check-yaml           every YAML document parses; duplicate keys are errors
    check-toml           every file parses as TOML
    sync-contributing    docs/contributing.md mirrors CONTRIBUTING.md (fixes in place)

A fixer exits 1 when it changed a file, so the commit stops and the fix can be
reviewed and staged; a checker exits 1 on the first problem of each file.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]

_LINE_END_WHITESPACE = b" \t\f\v"
_MIRRORS = ((Path("CONTRIBUTING.md"), Path("docs/contributing.md")),)


def _fix_trailing_whitespace(path: Path) -> bool:
    """Strip whitespace before each line ending; keep the line endings as they are."""
    original = path.read_bytes()
    lines = original.splitlines(keepends=True)
    fixed = bytearray()
    for line in lines:
        body = line.rstrip(b"\r\n")
        fixed += body.rstrip(_LINE_END_WHITESPACE) + line[len(body) :]
    if bytes(fixed) == original:
        return False
    path.write_bytes(bytes(fixed))
    print(f"Fixing trailing whitespace in {path}")
    return True


def _fix_end_of_file(path: Path) -> bool:
    """An empty file stays empty; any other ends with exactly one line ending."""
    original = path.read_bytes()
    body = original.rstrip(b"\r\n")
    if not body:
        fixed = b""
    else:
        newline = b"\r\n" if original[len(body) :].startswith(b"\r\n") else b"\n"
        fixed = body + newline
    if fixed == original:
        return False
    path.write_bytes(fixed)
    print(f"Fixing end of file in {path}")
    return True


def _duplicate_keys(node: Any) -> list[str]:
    """Scalar keys that appear twice in one mapping, anywhere under ``node``."""
    found: list[str] = []
    stack = [node]
    seen_nodes: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen_nodes:  # anchors and aliases share nodes
            continue
        seen_nodes.add(id(current))
        if isinstance(current, yaml.MappingNode):
            keys: set[tuple[str, str]] = set()
            for key_node, value_node in current.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    key = (key_node.tag, key_node.value)
                    if key in keys:
                        mark = key_node.start_mark
                        found.append(f"line {mark.line + 1}: duplicate key {key_node.value!r}")
                    keys.add(key)
                stack += [key_node, value_node]
        elif isinstance(current, yaml.SequenceNode):
            stack += current.value
    return found


def _check_yaml(path: Path) -> bool:
    """Every document parses and no mapping repeats a key.

    Documents are composed, not constructed: tags that only an application knows
    (mkdocs' ``!ENV``, ``!!python/name:...``) are syntax here, never executed.
    """
    try:
        with path.open("rb") as handle:
            documents = list(yaml.compose_all(handle, Loader=yaml.SafeLoader))
    except yaml.YAMLError as exc:
        print(f"{path}: invalid YAML\n{exc}")
        return True
    problems = [problem for document in documents for problem in _duplicate_keys(document)]
    for problem in problems:
        print(f"{path}: {problem}")
    return bool(problems)


def _check_toml(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        print(f"{path}: invalid TOML: {exc}")
        return True
    return False


def _sync_mirrors(_path: Path | None = None) -> bool:
    """Copy each source over its mirror when they differ (paths from the repo root)."""
    changed = False
    for source, mirror in _MIRRORS:
        if not source.is_file():
            continue
        content = source.read_bytes()
        if mirror.is_file() and mirror.read_bytes() == content:
            continue
        mirror.parent.mkdir(parents=True, exist_ok=True)
        mirror.write_bytes(content)
        print(f"Updating {mirror} from {source}")
        changed = True
    return changed


_PER_FILE: dict[str, Callable[[Path], bool]] = {
    "trailing-whitespace": _fix_trailing_whitespace,
    "end-of-file": _fix_end_of_file,
    "check-yaml": _check_yaml,
    "check-toml": _check_toml,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("check", choices=[*_PER_FILE, "sync-contributing"])
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.check == "sync-contributing":
        return int(_sync_mirrors())
    failed = False
    for path in args.files:
        try:
            failed |= _PER_FILE[args.check](path)
        except OSError as exc:
            print(f"{path}: cannot read ({exc.strerror})")
            failed = True
    return int(failed)


if __name__ == "__main__":
    sys.exit(main())
