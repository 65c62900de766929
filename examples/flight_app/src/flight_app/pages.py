"""The reference app's own page: flight search at ``/``, in the site layout.

The generic pages (sign-in, registration, account, admin) come from
``authkit_flask``; the app only adds its search page and puts every page in one
site layout by overriding ``authkit/base.html`` in its template folder
(``templates/``, searched before the adapter's). The page is the same for every
visitor: it signs itself in from the browser session cookie, and the search API
asks for the bearer token it keeps in memory. Scripts and styles are files under
``static/app/`` (ES modules, no build step), so the adapter's strict
``Content-Security-Policy`` holds.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

pages_blueprint = Blueprint("flight_app_pages", __name__)


@pages_blueprint.get("/")
def search() -> str:
    return render_template("search.html")


def install_pages(app: Flask) -> None:
    """Register the search page (the app's template and static folders hold the rest)."""
    app.register_blueprint(pages_blueprint)


__all__ = ["install_pages", "pages_blueprint"]
