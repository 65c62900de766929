"""The API reference lists 100% of the public surface, each name with a docstring.

The public surface is the snapshot ``tests/public_surface.json`` (kept honest by
``tests/test_public_surface.py``). The reference pages render it with
mkdocstrings' ``:::`` directives; what the built site really rendered is its
``objects.inv`` inventory, so that is what is compared, not the page sources.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import griffe
from mkdocstrings import Inventory

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "public_surface.json"
REFERENCE = ROOT / "docs" / "reference"
DIRECTIVE = re.compile(r"^:::\s+(\S+)\s*$", re.M)
SOURCES = ["packages/authkit/src", "packages/authkit-flask/src"]


def surface() -> dict[str, list[str]]:
    loaded: dict[str, list[str]] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return loaded


def test_every_public_namespace_has_a_directive() -> None:
    declared = {
        name
        for page in REFERENCE.glob("*.md")
        for name in DIRECTIVE.findall(page.read_text(encoding="utf-8"))
    }
    assert declared == set(surface())


def test_every_public_name_is_rendered(built_site: Path) -> None:
    with (built_site / "objects.inv").open("rb") as file:
        rendered = set(Inventory.parse_sphinx(file))
    missing = [
        f"{namespace}.{name}"
        for namespace, names in surface().items()
        for name in names
        if f"{namespace}.{name}" not in rendered
    ]
    assert missing == []
    total = sum(len(names) for names in surface().values())
    assert total > 200, "the snapshot was read"


def test_every_public_name_has_a_docstring() -> None:
    """A class, function, constant or namespace without one renders as a bare name."""
    loader = griffe.GriffeLoader(search_paths=[str(ROOT / p) for p in SOURCES])
    packages = {name: loader.load(name) for name in ("authkit", "authkit_flask")}
    loader.resolve_aliases(implicit=False)
    missing = []
    for namespace, names in surface().items():
        top, _, rest = namespace.partition(".")
        module = packages[top][rest] if rest else packages[top]
        if not module.docstring:
            missing.append(namespace)
        for name in names:
            member = module[name]
            target = member.final_target if member.is_alias else member
            if not target.docstring or not target.docstring.value.strip():
                missing.append(f"{namespace}.{name}")
    assert missing == []
