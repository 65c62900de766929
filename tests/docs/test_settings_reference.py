"""The configuration reference is generated from the settings model, each setting once."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from flight_app.settings import Settings, env_var_name

ROOT = Path(__file__).resolve().parents[2]
HOOK = ROOT / "docs" / "hooks" / "settings_reference.py"
PAGE = ROOT / "docs" / "configuration.md"


def hook() -> ModuleType:
    """The hook module, loaded from its file as mkdocs loads it."""
    name = "docs_hooks_settings_reference"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, HOOK)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while defining
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_every_setting_appears_exactly_once() -> None:
    rendered = hook().render()
    for name in Settings.model_fields:
        rows = re.findall(rf"^\| `{re.escape(env_var_name(name))}` \|", rendered, re.M)
        assert len(rows) == 1, name


def test_every_setting_has_a_docstring_and_a_group() -> None:
    rows = hook().rows()
    assert [r.name for r in rows] == list(Settings.model_fields)
    assert [r.name for r in rows if not r.meaning] == [], "add a docstring under the field"
    assert {r.group for r in rows} >= {"Serving", "Passwords", "Flight search"}


def test_core_and_policy_defaults_name_their_source() -> None:
    by_name = {r.name: r for r in hook().rows()}
    assert by_name["access_token_ttl"].source.startswith("core: ")
    assert by_name["access_token_ttl"].default == "`900`"
    assert by_name["provider_timeout"].source.startswith("flight policy: ")
    assert "`dev.toml`: `true`" in by_name["demo_user"].source
    assert by_name["port"].validation == ">= 1; <= 65535"


def test_the_page_has_the_marker_and_no_hand_written_rows() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert text.count(hook().MARKER) == 1
    # The refusal rules further down name settings per rule, not as a reference.
    text = text.partition("## Validation and the `prod` refusal rules")[0]
    for name in Settings.model_fields:
        assert not re.search(rf"^\| `{re.escape(env_var_name(name))}` \|", text, re.M), name


def test_the_built_page_shows_the_tables(built_site: Path) -> None:
    html = (built_site / "configuration" / "index.html").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"<code>{env_var_name(name)}</code>" in html, name
