"""The pages emailed links open, in a real browser, with the link read from the outbox.

The shared site runs with the embedded default mailer: each message is an ``.eml``
file in the instance folder's ``outbox/``. A test does what a user does: asks for
the mail on a page, opens the link from the message (its token in the URL
fragment), and finishes on the page the link opens.
"""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "amber-meadow-42-kites"
NEW_PASSWORD = "copper-lantern-19-swans"
FORGOT_SENT = "If an account uses this address, a link to choose a new password is on its way."
AXE = Axe()


def check_axe(page: Page, what: str) -> None:
    """No serious or critical axe-core violation (as in test_accessibility.py)."""
    violations = [
        v for v in AXE.run(page).response["violations"] if v["impact"] in {"serious", "critical"}
    ]
    assert not violations, f"{what}: " + "; ".join(
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes'][:3]]}" for v in violations
    )


def outbox_mail(instance: Path, to: str, subject: str, timeout: float = 20) -> EmailMessage:
    """The newest message in the outbox to ``to`` whose subject contains ``subject``."""
    outbox = instance / "outbox"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml"), reverse=True):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(parsed, EmailMessage)
            if parsed["To"] == to and subject in parsed["Subject"]:
                return parsed
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} about {subject!r} in {outbox}")


def mailed_link(message: EmailMessage, page: str) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(rf"https?://\S+/{page}#token=[A-Za-z0-9._~-]+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


def count_outbox(instance: Path, to: str) -> int:
    return sum(
        1
        for path in (instance / "outbox").glob("*.eml")
        if f"To: {to}" in path.read_text(errors="replace")
    )


def test_forgot_password_then_reset_from_the_mailed_link(
    page: Page, site: Any, unique: str, watch: Any, sign_in: Any
) -> None:
    """Forgot password? on the sign-in page (the same words for an unknown address),
    the link from the outbox, every broken password rule at once, then a sign-in
    with the new password."""
    watch.allow(422)
    username = f"reset{unique}"
    address = f"{username}@example.com"
    site.register(username)

    page.goto("/login")
    page.get_by_role("button", name="Forgot password?").click()
    forgot = page.locator("#forgot-form")
    forgot.get_by_label("Email").fill(f"nobody{unique}@example.com")
    forgot.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#forgot-done")).to_contain_text(FORGOT_SENT)
    unknown_answer = page.locator("#forgot-done").inner_text()
    forgot.get_by_label("Email").fill(address)
    forgot.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#forgot-done")).to_have_text(unknown_answer)

    link = mailed_link(outbox_mail(site.instance, address, "Reset your"), "reset-password")
    assert count_outbox(site.instance, f"nobody{unique}@example.com") == 0
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert "#token=" not in page.url, "the token leaves the address bar"

    page.get_by_label("New password", exact=True).fill("abc")
    page.get_by_label("Repeat the new password").fill("abc")
    page.get_by_role("button", name="Set new password").click()
    errors = page.locator("#new-password-error li")
    expect(errors.first).to_be_visible()
    assert errors.count() >= 2, errors.all_inner_texts()

    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#reset-done")).to_contain_text("Your password was changed")
    page.get_by_role("link", name="Sign in with your new password").click()
    expect(page.locator("#login-notice")).to_have_text(
        "Your password was changed. Sign in with the new one."
    )
    sign_in(page, username, NEW_PASSWORD)
    outbox_mail(site.instance, address, "password was changed")


def test_a_used_reset_link_says_so(page: Page, site: Any, unique: str, watch: Any) -> None:
    watch.allow(400)
    username = f"reuse{unique}"
    address = f"{username}@example.com"
    site.register(username)
    asked = httpx.post(site.url("/auth/password/forgot"), json={"email": address}, timeout=10)
    assert asked.status_code == 202
    link = mailed_link(outbox_mail(site.instance, address, "Reset your"), "reset-password")
    token = link.split("#token=", 1)[1]
    used = httpx.post(
        site.url("/auth/password/reset"),
        json={"token": token, "new_password": NEW_PASSWORD},
        timeout=10,
    )
    assert used.status_code == 204, used.text

    page.goto(link)
    page.get_by_label("New password", exact=True).fill(PASSWORD + "-again")
    page.get_by_label("Repeat the new password").fill(PASSWORD + "-again")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#link-problem")).to_contain_text("already used")
    expect(page.locator("#reset-form")).to_be_hidden()


def test_reset_page_without_a_token_asks_for_the_link(page: Page) -> None:
    page.goto("/reset-password")
    expect(page.locator("#link-problem")).to_contain_text("needs the link from your email")
    expect(page.locator("#reset-form")).to_be_hidden()


def test_verify_email_from_the_mailed_link(page: Page, site: Any, unique: str, watch: Any) -> None:
    """Opening the link spends nothing; the click does. A second use is refused."""
    watch.allow(400)
    username = f"verify{unique}"
    address = f"{username}@example.com"
    site.register(username)
    link = mailed_link(outbox_mail(site.instance, address, "Confirm your email"), "verify-email")

    page.goto(link)
    assert "#token=" not in page.url
    button = page.get_by_role("button", name="Confirm my email address")
    expect(button).to_be_visible()
    token = site.api_login(username, PASSWORD)
    me = httpx.get(site.url("/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.json()["email_verified"] is False, "loading the page verifies nothing"

    button.click()
    expect(page.locator("#link-done")).to_have_text(f"Thank you: {address} is verified.")
    me = httpx.get(site.url("/auth/me"), headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.json()["email_verified"] is True

    page.goto(link)
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.locator("#link-problem")).to_contain_text("already used")


def test_change_email_on_the_account_page_and_confirm_from_the_new_address(
    page: Page, site: Any, unique: str, watch: Any, sign_in: Any
) -> None:
    watch.allow(401)
    username = f"change{unique}"
    new_address = f"{username}@new.example"
    site.register(username)
    sign_in(page, username, PASSWORD)
    page.goto("/account")
    expect(page.locator("#verify-request")).to_be_visible()  # not verified yet

    section = page.locator("#email-form")
    section.get_by_label("New email address").fill(new_address)
    section.get_by_label("Current password").fill("not the password")
    section.get_by_role("button", name="Change email").click()
    expect(page.locator("#email-password-error")).to_contain_text("The password is incorrect.")

    section.get_by_label("Current password").fill(PASSWORD)
    section.get_by_role("button", name="Change email").click()
    expect(page.locator("#email-done")).to_contain_text(
        f"We sent a confirmation link to {new_address}."
    )
    outbox_mail(site.instance, f"{username}@example.com", "change")
    link = mailed_link(outbox_mail(site.instance, new_address, "new email"), "confirm-email")

    page.goto(link)
    page.get_by_role("button", name="Confirm the new address").click()
    expect(page.locator("#link-done")).to_have_text(
        f"Done: your account's email address is now {new_address}."
    )
    page.goto("/account")
    expect(page.locator("dd[data-user='email']")).to_have_text(new_address)
    expect(page.locator("dd[data-user='email_verified']")).to_have_text("Yes")
    expect(page.locator("#verify-request")).to_be_hidden()


def test_delete_my_account(page: Page, site: Any, unique: str, watch: Any, sign_in: Any) -> None:
    watch.allow(401)
    username = f"delete{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD)
    page.goto("/account")
    form = page.locator("#delete-form")
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("Type DELETE to confirm").fill("delete")
    form.get_by_role("button", name="Delete my account").click()
    expect(page.locator("#delete-confirm-error")).to_contain_text("Type DELETE, in capitals")

    form.get_by_label("Type DELETE to confirm").fill("DELETE")
    form.get_by_role("button", name="Delete my account").click()
    page.wait_for_url(re.compile(r"/login\?reason=account-deleted"))
    expect(page.locator("#login-notice")).to_have_text("Your account was deleted. Goodbye!")
    gone = httpx.post(
        site.url("/auth/login"), json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert gone.status_code == 401


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_recovery_pages_pass_axe_in_both_themes(
    open_page: Any, site: Any, unique: str, theme: str, sign_in: Any, screenshot: Any
) -> None:
    page: Page
    page, watch = open_page(color_scheme=theme, viewport={"width": 1280, "height": 900})
    watch.allow(401, 422)
    username = f"axe{theme}{unique}"
    site.register(username)

    page.goto("/login#forgot")
    expect(page.locator("#forgot-section")).to_be_visible()
    page.locator("#forgot-form").get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.locator("#forgot-done")).to_be_visible()
    check_axe(page, f"/login, forgot password ({theme})")
    screenshot(page, f"forgot-password-{theme}")

    link = mailed_link(
        outbox_mail(site.instance, f"{username}@example.com", "Reset your"), "reset-password"
    )
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("abc")
    page.get_by_label("Repeat the new password").fill("abc")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#new-password-error li").first).to_be_visible()
    check_axe(page, f"/reset-password with errors ({theme})")
    screenshot(page, f"reset-password-{theme}")

    for path in ("/verify-email", "/confirm-email", "/reset-password"):
        page.goto(path)
        expect(page.locator("#link-problem")).to_be_visible()
        check_axe(page, f"{path} without a token ({theme})")
    verify = mailed_link(
        outbox_mail(site.instance, f"{username}@example.com", "Confirm your email"),
        "verify-email",
    )
    page.goto(verify)
    expect(page.get_by_role("button", name="Confirm my email address")).to_be_visible()
    check_axe(page, f"/verify-email ({theme})")

    sign_in(page, username, PASSWORD)
    page.goto("/account")
    expect(page.locator("[data-user='username']")).to_have_text(username)
    page.locator("#delete-form").get_by_role("button", name="Delete my account").click()
    expect(page.locator("#delete-password-error")).to_be_visible()
    check_axe(page, f"/account with the email and delete sections ({theme})")
