"""Write the reference app's OpenAPI document and its Markdown rendering into docs/.

``docs/openapi.json`` is the document ``GET /openapi.json`` serves, and
``docs/http-openapi.md`` renders it as plain Markdown (the docs site loads nothing
at run time). ``tests/flight_app/test_openapi.py`` fails when either is stale;
run this to refresh them::

    python3 -m uv run --frozen python scripts/openapi_docs.py [--check]

With ``--check`` nothing is written; the exit status says whether they are fresh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = ROOT / "docs" / "openapi.json"
PAGE = ROOT / "docs" / "http-openapi.md"
HEADING = "# HTTP API reference (OpenAPI)"


def render(document: dict[str, Any]) -> tuple[str, str]:
    """The two files' text for ``document``."""
    from authkit_flask import openapi_markdown

    intro = (
        f"{HEADING}\n\n"
        "Generated from the routes and their pydantic models by "
        "`scripts/openapi_docs.py`; the machine-readable document is "
        "[openapi.json](openapi.json), also served by the app at `GET /openapi.json`. "
        "See [HTTP API](http-api.md) for the conventions behind it."
    )
    page = openapi_markdown(document, heading=intro)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n", page


def build_document() -> dict[str, Any]:
    """The reference app's document, from an app built in a throw-away instance folder."""
    os.environ["APP_ENV"] = "test"
    for key in [k for k in os.environ if k.startswith("FLIGHT_APP_")]:
        del os.environ[key]
    from authkit_flask import openapi_document
    from flight_app import migrate
    from flight_app.app import OPENAPI_INFO, close_app, create_app

    with tempfile.TemporaryDirectory(prefix="openapi-docs-") as folder:
        database = f"sqlite:///{folder}/app.db"
        migrate.upgrade(database)
        app = create_app(instance_path=Path(folder), database_url=database)
        try:
            return openapi_document(
                app,
                title=OPENAPI_INFO.title,
                version=OPENAPI_INFO.version,
                description=OPENAPI_INFO.description,
            )
        finally:
            close_app(app)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Refresh docs/openapi.json and its page.")
    parser.add_argument("--check", action="store_true", help="only report staleness")
    args = parser.parse_args(argv)
    text, page = render(build_document())
    stale = [
        path
        for path, wanted in ((DOCUMENT, text), (PAGE, page))
        if not path.exists() or path.read_text() != wanted
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run scripts/openapi_docs.py)")
        return 1 if stale else 0
    DOCUMENT.write_text(text)
    PAGE.write_text(page)
    print(f"wrote {DOCUMENT.relative_to(ROOT)} and {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
