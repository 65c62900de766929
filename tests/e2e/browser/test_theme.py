"""Dark mode: a light / dark / system switch on every page, kept in the browser,
applied before the first paint, and following ``prefers-color-scheme`` under
"system" (emulated here), live."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LIGHT_BG = "rgb(255, 255, 255)"
DARK_BG = "rgb(18, 20, 23)"

# Records the theme and the page background at the first frame the browser
# renders (the first animation frame runs just before the first paint), and the
# theme attribute when <body> starts: what a user would see first.
FIRST_PAINT = """
window.__firstPaint = null;
new MutationObserver((_, observer) => {
  if (document.body) {
    observer.disconnect();
    window.__themeAtBody = document.documentElement.getAttribute("data-theme");
  }
}).observe(document, { childList: true, subtree: true });
requestAnimationFrame(() => {
  window.__firstPaint = {
    theme: document.documentElement.getAttribute("data-theme"),
    background: getComputedStyle(document.body || document.documentElement).backgroundColor,
  };
});
"""


def first_paint(page: Page) -> dict[str, Any]:
    page.wait_for_function("() => window.__firstPaint !== null")
    painted: dict[str, Any] = page.evaluate("() => window.__firstPaint")
    painted["at_body"] = page.evaluate("() => window.__themeAtBody")
    return painted


def background(page: Page) -> str:
    value: str = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    return value


def test_a_chosen_theme_is_kept_and_painted_first(open_page: Any) -> None:
    """Dark chosen on a light system: kept in localStorage, and on the next pages
    the very first frame is already dark (no flash of the light theme)."""
    page, _ = open_page(FIRST_PAINT, color_scheme="light")
    page.goto("/login")
    assert first_paint(page)["background"] == LIGHT_BG
    theme = page.get_by_label("Theme")
    expect(theme).to_have_value("system")
    theme.select_option("dark")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert background(page) == DARK_BG
    assert page.evaluate("() => localStorage.getItem('authkit.theme')") == "dark"

    for path in ("/login", "/register", "/"):
        page.goto(path)
        painted = first_paint(page)
        assert painted["at_body"] == "dark", path
        assert painted["theme"] == "dark", path
        assert painted["background"] == DARK_BG, path
        expect(page.get_by_label("Theme")).to_have_value("dark")

    page.get_by_label("Theme").select_option("light")
    page.reload()
    assert first_paint(page)["background"] == LIGHT_BG


def test_system_follows_prefers_color_scheme_live(open_page: Any) -> None:
    page, _ = open_page(FIRST_PAINT, color_scheme="dark")
    page.goto("/register")
    painted = first_paint(page)
    assert painted["theme"] == "system"
    assert painted["background"] == DARK_BG
    page.emulate_media(color_scheme="light")
    expect(page.locator("body")).to_have_css("background-color", LIGHT_BG)
    page.emulate_media(color_scheme="dark")
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)

    # An explicit choice wins over the system; "system" hands control back.
    page.get_by_label("Theme").select_option("light")
    expect(page.locator("body")).to_have_css("background-color", LIGHT_BG)
    page.reload()
    assert first_paint(page)["background"] == LIGHT_BG
    page.get_by_label("Theme").select_option("system")
    expect(page.locator("body")).to_have_css("background-color", DARK_BG)
    assert page.evaluate("() => localStorage.getItem('authkit.theme')") is None


def test_the_theme_follows_a_change_made_in_another_tab(open_page: Any) -> None:
    first, _ = open_page(color_scheme="light")
    first.goto("/login")
    second = first.context.new_page()
    second.goto("/register")
    first.get_by_label("Theme").select_option("dark")
    expect(second.locator("html")).to_have_attribute("data-theme", "dark")
    expect(second.get_by_label("Theme")).to_have_value("dark")
