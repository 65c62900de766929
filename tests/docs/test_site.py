"""The built site works offline and has what readers rely on."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# An asset from another origin: a stylesheet, script, font, image or frame.
EXTERNAL_ASSET = re.compile(
    r"<(?:link|script|img|iframe|source)\b[^>]*\b(?:href|src)=\"(?:https?:)?//", re.I
)
EXTERNAL_CSS = re.compile(r"url\(\s*[\"']?(?:https?:)?//|@import\s+[\"']?(?:https?:)?//", re.I)


def test_no_page_loads_anything_from_another_origin(built_site: Path) -> None:
    offenders = [
        str(page.relative_to(built_site))
        for page in built_site.rglob("*.html")
        if EXTERNAL_ASSET.search(page.read_text(encoding="utf-8"))
    ]
    offenders += [
        str(sheet.relative_to(built_site))
        for sheet in built_site.rglob("*.css")
        if EXTERNAL_CSS.search(sheet.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_light_dark_toggle_and_search(built_site: Path) -> None:
    home = (built_site / "index.html").read_text(encoding="utf-8")
    assert 'data-md-color-scheme="default"' in home
    assert 'data-md-color-scheme="slate"' in home
    assert (built_site / "search" / "search_index.json").is_file()


def test_the_navigation_has_its_sections(built_site: Path) -> None:
    home = (built_site / "index.html").read_text(encoding="utf-8")
    for section in ("Tutorial", "How-to guides", "Reference", "Explanation", "Operations"):
        assert f">{section}<" in home or f"{section}\n" in home, section


def test_the_ui_page_shows_every_screenshot_in_light_and_dark(built_site: Path) -> None:
    page = (built_site / "pages" / "index.html").read_text(encoding="utf-8")
    shots = sorted(p.name for p in (ROOT / "docs" / "screenshots").glob("*.png"))
    assert shots, "the browser tests' screenshots are in docs/screenshots"
    missing = [name for name in shots if f"screenshots/{name}" not in page]
    assert missing == []
    assert any(n.endswith("-dark.png") for n in shots)
    assert any(n.endswith("-light.png") for n in shots)
