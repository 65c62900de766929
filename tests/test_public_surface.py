"""A snapshot of the public names, so the surface changes only on purpose.

Every public namespace (a package or module whose dotted path has no part with a
leading underscore) lists its names in ``__all__``; the snapshot in
``tests/public_surface.json`` records them. A rename, a removal or an accidental
export fails here; to change the surface on purpose, regenerate the snapshot with
``AUTHKIT_UPDATE_SURFACE=1 uv run pytest tests/test_public_surface.py`` and list
the change in ``CHANGELOG.md``.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).with_name("public_surface.json")
PACKAGES = ("authkit", "authkit_flask")


def public_namespaces(package: str) -> list[str]:
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, f"{package}."):
        if not any(part.startswith("_") for part in info.name.split(".")[1:]):
            names.append(info.name)
    return sorted(names)


def surface() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for package in PACKAGES:
        for name in public_namespaces(package):
            module = importlib.import_module(name)
            exported = getattr(module, "__all__", None)
            assert exported is not None, f"{name} is public but has no __all__"
            found[name] = sorted(exported)
    return found


def test_public_surface_matches_the_snapshot() -> None:
    current = surface()
    if os.environ.get("AUTHKIT_UPDATE_SURFACE") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    added = {ns: sorted(set(v) - set(recorded.get(ns, []))) for ns, v in current.items()}
    removed = {ns: sorted(set(v) - set(current.get(ns, []))) for ns, v in recorded.items()}
    assert {k: v for k, v in added.items() if v} == {}, "names added to the public surface"
    assert {k: v for k, v in removed.items() if v} == {}, "names removed from the public surface"


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_exists_and_all_is_sorted(package: str) -> None:
    for name in public_namespaces(package):
        module = importlib.import_module(name)
        exported = list(getattr(module, "__all__", []))
        missing = [n for n in exported if not hasattr(module, n)]
        assert missing == [], f"{name}.__all__ names what it lacks: {missing}"
        assert len(exported) == len(set(exported)), f"{name}.__all__ repeats a name"


def test_the_top_level_names_one_thing_per_capability() -> None:
    """``authkit`` stays small: the builder, its config, the services, the namespaces."""
    import authkit

    classes_and_functions = [n for n in authkit.__all__ if not n.startswith("__")]
    namespaces = [
        n for n in classes_and_functions if n.islower() and n != "build" and n != "open_stores"
    ]
    assert set(namespaces) == {
        "account",
        "audit",
        "clock",
        "errors",
        "keys",
        "live",
        "mfa",
        "passwords",
        "roles",
        "sessions",
        "storage",
        "throttle",
        "tokens",
        "users",
    }
    assert len(classes_and_functions) - len(namespaces) <= 25
