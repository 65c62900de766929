"""Browser suites: Chromium (Debian's ``chromium``) driven by Playwright against
the real ``flight-app serve``.

Chromium is found on ``PATH``. Without it the suites skip with a reason on a
developer machine, and fail when ``CI`` is set: CI installs it (``.ci/run``), so a
missing browser there is a broken pipeline, not a reason to go green.

Every test gets a fresh browser context (no cookies, no storage) on one server
shared by the session, and its page is watched: a console error, an uncaught
exception or a request to another origin fails the test. A test that provokes an
HTTP error on purpose (a 401 ``mfa_required``, a 429) says which statuses the
browser may log with ``watch.allow(401)``.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    WebSocket,
    expect,
    sync_playwright,
)

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
PASSWORD = "amber-meadow-42-kites"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
_STATUS = re.compile(r"status of (\d{3})")

StartServer = Callable[..., Any]


def chromium_path() -> str:
    """The Chromium binary; skip (developer machine) or fail (CI) without one."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "chromium is not installed (apt-get install --no-install-recommends chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}: CI must run the browser tests")
    pytest.skip(f"{message}; browser tests skipped outside CI")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    executable = chromium_path()
    assert executable
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"]
    )
    yield launched
    launched.close()


@dataclass
class Site:
    """The shared server: its URL, folders and an admin's credentials."""

    base_url: str
    instance: Path
    server: Any

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api_login(self, username: str, password: str) -> str:
        response = httpx.post(
            self.url("/auth/login"), json={"username": username, "password": password}, timeout=10
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def register(self, username: str, password: str = PASSWORD) -> dict[str, Any]:
        response = httpx.post(
            self.url("/auth/register"),
            json={"username": username, "email": f"{username}@example.com", "password": password},
            timeout=10,
        )
        assert response.status_code == 201, response.text
        user: dict[str, Any] = response.json()
        return user


SITE_SETTINGS = {
    "admin_password": ADMIN_PASSWORD,
    "threads": "8",
    "live_max_clients": "6",
    # Tests register many accounts from 127.0.0.1.
    "throttle_register_limit": "100000",
}


@pytest.fixture(scope="session")
def site(start_shared_server: StartServer, tmp_path_factory: pytest.TempPathFactory) -> Site:
    instance = tmp_path_factory.mktemp("browser-site")
    server = start_shared_server(instance=instance, **SITE_SETTINGS)
    return Site(base_url=server.base_url, instance=instance, server=server)


@dataclass
class Watch:
    """What a page did that a user would not want: console errors, exceptions,
    requests to other origins."""

    origin: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    allowed: set[int] = field(default_factory=set)

    def allow(self, *statuses: int) -> None:
        """HTTP statuses this test provokes on purpose (the browser logs them)."""
        self.allowed.update(statuses)

    def console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        found = _STATUS.search(message.text)
        if found and int(found.group(1)) in self.allowed:
            return
        self.errors.append(f"console: {message.text} ({message.location.get('url')})")

    def exception(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")

    def request(self, request: Request) -> None:
        self._check(request.url)

    def websocket(self, socket: WebSocket) -> None:
        self._check(socket.url)

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in ("data", "about", "blob"):
            return
        if f"{parts.hostname}:{parts.port}" != self.origin:
            self.foreign.append(url)


def watch_page(context: BrowserContext, base_url: str) -> tuple[Page, Watch]:
    parts = urlsplit(base_url)
    watch = Watch(origin=f"{parts.hostname}:{parts.port}")
    context.on("request", watch.request)
    page = context.new_page()
    page.on("console", watch.console)
    page.on("pageerror", watch.exception)
    page.on("websocket", watch.websocket)
    return page, watch


@pytest.fixture
def watch_pages() -> Iterator[list[Watch]]:
    """Every watched page of the test; checked when the test ends."""
    watches: list[Watch] = []
    yield watches
    for watch in watches:
        assert watch.errors == [], "the page logged errors"
        assert watch.foreign == [], "the page made requests to another origin"


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    created = browser.new_context(base_url=site.base_url)
    yield created
    created.close()


@pytest.fixture
def page_and_watch(
    context: BrowserContext, site: Site, watch_pages: list[Watch]
) -> tuple[Page, Watch]:
    page, watch = watch_page(context, site.base_url)
    watch_pages.append(watch)
    return page, watch


OpenPage = Callable[..., tuple[Page, Watch]]


@pytest.fixture
def open_page(
    browser: Browser, request: pytest.FixtureRequest, watch_pages: list[Watch]
) -> Iterator[OpenPage]:
    """``open_page(init_script=None, base_url=None, **context_options)``: another
    watched page in a fresh context of its own (``color_scheme="dark"``, say), on
    the shared site unless ``base_url`` names another server; closed after the test."""
    contexts: list[BrowserContext] = []

    def make(
        init_script: str | None = None, base_url: str | None = None, **options: Any
    ) -> tuple[Page, Watch]:
        if base_url is None:
            base_url = request.getfixturevalue("site").base_url
        context = browser.new_context(base_url=base_url, **options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page, watch = watch_page(context, base_url)
        watch_pages.append(watch)
        return page, watch

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_and_watch: tuple[Page, Watch]) -> Page:
    return page_and_watch[0]


@pytest.fixture
def watch(page_and_watch: tuple[Page, Watch]) -> Watch:
    return page_and_watch[1]


@pytest.fixture
def unique() -> str:
    """A short random tag for names this test creates on the shared server."""
    return uuid.uuid4().hex[:8]


SignIn = Callable[..., None]
Screenshot = Callable[[Page, str], None]


def _sign_in(page: Page, username: str, password: str, *, path: str = "/login") -> None:
    page.goto(path)
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture
def sign_in() -> SignIn:
    """``sign_in(page, username, password, path="/login")``: through the sign-in page,
    as a user would; returns once the header shows the user signed in."""
    return _sign_in


@pytest.fixture(scope="session")
def screenshot_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``docs/screenshots`` with ``AUTHKIT_UPDATE_SCREENSHOTS=1``, else a temporary folder.

    Every run takes them (a page that cannot be drawn fails the test), but only a
    deliberate run replaces the pictures the docs show: their random names and
    dates would otherwise change tracked files on every test run.
    """
    if os.environ.get("AUTHKIT_UPDATE_SCREENSHOTS") == "1":
        return SCREENSHOTS
    return tmp_path_factory.mktemp("screenshots")


@pytest.fixture
def screenshot(screenshot_folder: Path) -> Screenshot:
    """``screenshot(page, name)``: a full-page PNG of ``page`` named ``name``."""

    def take(page: Page, name: str) -> None:
        screenshot_folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_folder / f"{name}.png"), full_page=True)
        assert (screenshot_folder / f"{name}.png").stat().st_size > 0

    return take
