"""The one-way dependency rule: flight_app -> authkit_flask -> authkit.

Checked on the source text (every import statement, at any depth), so a lazy
import inside a function cannot slip past, and without importing anything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "packages/authkit/src/authkit": {
        "flask",
        "werkzeug",
        "authkit_flask",
        "flight_app",
        "gunicorn",
        "jinja2",
    },
    "packages/authkit-flask/src/authkit_flask": {"flight_app"},
}


def _imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_outer_layers(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no sources found under {package}"
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_checker_sees_nested_imports(tmp_path: Path) -> None:
    """The checker itself catches an import hidden inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from flask import g\n    import werkzeug.exceptions\n")
    assert _imported_roots(sample) == {"flask", "werkzeug"}
