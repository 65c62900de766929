"""Browser sessions in a real browser: registration, sign-in, reload, sign-out, MFA.

The refresh token must stay out of reach of page scripts (an HttpOnly cookie,
never in ``document.cookie`` or web storage), a reload must sign in again
silently, and sign-out must end the session on the server, not just in the page.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

COOKIE = "authkit_refresh"
PASSWORD = "amber-meadow-42-kites"


def refresh_cookie(context: BrowserContext) -> dict[str, Any] | None:
    for cookie in context.cookies():
        if cookie["name"] == COOKIE:
            return dict(cookie)
    return None


def script_visible_state(page: Page) -> str:
    """Everything page scripts can read: document.cookie and both web storages."""
    state: str = page.evaluate(
        """() => {
            const dump = (s) => Object.keys(s).map((k) => k + '=' + s.getItem(k)).join(';');
            return [document.cookie, dump(localStorage), dump(sessionStorage)].join('|');
        }"""
    )
    return state


def test_register_sign_in_reload_and_sign_out(
    page: Page, context: BrowserContext, site: Any, unique: str, watch: Any
) -> None:
    """Registration shows every password rule at once, then signs the user in; the
    session survives a reload (the cookie rotates, scripts never see it) and
    sign-out ends it on the server too."""
    watch.allow(422)
    username = f"reg{unique}"
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Password").fill("abc")
    page.get_by_role("button", name="Create account").click()
    errors = page.locator("#password-error li")
    expect(errors.first).to_be_visible()
    assert errors.count() >= 2, errors.all_inner_texts()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    expect(page).to_have_url(site.url("/"))

    first = refresh_cookie(context)
    assert first is not None
    assert first["httpOnly"] is True
    assert first["sameSite"] == "Strict"
    assert first["path"] == "/auth/browser/session"
    assert first["secure"] is False  # plain HTTP here; Secure on HTTPS
    visible = script_visible_state(page)
    assert first["value"] not in visible
    assert "eyJ" not in visible, "an access token (a JWT) was put in cookies or storage"

    page.reload()
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    second = refresh_cookie(context)
    assert second is not None
    assert second["value"] != first["value"], "the refresh token rotates on every refresh"
    assert second["value"] not in script_visible_state(page)

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()
    assert refresh_cookie(context) is None
    page.reload()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()
    # The family is revoked on the server: the last cookie no longer refreshes.
    reused = httpx.post(
        site.url("/auth/browser/session/refresh"),
        headers={"X-Authkit-CSRF": "1"},
        cookies={COOKIE: second["value"]},
        timeout=10,
    )
    assert reused.status_code == 401


def test_a_replayed_cookie_ends_the_session_in_the_browser(
    page: Page, context: BrowserContext, site: Any, unique: str, sign_in: Any, watch: Any
) -> None:
    """Reuse detection applies to the cookie: replaying a rotated refresh token
    revokes the family, so the browser holding the newest one is signed out."""
    watch.allow(401)  # the page's refresh with a cookie of the revoked family
    username = f"reuse{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD)
    stolen = refresh_cookie(context)
    assert stolen is not None
    page.reload()  # rotates: the stolen value is now spent
    expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()
    replay = httpx.post(
        site.url("/auth/browser/session/refresh"),
        headers={"X-Authkit-CSRF": "1"},
        cookies={COOKIE: stolen["value"]},
        timeout=10,
    )
    assert replay.status_code == 401
    assert replay.json()["code"] == "token_reused"
    page.reload()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign in")
    ).to_be_visible()


def test_sign_in_errors_and_the_wait_a_429_asks_for(
    page: Page, site: Any, unique: str, watch: Any
) -> None:
    """A wrong password is said next to the form; once throttled, the page says
    when to try again, from ``retry_after``, and holds the button until then."""
    watch.allow(401, 429)
    username = f"slow{unique}"
    site.register(username)
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill("not-the-password")
    button = page.get_by_role("button", name="Sign in")
    button.click()
    expect(page.get_by_role("alert")).to_contain_text("incorrect")
    for _ in range(6):
        if "Too many attempts" in (page.get_by_role("alert").text_content() or ""):
            break
        expect(button).to_be_enabled()
        button.click()
        page.wait_for_timeout(150)
    expect(page.get_by_role("alert")).to_contain_text("Too many attempts. Try again in")
    expect(page.get_by_role("alert")).to_contain_text("seconds")
    expect(page.locator("#login-submit")).to_be_disabled()


def test_mfa_enrolment_end_to_end(
    page: Page, site: Any, unique: str, watch: Any, sign_in: Any, screenshot: Any
) -> None:
    """Set up TOTP from the account page (password first, QR drawn on the server,
    the secret as text, recovery codes once), sign in again with a code, and turn
    it off with a recovery code."""
    watch.allow(401)  # mfa_required: the sign-in's second step
    username = f"mfa{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD)
    page.goto("/account")
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    page.locator("#setup-form").get_by_label("Current password").fill(PASSWORD)
    page.get_by_role("button", name="Set up authenticator app").click()

    secret_box = page.get_by_label("Secret key")
    expect(secret_box).not_to_be_empty()
    secret = (secret_box.text_content() or "").replace(" ", "")
    assert len(secret) >= 16
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    expect(qr).to_be_visible()
    assert (qr.get_attribute("src") or "").startswith("data:image/svg+xml")
    width = page.evaluate(
        "() => { const q = document.getElementById('totp-qr'); "
        "return q.decode().then(() => q.naturalWidth); }"
    )
    assert width > 0, "the SVG QR code did not render"
    screenshot(page, "account-mfa-setup-light")

    totp = pyotp.TOTP(secret)
    page.locator("#enable-form").get_by_label("Code from the app").fill(totp.now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.first.inner_text().strip()
    page.get_by_role("button", name="I have saved my codes").click()

    expect(page).to_have_url(site.url("/login?reason=mfa-enabled&next=%2Faccount"))
    expect(page.get_by_text("Two-factor authentication is on.")).to_be_visible()
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    code_field = page.get_by_label("Authentication code")
    expect(code_field).to_be_visible()
    expect(code_field).to_be_focused()
    # The enabling code's time step is spent: use the next step's code.
    code_field.fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(site.url("/account"))
    expect(page.locator("[data-user='mfa_enabled']")).to_have_text("On")

    page.get_by_label("Or a recovery code").fill(recovery)
    page.get_by_role("button", name="Turn off two-factor authentication").click()
    expect(page.get_by_text("Two-factor authentication is off.")).to_be_visible()
    expect(page.locator("[data-user='mfa_enabled']")).to_have_text("Off")


def test_a_password_change_from_the_account_page(
    page: Page, site: Any, unique: str, watch: Any, sign_in: Any
) -> None:
    """Policy violations show next to the new password; a wrong current password
    next to that field; a good change says so."""
    watch.allow(401, 422)
    username = f"pwd{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD)
    page.goto("/account")
    form = page.locator("#password-form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill("short")
    form.get_by_label("Repeat the new password").fill("short")
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#new-password-error li").first).to_be_visible()

    form.get_by_label("Current password").fill("wrong-password-here")
    form.get_by_label("New password", exact=True).fill("copper-lantern-88-rivers")
    form.get_by_label("Repeat the new password").fill("copper-lantern-88-rivers")
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#current-password-error")).to_contain_text("incorrect")

    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Password changed.")).to_be_visible()
    site.api_login(username, "copper-lantern-88-rivers")
