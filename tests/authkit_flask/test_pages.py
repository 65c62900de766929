"""The adapter's browser pages: served, CSP-clean, and overridable by the app.

The pages are the same HTML for everyone (each signs itself in from the browser
session), so these tests look at what is served; the browser suites
(``tests/e2e/browser``) drive them in Chromium.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import authkit_flask
from authkit import AuthkitConfig

PAGES = [
    "/login",
    "/register",
    "/account",
    "/admin",
    "/reset-password",
    "/verify-email",
    "/confirm-email",
]
PACKAGE = Path(authkit_flask.__file__).parent
TEMPLATES = PACKAGE / "templates" / "authkit"
STATIC = PACKAGE / "static" / "authkit"


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_html_under_the_strict_csp(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    html = response.get_data(as_text=True)
    assert '<html lang="en"' in html
    # The theme script blocks in <head> before the stylesheet: no flash of the wrong theme.
    assert html.index("theme-init.js") < html.index("authkit.css") < html.index("</head>")


@pytest.mark.parametrize("template", sorted(p.name for p in TEMPLATES.glob("*.html")))
def test_no_template_has_inline_script_style_or_handlers(template: str) -> None:
    """``script-src 'self'`` and ``style-src 'self'`` refuse all three."""
    text = (TEMPLATES / template).read_text("utf-8")
    for match in re.finditer(r"<script\b[^>]*>", text):
        assert "src=" in match.group(0), f"{template}: inline script {match.group(0)}"
    assert not re.search(r"<style\b", text), f"{template}: inline <style>"
    assert not re.search(r"\sstyle=", text), f"{template}: style attribute"
    assert not re.search(r"\son[a-z]+=", text), f"{template}: inline event handler"


def test_every_static_file_is_served_with_its_type(client: FlaskClient) -> None:
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    files = sorted(STATIC.iterdir())
    assert {p.suffix for p in files} <= set(types)
    for path in files:
        response = client.get(f"/static/authkit/{path.name}")
        assert response.status_code == 200, path.name
        assert response.mimetype == types[path.suffix], path.name
        response.close()


def test_scripts_load_nothing_from_another_origin() -> None:
    """Modules import relative paths and fetch this site's paths only."""
    for path in STATIC.glob("*.js"):
        text = path.read_text("utf-8")
        assert not re.search(r"""(?:from|import\()\s*["'](?!\.\.?/)""", text), path.name
        assert not re.search(r"https?://", text), path.name


def test_an_app_template_overrides_the_adapter_one(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """As in Flask-Security: the app's template folder is searched first."""
    folder = tmp_path / "templates" / "authkit"
    folder.mkdir(parents=True)
    (folder / "login.html").write_text("<p>our own sign-in page</p>", "utf-8")
    (folder / "base.html").write_text(
        "<!doctype html><title>{% block title %}{% endblock %}</title>"
        '<div class="app-layout">{% block content %}{% endblock %}</div>',
        "utf-8",
    )
    app = make_app()
    app.template_folder = str(tmp_path / "templates")
    client = app.test_client()
    assert client.get("/login").get_data(as_text=True) == "<p>our own sign-in page</p>"
    register = client.get("/register").get_data(as_text=True)
    assert '<div class="app-layout">' in register
    assert 'id="register-form"' in register


def test_the_header_follows_the_settings(
    make_app: Callable[..., Flask], config: AuthkitConfig
) -> None:
    closed = make_app(dataclasses.replace(config, registration_open=False), pages_home="/app")
    html = closed.test_client().get("/login").get_data(as_text=True)
    assert 'href="/register"' not in html
    assert 'data-authkit-home="/app"' in html
    with pytest.raises(ValueError, match="pages_home"):
        make_app(pages_home="https://elsewhere.example")


def test_the_admin_page_knows_which_features_are_on(make_app: Callable[..., Flask]) -> None:
    full = make_app().test_client().get("/admin").get_data(as_text=True)
    assert 'data-live="1"' in full
    assert 'data-logs="1"' in full
    assert 'id="tab-logs"' in full
    bare = make_app(log_sources={}, live_updates=None).test_client().get("/admin")
    html = bare.get_data(as_text=True)
    assert 'data-live="0"' in html
    assert 'data-logs="0"' in html
    assert 'id="tab-logs"' not in html


def test_the_sign_in_page_offers_a_forgotten_password_form(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert 'id="forgot-toggle"' in html
    assert 'aria-controls="forgot-section"' in html
    assert re.search(r'<form id="forgot-form"[^>]*>', html)
    assert 'name="email" type="email"' in html


def test_the_account_page_has_email_change_verification_and_deletion(client: FlaskClient) -> None:
    html = client.get("/account").get_data(as_text=True)
    for form in ("email-form", "verify-request-form", "delete-form"):
        assert f'id="{form}"' in html
    assert 'name="new_email" type="email"' in html
    assert 'name="confirm"' in html


@pytest.mark.parametrize(
    ("path", "endpoint", "script"),
    [
        ("/reset-password", None, "reset-password.js"),
        ("/verify-email", "/auth/email/verify", "email-link.js"),
        ("/confirm-email", "/auth/email/change/confirm", "email-link.js"),
    ],
)
def test_emailed_link_pages_keep_the_token_out_of_the_request(
    client: FlaskClient, path: str, endpoint: str | None, script: str
) -> None:
    """The token is in the fragment: the page is the same for everyone, and not cached."""
    response = client.get(path, query_string={"token": "should-not-matter"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "should-not-matter" not in html
    assert f"/static/authkit/{script}" in html
    if endpoint:
        assert f'data-endpoint="{endpoint}"' in html


def test_link_scripts_drop_the_token_from_the_address_bar() -> None:
    text = (STATIC / "link-token.js").read_text("utf-8")
    assert "location.hash" in text
    assert "history.replaceState" in text
