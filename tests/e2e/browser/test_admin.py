"""The admin console in a real browser: search, filters, bulk and per-row changes,
live updates from other clients through ``/admin/ws``, the log viewer, and the
refusal of everyone who is not an admin."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
PASSWORD = "amber-meadow-42-kites"


def user_row(page: Page, username: str) -> Locator:
    return page.locator("#users-body tr").filter(
        has=page.get_by_role("rowheader", name=username, exact=True)
    )


def open_console(page: Page, sign_in: Any) -> None:
    sign_in(page, "admin", ADMIN_PASSWORD, path="/login?next=/admin")
    expect(page.get_by_role("heading", name="Administration")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Live updates: on")


def test_search_bulk_deactivate_edit_and_live_changes(
    page: Page, site: Any, unique: str, sign_in: Any
) -> None:
    names = [f"ops{unique}{n}" for n in range(4)]
    ids = {name: site.register(name)["id"] for name in names}
    open_console(page, sign_in)
    page.get_by_label("Search", exact=True).fill(f"ops{unique}")
    rows = page.locator("#users-body tr")
    expect(rows).to_have_count(4)
    expect(page.locator("#page-info")).to_have_text("Page 1 of 1 · 4 users")

    page.get_by_label(f"Select {names[0]}").check()
    page.get_by_label(f"Select {names[1]}").check()
    expect(page.get_by_text("2 users selected")).to_be_visible()
    page.get_by_role("button", name="Deactivate selected").click()
    expect(page.locator("#users-status")).to_have_text("Deactivated 2 users.")
    for name in names[:2]:
        expect(user_row(page, name)).to_contain_text("Inactive")
    expect(user_row(page, names[2])).to_contain_text("Active")

    page.get_by_label("Status").select_option("Inactive")
    expect(rows).to_have_count(2)
    page.get_by_label("Status").select_option("Any status")
    expect(rows).to_have_count(4)

    # Another client changes a user through the JSON API: the open page shows it.
    token = site.api_login("admin", ADMIN_PASSWORD)
    started = time.monotonic()
    changed = httpx.patch(
        site.url(f"/auth/users/{ids[names[2]]}"),
        json={"is_active": False},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert changed.status_code == 200, changed.text
    expect(user_row(page, names[2])).to_contain_text("Inactive", timeout=2000)
    seen_after = time.monotonic() - started
    print(f"\na change by another client showed on the open admin page in {seen_after:.2f} s")
    assert seen_after < 2.0

    # A new account appears too (its registration is an audit event).
    site.register(f"ops{unique}9")
    expect(rows).to_have_count(5, timeout=3000)

    page.get_by_role("button", name=f"Edit {names[3]}").click()
    dialog = page.get_by_role("dialog", name=f"Edit {names[3]}")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Roles").fill("user, auditor")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(user_row(page, names[3])).to_contain_text("auditor")
    expect(page.get_by_role("button", name=f"Edit {names[3]}")).to_be_focused()

    page.get_by_role("tab", name="Activity").click()
    activity = page.locator("#activity")
    expect(activity).to_contain_text("admin.user.update")
    expect(activity).to_contain_text("admin.user.bulk")


def test_the_last_admin_cannot_be_deactivated_from_the_page(
    page: Page, site: Any, sign_in: Any, watch: Any
) -> None:
    watch.allow(409)
    open_console(page, sign_in)
    page.get_by_label("Search", exact=True).fill("admin")
    page.get_by_label("Role", exact=True).fill("admin")
    expect(user_row(page, "admin")).to_be_visible()
    page.get_by_role("button", name="Edit admin").click()
    dialog = page.get_by_role("dialog", name="Edit admin")
    dialog.get_by_label("Active (can sign in)").uncheck()
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("no active admin")
    dialog.get_by_role("button", name="Cancel").click()
    expect(user_row(page, "admin")).to_contain_text("Active")


def test_log_viewer_switches_source_and_follows(
    page: Page, site: Any, unique: str, sign_in: Any
) -> None:
    open_console(page, sign_in)
    page.get_by_role("tab", name="Logs").click()
    table = page.get_by_role("table", name="Audit log")
    expect(table).to_be_visible()
    expect(page.locator("#log-body tr").first).to_be_visible()
    expect(page.locator("#log-status")).to_contain_text("lines")

    page.get_by_label("System").check()
    expect(page.get_by_role("table", name="System log")).to_be_visible()
    expect(page.locator("#log-body")).to_contain_text("request")

    page.get_by_label("Audit (auth)").check()
    page.get_by_label("Follow").check()
    marker = f"follow-{unique}"
    failed = httpx.post(
        site.url("/auth/login"),
        json={"username": f"ghost{unique}", "password": "not-a-password"},
        headers={"X-Request-ID": marker},
        timeout=10,
    )
    assert failed.status_code == 401
    expect(page.locator("#log-body")).to_contain_text(marker, timeout=5000)


def test_the_console_refuses_everyone_but_admins(
    page: Page, site: Any, unique: str, sign_in: Any
) -> None:
    page.goto("/admin")
    expect(page).to_have_url(site.url("/login?next=%2Fadmin"))
    username = f"plain{unique}"
    site.register(username)
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url("/admin"))
    expect(page.get_by_role("alert")).to_have_text("This page is for administrators only.")
    expect(page.locator("#users-table")).to_be_hidden()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
    ).to_be_hidden()
    token = site.api_login(username, PASSWORD)
    listing = httpx.get(
        site.url("/auth/users"), headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert listing.status_code == 403


def test_live_updates_reconnect_with_back_off_after_a_drop(
    page: Page, site: Any, unique: str, sign_in: Any
) -> None:
    """The socket is routed through the test: the first connection is dropped by
    the "server" (1012, restarting) after the token arrives, the second one too
    but as an expired token (1008), and the third goes through to the real
    ``/admin/ws``. The page waits (with jitter) after the drop, refreshes its token
    after the 1008, and ends up live, receiving real events."""
    attempts: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        attempts.append(ws.url)
        if len(attempts) == 1:
            ws.on_message(lambda _message: ws.close(code=1012, reason="service restart"))
        elif len(attempts) == 2:
            ws.on_message(lambda _message: ws.close(code=1008, reason="access token expired"))
        else:
            ws.connect_to_server()

    page.route_web_socket("**/admin/ws", route)
    sign_in(page, "admin", ADMIN_PASSWORD, path="/login?next=/admin")
    status = page.locator("#live-status")
    expect(status).to_contain_text("reconnecting in")
    expect(status).to_have_text("Live updates: on", timeout=10_000)
    assert len(attempts) == 3

    name = f"late{unique}"
    page.get_by_label("Search", exact=True).fill(name)
    expect(page.locator("#users-body")).to_contain_text("No users match.")
    site.register(name)
    expect(user_row(page, name)).to_be_visible(timeout=3000)
