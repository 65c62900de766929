"""The reference app's pages: the search page at ``/`` and the site layout that
the adapter's pages are put in (by overriding ``authkit/base.html``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import flight_app

PACKAGE = Path(flight_app.__file__).parent


def test_the_search_page_is_served_under_the_strict_csp(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert 'role="combobox"' in html
    assert 'role="tablist"' in html
    assert "/static/app/search.js" in html


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/login",
        "/register",
        "/account",
        "/admin",
        "/reset-password",
        "/verify-email",
        "/confirm-email",
    ],
)
def test_every_page_is_in_the_site_layout(client: FlaskClient, path: str) -> None:
    html = client.get(path).get_data(as_text=True)
    assert "Flight App</a>" in html
    assert 'href="/">Search flights</a>' in html or 'aria-current="page">Search flights' in html
    assert "/static/app/app.css" in html
    assert html.index("theme-init.js") < html.index("authkit.css") < html.index("app.css")


def test_the_app_static_files_are_served(client: FlaskClient) -> None:
    for path in sorted((PACKAGE / "static" / "app").iterdir()):
        response = client.get(f"/static/app/{path.name}")
        assert response.status_code == 200, path.name
        response.close()


@pytest.mark.parametrize(
    "template",
    sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.glob("templates/**/*.html")),
)
def test_no_template_has_inline_script_style_or_handlers(template: str) -> None:
    text = (PACKAGE / template).read_text("utf-8")
    for match in re.finditer(r"<script\b[^>]*>", text):
        assert "src=" in match.group(0), f"{template}: inline script"
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=", text), template
