"""/admin stays usable with 100,000 users: only the page shown is ever fetched.

The users go straight into the served app's SQLite database with bulk inserts
(one shared password hash), as an existing deployment would have them; then the
admin opens the console in Chromium. Every ``GET /auth/users`` the page sends
asks for one page of 20, and the counts and the last page come from ``meta``.

The 300 ms budget for the first page is a speed target, so it is measured by
``benchmarks/bench_admin_page.py``, not asserted here: on a loaded CI machine a
median of five page loads moved from 170 to 300 ms with nothing changed. This test
prints the same ``authkit:users-first-render`` figures and only fails when the
fastest load takes seconds, which is what fetching every user would cost.
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, insert, select, text

from authkit.storage import user_roles, users

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ADMIN_PASSWORD = "violet-harbour-7-lanterns"
SIZE = 100_000
CHUNK = 10_000
# Not the 300 ms budget (benchmarks/bench_admin_page.py measures that): far above
# it, and far below a page that fetched all 100,000 users.
REGRESSION_MS = 2000.0


def seed(database: Path, size: int) -> float:
    """Insert ``size`` users (one in ten inactive); returns the seconds it took."""
    started = time.perf_counter()
    engine = create_engine(f"sqlite:///{database}")
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        password_hash = conn.execute(
            select(users.c.password_hash).where(users.c.username == "admin")
        ).scalar_one()
        for base in range(0, size, CHUNK):
            rows, roles = [], []
            for n in range(base, min(size, base + CHUNK)):
                user_id = str(uuid.UUID(int=n + 1))
                name = f"user{n:06d}"
                email = f"person{n}@mail{n % 100}.example"
                rows.append(
                    {
                        "id": user_id,
                        "username": name,
                        "username_canonical": name,
                        "email": email,
                        "email_canonical": email,
                        "password_hash": password_hash,
                        "is_active": n % 10 != 0,
                        "mfa_enabled": False,
                        "created_at": start + timedelta(seconds=n),
                    }
                )
                roles.append({"user_id": user_id, "role": "user"})
            conn.execute(insert(users), rows)
            conn.execute(insert(user_roles), roles)
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def test_the_admin_console_fetches_only_the_page_it_shows_with_100k_users(
    start_server: Any, tmp_path: Path, open_page: Any, sign_in: Any
) -> None:
    instance = tmp_path / "big"
    server = start_server(instance=instance, admin_password=ADMIN_PASSWORD, threads="8")
    seconds = seed(instance / "flight_app.db", SIZE)

    token = httpx.post(
        f"{server.base_url}/auth/login",
        json={"username": "admin", "password": ADMIN_PASSWORD},
        timeout=10,
    ).json()["access_token"]
    api_ms = []
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        for _ in range(10):
            began = time.perf_counter()
            listing = client.get(
                "/auth/users?page=1&page_size=20", headers={"Authorization": f"Bearer {token}"}
            )
            api_ms.append((time.perf_counter() - began) * 1000)
            assert listing.status_code == 200
            assert listing.json()["meta"]["total"] == SIZE + 1

    page, _ = open_page(base_url=server.base_url, viewport={"width": 1280, "height": 900})
    listings: list[str] = []
    page.on(
        "request",
        lambda request: listings.append(request.url) if "/auth/users" in request.url else None,
    )
    sign_in(page, "admin", ADMIN_PASSWORD)
    shown_ms = []
    for _ in range(5):
        page.goto("/admin")
        expect(page.locator("#users-body tr")).to_have_count(20)
        mark = page.evaluate(
            "() => performance.getEntriesByName('authkit:users-first-render')[0].startTime"
        )
        shown_ms.append(float(mark))
    expect(page.locator("#page-info")).to_have_text("Page 1 of 5,001 · 100,001 users")
    page.get_by_role("button", name="Last").click()
    expect(page.locator("#page-info")).to_have_text("Page 5,001 of 5,001 · 100,001 users")
    expect(page.locator("#users-body tr")).to_have_count(1)

    # Five loads and the last page; a live update may reload a page once more.
    assert len(listings) >= 6, listings
    for url in listings:
        asked = parse_qs(urlsplit(url).query)
        assert asked["page_size"] == ["20"], url
    assert any(parse_qs(urlsplit(url).query).get("page") == ["5001"] for url in listings)

    print(
        f"\n100k users: seeded in {seconds:.1f} s; GET /auth/users page 1 "
        f"p50 {statistics.median(api_ms):.1f} ms; /admin first page shown at "
        f"p50 {statistics.median(shown_ms):.0f} ms "
        f"(loads: {', '.join(f'{ms:.0f}' for ms in shown_ms)})"
    )
    assert min(shown_ms) < REGRESSION_MS
