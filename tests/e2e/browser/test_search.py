"""The flight search page in a real browser: airport autocomplete (an ARIA
combobox driven by the keyboard and the mouse), results in the Outbound, Return
and All tabs and the stacked split, the chosen view kept across reloads, stale
results flagged and a 503 answered with a retry."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

PASSWORD = "amber-meadow-42-kites"


def pick_airport(page: Page, label: str, typed: str, option: str, *, keyboard: bool) -> None:
    box = page.get_by_role("combobox", name=label)
    box.fill(typed)
    choice = page.get_by_role("option", name=option)
    expect(choice).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#airport-status")).to_contain_text("found")
    if keyboard:
        box.press("ArrowDown")
        expect(box).to_have_attribute("aria-activedescendant", f"{label_id(label)}-listbox-0")
        expect(page.get_by_role("listbox").get_by_role("option", selected=True)).to_contain_text(
            option
        )
        box.press("Enter")
    else:
        choice.click()
    expect(box).to_have_attribute("aria-expanded", "false")


def label_id(label: str) -> str:
    return {"From": "origin", "To": "destination"}[label]


def flight_numbers(page: Page, panel: str) -> list[str]:
    return page.locator(f"#{panel} .flight-number").all_inner_texts()


@pytest.fixture
def searcher(page: Page, site: Any, unique: str, sign_in: Any) -> str:
    username = f"search{unique}"
    site.register(username)
    sign_in(page, username, PASSWORD, path="/login?next=/")
    return username


def test_search_with_autocomplete_tabs_and_a_persisted_stacked_view(
    page: Page, site: Any, searcher: str, screenshot: Any
) -> None:
    expect(page).to_have_url(site.url("/"))
    pick_airport(page, "From", "zur", "Zurich (ZRH)", keyboard=True)
    pick_airport(page, "To", "lhr", "London (LHR)", keyboard=False)
    depart = (date.today() + timedelta(days=20)).isoformat()
    back = (date.today() + timedelta(days=27)).isoformat()
    page.get_by_label("Departure date").fill(depart)
    page.get_by_label("Return date").fill(back)
    page.get_by_label("Adults").fill("2")
    page.get_by_role("button", name="Search flights").click()

    results = page.get_by_role("region", name="Flights")
    expect(results).to_be_visible()
    expect(page.locator("#results-summary")).to_contain_text("ZRH → LHR, 2 adults")
    outbound_tab = page.get_by_role("tab", name="Outbound")
    expect(outbound_tab).to_have_attribute("aria-selected", "true")
    outbound = flight_numbers(page, "panel-outbound")
    assert outbound

    page.get_by_role("tab", name="Return").click()
    expect(page.get_by_role("tabpanel")).to_be_visible()
    inbound = flight_numbers(page, "panel-return")
    assert inbound

    # Keyboard: the arrow keys move between tabs (automatic activation).
    page.get_by_role("tab", name="Return").press("ArrowRight")
    all_tab = page.get_by_role("tab", name="All")
    expect(all_tab).to_have_attribute("aria-selected", "true")
    expect(all_tab).to_be_focused()
    rows = page.locator("#panel-all tbody tr")
    expect(rows).to_have_count(len(outbound) + len(inbound))
    directions = page.locator("#panel-all .badge.direction").all_inner_texts()
    assert directions.count("Outbound") == len(outbound)
    assert directions.count("Return") == len(inbound)

    # "All" is sorted by departure instant: compare with the API's own answer.
    token = site.api_login(searcher, PASSWORD)
    answer = httpx.get(
        site.url("/api/flights/search"),
        params={
            "origin": "ZRH",
            "destination": "LHR",
            "depart": depart,
            "return": back,
            "adults": "2",
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    both = [(f, "Outbound") for f in answer["outbound"]] + [
        (f, "Return") for f in answer["inbound"]
    ]
    expected = [
        f["flight_number"]
        for f, _ in sorted(both, key=lambda pair: _instant(pair[0]["departs_at"]))
    ]
    assert flight_numbers(page, "panel-all") == expected

    page.get_by_role("tab", name="Stacked").click()
    stacked = page.locator("#panel-stacked")
    expect(stacked.get_by_role("region", name="Outbound flights")).to_be_visible()
    expect(stacked.get_by_role("region", name="Return flights")).to_be_visible()
    sections = stacked.locator("section").evaluate_all("s => s.map(e => e.className)")
    assert sections == ["split outbound", "split return"], "outbound above return"
    outbound_box = stacked.get_by_role("region", name="Outbound flights").bounding_box()
    return_box = stacked.get_by_role("region", name="Return flights").bounding_box()
    assert outbound_box
    assert return_box
    assert outbound_box["y"] + outbound_box["height"] <= return_box["y"]
    screenshot(page, "search-stacked-light")

    page.reload()
    expect(page.get_by_role("tab", name="Stacked", include_hidden=True)).to_have_attribute(
        "aria-selected", "true"
    )
    pick_airport(page, "From", "ZRH", "Zurich (ZRH)", keyboard=True)
    pick_airport(page, "To", "LHR", "London (LHR)", keyboard=True)
    page.get_by_label("One way").check()
    expect(page.get_by_label("Return date")).to_be_disabled()
    page.get_by_role("button", name="Search flights").click()
    expect(page.get_by_role("tab", name="Stacked")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-stacked")).to_contain_text("One-way search: no return flights.")


def _instant(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_airport_suggestions_are_keyboard_navigable_and_escape_closes_them(
    page: Page, site: Any
) -> None:
    """Anonymous visitors may look airports up too; Escape closes, then clears."""
    page.goto("/")
    box = page.get_by_role("combobox", name="From")
    box.fill("lon")
    expect(page.get_by_role("listbox")).to_be_visible()
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "origin-listbox-1")
    box.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", "origin-listbox-0")
    box.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(box).to_have_value("lon")
    box.press("Escape")
    expect(box).to_have_value("")


def _fulfil(route: Route, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
    route.fulfill(status=status, body=json.dumps(body), headers=headers)


def test_stale_results_are_flagged_and_a_503_offers_a_retry(
    page: Page, site: Any, searcher: str, watch: Any
) -> None:
    """The provider failing is simulated at the network edge of the page: a stored
    result (``meta.stale``) and then no result at all (503 with ``retry_after``)."""
    watch.allow(503)
    pick_airport(page, "From", "ZRH", "Zurich (ZRH)", keyboard=True)
    pick_airport(page, "To", "LHR", "London (LHR)", keyboard=True)
    real: dict[str, Any] = {}

    def stale(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        real.update(body)
        body["meta"].update({"source": "cache", "stale": True})
        _fulfil(route, 200, body, {"Content-Type": "application/json"})

    page.route("**/api/flights/search?*", stale)
    page.get_by_role("button", name="Search flights").click()
    notice = page.locator("#stale-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("may be out of date")
    assert real["outbound"]

    page.unroute("**/api/flights/search?*")
    problem = {
        "type": "urn:authkit:error:provider_unavailable",
        "title": "Service Unavailable",
        "status": 503,
        "detail": "The flight provider is unavailable.",
        "code": "provider_unavailable",
        "trace_id": "t",
        "retry_after": 3,
    }
    calls: list[str] = []

    def unavailable(route: Route) -> None:
        calls.append(route.request.url)
        _fulfil(
            route,
            503,
            problem,
            {"Content-Type": "application/problem+json", "Retry-After": "3"},
        )

    page.route("**/api/flights/search?*", unavailable)
    page.get_by_role("button", name="Search flights").click()
    alert = page.locator("#search-problem")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("temporarily unavailable")
    expect(alert).to_contain_text("try again in 3 seconds")
    retry = page.get_by_role("button", name="Try again")
    expect(retry).to_be_disabled()
    page.unroute("**/api/flights/search?*")
    expect(retry).to_be_enabled(timeout=6000)
    retry.click()
    expect(alert).to_be_hidden()
    expect(notice).to_be_hidden()
    assert len(calls) == 1


def test_searching_needs_a_sign_in(page: Page, site: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()
    pick_airport(page, "From", "ZRH", "Zurich (ZRH)", keyboard=True)
    pick_airport(page, "To", "LHR", "London (LHR)", keyboard=True)
    page.get_by_role("button", name="Search flights").click()
    expect(page.get_by_role("alert").filter(has_text="Sign in to search")).to_be_visible()
