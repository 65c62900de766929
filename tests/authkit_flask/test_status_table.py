"""The adapter's one table from core error codes to HTTP statuses is complete."""

from __future__ import annotations

import pytest

from authkit import AuthkitError
from authkit_flask._problem import STATUS_BY_CODE


def _all_errors() -> list[type[AuthkitError]]:
    """The core's errors; an app's own subclasses map their codes in their own handlers."""
    found: list[type[AuthkitError]] = [AuthkitError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return [e for e in found if e.__module__.startswith("authkit.")]


@pytest.mark.parametrize("error", _all_errors(), ids=lambda e: e.code)
def test_every_code_has_an_http_status(error: type[AuthkitError]) -> None:
    """Every core error code maps to a status: no silent 500 fallback."""
    assert error.code in STATUS_BY_CODE


def test_client_errors_are_4xx_and_server_errors_5xx() -> None:
    server_side = {"authkit_error", "configuration_error", "keyring_error", "internal_error"}
    for code, status in STATUS_BY_CODE.items():
        if code in server_side:
            assert status == 500, code
        elif code in {"service_unavailable", "mail_delivery_failed"}:
            assert status == 503
        else:
            assert 400 <= status < 500, code


def test_server_side_errors_hide_their_detail_from_clients() -> None:
    """Regression (review): a 5xx from the core (a bad key ring file) answers a generic
    detail; paths and settings stay in the server log."""
    from flask import Flask

    from authkit.errors import KeyRingError
    from authkit_flask._problem import problem_from_error

    with Flask(__name__).test_request_context():
        response = problem_from_error(KeyRingError("Key ring file /srv/keys.json is bad."))
    body = response.get_json()
    assert response.status_code == 500
    assert "/srv/keys.json" not in response.get_data(as_text=True)
    assert body["detail"] == "An internal error occurred."
