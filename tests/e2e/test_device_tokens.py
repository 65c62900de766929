"""Issue 14, finding 2 on a real server: a stranger cannot lock the owner out.

``flight-app serve`` behind one trusted proxy hop (so ``X-Forwarded-For`` names
the client, as nginx does in the compose setup), with the account budget at 5
failures. A stranger spends it from rotating addresses; then the right password
from an unknown device is refused (429), while the owner's known device, by
``X-Device-Token`` header and by ``authkit_device`` cookie, still signs in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.e2e

PASSWORD = "violet marmalade drifts at noon"
ACCOUNT_LIMIT = 5


def login(
    client: httpx.Client, address: str, password: str = PASSWORD, **headers: str
) -> httpx.Response:
    return client.post(
        "/auth/login",
        json={"username": "owner", "password": password},
        headers={"X-Forwarded-For": address, **headers},
    )


def test_the_owners_known_devices_sign_in_while_a_stranger_exhausted_the_account(
    start_server: Callable[..., Any],
) -> None:
    server = start_server(trusted_proxies="1", throttle_account_limit=str(ACCOUNT_LIMIT))
    with (
        httpx.Client(base_url=server.base_url, timeout=10) as phone,  # a JSON client
        httpx.Client(base_url=server.base_url, timeout=10) as browser,  # keeps cookies
        httpx.Client(base_url=server.base_url, timeout=10) as stranger,
    ):
        created = phone.post(
            "/auth/register",
            json={"username": "owner", "email": "owner@example.com", "password": PASSWORD},
            headers={"X-Forwarded-For": "198.51.100.7"},
        )
        assert created.status_code == 201, created.text
        first = login(phone, "198.51.100.7")
        assert first.status_code == 200, first.text
        device_token = first.json()["device_token"]
        phone.cookies.clear()  # the phone app uses the header, not cookies
        signed_in = login(browser, "198.51.100.8")
        assert signed_in.status_code == 200
        assert "authkit_device" in browser.cookies
        cookie_header = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie_header
        assert "SameSite=Strict" in cookie_header
        assert "Path=/auth/login" in cookie_header

        for i in range(ACCOUNT_LIMIT):  # the stranger: a new address (and /64) each time
            guess = login(stranger, f"2001:db8:{i + 1:x}::1", password="not the password")
            assert guess.status_code == 401, guess.text
        locked = login(stranger, "203.0.113.50")
        assert locked.status_code == 429, locked.text

        unknown = login(stranger, "203.0.113.51")  # the right password, an unknown device
        assert unknown.status_code == 429
        assert unknown.json()["code"] == "too_many_attempts"
        assert int(unknown.headers["Retry-After"]) >= 1

        by_header = login(phone, "192.0.2.77", **{"X-Device-Token": device_token})
        assert by_header.status_code == 200, by_header.text
        assert by_header.json()["device_token"] != device_token

        # The owner's success cleared the account budget (a success resets it): spend it
        # again, then the browser's cookie alone gets its owner in.
        for i in range(ACCOUNT_LIMIT):
            login(stranger, f"2001:db8:{i + 100:x}::1", password="not the password")
        assert login(stranger, "203.0.113.52").status_code == 429
        by_cookie = login(browser, "192.0.2.78")
        assert by_cookie.status_code == 200, by_cookie.text
        me = browser.get(
            "/auth/me", headers={"Authorization": f"Bearer {by_cookie.json()['access_token']}"}
        )
        assert me.json()["username"] == "owner"
