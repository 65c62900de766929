"""Benchmark: the admin console's first page of users, in Chromium, with 100,000 users.

The issue's budget: the first page of users is in the table within 300 ms of the
navigation starting. This starts ``flight-app serve`` (SQLite, 8 threads) on a
free 127.0.0.1 port in a temporary instance folder, inserts the users straight
into its database (one shared password hash, one in ten inactive; SQLAlchemy
core batches, as ``bench_user_listing.py`` does), signs the admin in through the
sign-in page in Debian's Chromium (``--no-sandbox --disable-gpu``), then loads
``/admin`` again and again. The figure is the page's own
``authkit:users-first-render`` performance mark: from the navigation start,
through the HTML, the stylesheet and modules, the silent session refresh and
``GET /auth/users``, to 20 rows in the table. The first load (cold caches) is
reported apart and left out of the percentiles. The server is stopped and the
folder deleted afterwards.

``tests/e2e/browser/test_admin_scale.py`` checks that the page only ever asks
for the page it shows; the timing lives here because a loaded CI machine moves a
median of five loads by more than the budget's margin.

Usage::

    uv run python benchmarks/bench_admin_page.py [--users 100000] [--loads 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from bench_user_listing import insert_users
from playwright.sync_api import Page, expect, sync_playwright
from sqlalchemy import create_engine, select, text

from authkit.storage import users

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
BUDGET_MS = 300.0
MARK = "() => performance.getEntriesByName('authkit:users-first-render')[0].startTime"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(instance: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``flight-app serve`` on its embedded defaults, ready to answer."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLIGHT_APP_")}
    env.update(
        APP_ENV="test",
        FLIGHT_APP_INSTANCE_PATH=str(instance),
        FLIGHT_APP_HOST="127.0.0.1",
        FLIGHT_APP_PORT=str(port),
        FLIGHT_APP_ADMIN_PASSWORD=ADMIN_PASSWORD,
        FLIGHT_APP_THREADS="8",
    )
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("flight-app")), "serve"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"flight-app serve exited:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(f"{base_url}/health/ready", timeout=1).status_code == 200:
                return process, base_url
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("flight-app serve did not become ready within 60 s")


def _seed(database: Path, size: int) -> float:
    """``size`` users beside the seeded admin, sharing its hash; returns the seconds."""
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{database}")
    with engine.begin() as conn:
        password_hash = conn.execute(
            select(users.c.password_hash).where(users.c.username == "admin")
        ).scalar_one()
        insert_users(conn, size, password_hash)
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def _sign_in(page: Page) -> None:
    page.goto("/login")
    page.get_by_label("Username or email").fill("admin")
    page.get_by_label("Password", exact=True).fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _loads(base_url: str, count: int) -> list[float]:
    """``count`` loads of ``/admin``; each figure is the first-render mark in ms."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        raise SystemExit("no chromium: apt-get install --no-install-recommends chromium")
    shown = []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            page = browser.new_page(base_url=base_url, viewport={"width": 1280, "height": 900})
            _sign_in(page)
            for _ in range(count):
                page.goto("/admin")
                expect(page.locator("#users-body tr")).to_have_count(20)
                shown.append(float(page.evaluate(MARK)))
        finally:
            browser.close()
    return shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--loads", type=int, default=20, help="after one cold load")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-admin-page-"))
    try:
        process, base_url = _serve(folder / "instance", folder / "serve.log")
        try:
            seconds = _seed(folder / "instance" / "flight_app.db", args.users)
            cold, *warm = _loads(base_url, args.loads + 1)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    warm.sort()
    p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
    p50 = statistics.median(warm)
    print(f"{args.users:,} users seeded in {seconds:.1f} s; /admin loaded {len(warm)} times")
    print(f"{'first load (cold)':<22}{cold:>8.0f} ms")
    for label, value in (("best", warm[0]), ("p50", p50), ("p95", p95), ("worst", warm[-1])):
        print(f"{label:<22}{value:>8.0f} ms")
    verdict = "within" if p50 <= BUDGET_MS else "OVER"
    print(f"budget {BUDGET_MS:.0f} ms at p50: {verdict}")


if __name__ == "__main__":
    main()
