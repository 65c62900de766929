"""axe-core on every page in both themes: no serious or critical violation.

axe-core comes bundled with ``axe-playwright-python`` (no download at test time)
and is injected through the DevTools protocol, which the pages' CSP does not
govern. Each page is checked in the states a user sees (empty, filled with
results, showing errors), and a screenshot of each goes to ``docs/screenshots``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
PASSWORD = "amber-meadow-42-kites"
BLOCKING = {"serious", "critical"}
AXE = Axe()


DEMO_USERS = ["ada", "grace", "alan", "edsger", "barbara", "donald", "margaret", "linus"]


@pytest.fixture(scope="module")
def demo_users(site: Any) -> None:
    """A few named accounts (one inactive, one with another role), so the admin console's
    screenshots show a realistic table."""
    ids = {}
    for name in DEMO_USERS:
        response = httpx.post(
            site.url("/auth/register"),
            json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
            timeout=10,
        )
        if response.status_code == 201:
            ids[name] = response.json()["id"]
    if not ids:
        return  # made by an earlier run on this server
    token = site.api_login("admin", ADMIN_PASSWORD)
    headers = {"Authorization": f"Bearer {token}"}
    for name, change in (
        ("barbara", {"is_active": False}),
        ("grace", {"roles": ["support", "user"]}),
    ):
        if name in ids:
            httpx.patch(
                site.url(f"/auth/users/{ids[name]}"), json=change, headers=headers, timeout=10
            )


def check(page: Page, what: str) -> None:
    results = AXE.run(page)
    blocking = [v for v in results.response["violations"] if v["impact"] in BLOCKING]
    report = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(", ".join(node["target"]) for node in v["nodes"][:5])
        for v in blocking
    )
    assert not blocking, f"{what}:\n{report}"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_page_passes_axe_in_both_themes(
    open_page: Any,
    site: Any,
    unique: str,
    theme: str,
    sign_in: Any,
    screenshot: Any,
    demo_users: None,
) -> None:
    watch: Any
    page, watch = open_page(color_scheme=theme, viewport={"width": 1280, "height": 900})
    watch.allow(401, 422)

    page.goto("/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    check(page, f"/login ({theme})")
    screenshot(page, f"login-{theme}")
    page.get_by_label("Username or email").fill("nobody-at-all")
    page.get_by_label("Password", exact=True).fill("wrong-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("incorrect")
    check(page, f"/login with an error ({theme})")

    page.goto("/register")
    page.get_by_label("Username").fill(f"new{theme}{unique}")
    page.get_by_label("Email").fill(f"new{theme}{unique}@example.com")
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator("#password-error li").first).to_be_visible()
    check(page, f"/register with errors ({theme})")
    screenshot(page, f"register-{theme}")

    username = f"a11y{theme}{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD, path="/login?next=/")
    page.get_by_role("combobox", name="From").fill("zur")
    expect(page.get_by_role("option", name="Zurich (ZRH)")).to_be_visible()
    check(page, f"/ with airport suggestions ({theme})")
    page.get_by_role("combobox", name="From").press("ArrowDown")
    page.get_by_role("combobox", name="From").press("Enter")
    page.get_by_role("combobox", name="To").fill("JFK")
    page.get_by_role("option", name="New York (JFK)").click()
    page.get_by_label("Departure date").fill((date.today() + timedelta(days=30)).isoformat())
    page.get_by_label("Return date").fill((date.today() + timedelta(days=37)).isoformat())
    page.get_by_role("button", name="Search flights").click()
    expect(page.locator("#results")).to_be_visible()
    page.get_by_role("tab", name="All").click()
    check(page, f"/ with results ({theme})")
    screenshot(page, f"search-{theme}")
    page.get_by_role("tab", name="Stacked").click()
    check(page, f"/ stacked ({theme})")

    page.goto("/account")
    expect(page.locator("[data-user='username']")).to_have_text(username)
    check(page, f"/account ({theme})")
    screenshot(page, f"account-{theme}")

    # Signing out navigates home once the session is revoked: wait for that
    # navigation, or the next goto races it (and loses under load).
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()
    sign_in(page, "admin", ADMIN_PASSWORD, path="/login?next=/admin")
    expect(page.locator("#live-status")).to_have_text("Live updates: on")
    expect(page.locator("#users-body tr").first).to_be_visible()
    page.get_by_label("Select admin").check()
    check(page, f"/admin users ({theme})")
    screenshot(page, f"admin-{theme}")
    page.get_by_role("button", name="Edit admin").first.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    check(page, f"/admin edit dialog ({theme})")
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()
    page.get_by_role("tab", name="Activity").click()
    expect(page.locator("#activity li").first).to_be_visible()
    check(page, f"/admin activity ({theme})")
    page.get_by_role("tab", name="Logs").click()
    expect(page.locator("#log-body tr").first).to_be_visible()
    check(page, f"/admin logs ({theme})")
    screenshot(page, f"admin-logs-{theme}")
    page.get_by_role("tab", name="Users").click()
