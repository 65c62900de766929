"""The generic browser pages, and the pages that emailed links open.

Sign-in, registration, account and the admin console; ``/reset-password``,
``/verify-email`` and ``/confirm-email`` for the links.

Jinja templates under ``templates/authkit/`` and small ES modules under
``static/authkit/`` (served at ``/static/authkit/``): no build step, nothing from
another origin, no inline script, so the default ``Content-Security-Policy``
(``script-src 'self'``) holds. The pages are the same for every visitor and carry
no personal data: each one signs itself in from the browser session cookie (see
``_browser``) and reads what it shows from the JSON API with the access token it
keeps in memory. So the API, not the page, decides who sees what: ``/admin``
renders for anyone, and its data is refused (403) to all but admins.

Emailed links carry their single-use token in the URL *fragment*
(``/reset-password#token=...``): a fragment is never sent to the server, so the
token stays out of access logs, proxies and ``Referer`` headers. The page's script
reads it, drops it from the address bar and history, and posts it to the API only
when the user acts (a click), so a mail scanner that opens the link spends nothing.

Overriding, as Flask-Security does: Flask searches the app's template folder
before a blueprint's, so an app that ships ``templates/authkit/login.html``
replaces the sign-in page, and one that ships ``templates/authkit/base.html``
puts every page inside its own site layout (see ``authkit/base.html`` for the
blocks a layout provides and ``authkit/_head.html`` for what its ``<head>``
includes).
"""

from __future__ import annotations

from typing import Any, Final

from flask import Blueprint, render_template

from authkit_flask._state import get_state

PAGES_STATIC_PATH: Final = "/static/authkit"

pages_blueprint = Blueprint(
    "authkit_pages",
    __name__,
    template_folder="templates",
    static_folder="static/authkit",
    static_url_path=PAGES_STATIC_PATH,
)


@pages_blueprint.app_context_processor
def page_context() -> dict[str, Any]:
    """What every template (the app's too) can use to build a page around authkit's."""
    state = get_state()
    return {
        "authkit_site_name": state.kit.config.service_name,
        "authkit_home": state.pages_home,
        "authkit_live": state.live is not None,
        "authkit_logs": bool(state.log_sources),
        "authkit_registration_open": state.kit.config.registration_open,
    }


@pages_blueprint.get("/login")
def login() -> str:
    return render_template("authkit/login.html")


@pages_blueprint.get("/register")
def register() -> str:
    return render_template("authkit/register.html")


@pages_blueprint.get("/account")
def account() -> str:
    return render_template("authkit/account.html")


@pages_blueprint.get("/admin")
def admin() -> str:
    return render_template("authkit/admin.html")


@pages_blueprint.get("/reset-password")
def reset_password() -> str:
    return render_template("authkit/reset_password.html")


@pages_blueprint.get("/verify-email")
def verify_email() -> str:
    return render_template("authkit/verify_email.html")


@pages_blueprint.get("/confirm-email")
def confirm_email() -> str:
    return render_template("authkit/confirm_email.html")


__all__ = ["PAGES_STATIC_PATH", "pages_blueprint"]
