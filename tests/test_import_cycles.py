"""No import cycles inside any package, found by walking the imports with ast.

A cycle makes import order matter (a module sees its partner half-initialised),
which is how the old ``service`` <-> ``service_mfa`` pair was held together by a
``TYPE_CHECKING`` import. Every import counts, at any depth: a lazy import inside a
function still ties the two modules together.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "authkit": ROOT / "packages/authkit/src/authkit",
    "authkit_flask": ROOT / "packages/authkit-flask/src/authkit_flask",
    "flight_app": ROOT / "examples/flight_app/src/flight_app",
}


def module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules_of(package: str) -> dict[str, Path]:
    root = PACKAGES[package]
    return {module_name(package, root, p): p for p in sorted(root.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The package's own modules that ``name`` imports (``from x import y`` may name a module)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            # ``from pkg import submodule`` is an edge to the submodule, else to ``pkg``.
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def import_graph(package: str) -> dict[str, set[str]]:
    modules = modules_of(package)
    known = set(modules)
    return {name: set(imports_of(name, path, known)) for name, path in modules.items()}


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_package_has_no_import_cycle(package: str) -> None:
    graph = import_graph(package)
    assert len(graph) > 3, f"no modules found for {package}"
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_checker_finds_a_planted_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A lazy import inside a function that closes a loop is reported."""
    pkg = tmp_path / "planted"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from planted.b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from planted import a\n    return a\n")
    (pkg / "c.py").write_text("from . import a\n")
    monkeypatch.setitem(PACKAGES, "planted", pkg)
    assert find_cycle(import_graph("planted")) == ["planted.a", "planted.b", "planted.a"]


def test_the_checker_accepts_a_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "tree"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from tree.a import x\n")
    (pkg / "a.py").write_text("from tree._b import y\nx = y\n")
    (pkg / "_b.py").write_text("y = 1\n")
    monkeypatch.setitem(PACKAGES, "tree", pkg)
    assert find_cycle(import_graph("tree")) is None
