"""Whatever bytes a client sends as a JSON body, the answer is a 4xx problem, never a 500.

Regression (security probe, finding 1): about 1,000 levels of ``[`` sent to
``/auth/login`` answered 500 and logged a RecursionError traceback each time. The
fix is in the adapter's one JSON decoder, so every endpoint that takes a body
gets it; the fuzzing below covers depth, size, invalid UTF-8 and lone surrogates.
"""

from __future__ import annotations

import json
import logging

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.errors import InvalidRequest
from authkit_flask._schemas import decode_json

BODY_ENDPOINTS = ("/auth/login", "/auth/refresh", "/auth/register", "/auth/logout")
CLIENT_ERRORS = {400, 401, 413, 422, 429}


def deep(depth: int, opener: str = "[") -> bytes:
    """``depth`` nested arrays, or objects (``{"a": {"a": ... 1}}``)."""
    if opener == "{":
        return ('{"a":' * depth + "1" + "}" * depth).encode()
    return ("[" * depth + "]" * depth).encode()


@pytest.mark.parametrize("endpoint", BODY_ENDPOINTS)
@pytest.mark.parametrize("body", [deep(1_000), deep(100_000), deep(5_000, "{")])
def test_deeply_nested_json_is_400_invalid_request(
    client: FlaskClient,
    endpoint: str,
    body: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR):
        response = client.post(endpoint, data=body, content_type="application/json")
    assert response.status_code == 400, response.get_data(as_text=True)[:200]
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "invalid_request"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no traceback logged"


def test_the_decoder_turns_recursion_into_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        decode_json(deep(50_000))
    with pytest.raises(InvalidRequest):
        decode_json(b"\xff\xfe{}")
    assert decode_json('{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    endpoint=st.sampled_from(BODY_ENDPOINTS),
    body=st.one_of(
        st.binary(max_size=512),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.integers(min_value=1, max_value=3_000).map(deep),
        st.text(max_size=64).map(lambda t: json.dumps({"username": t, "password": "x"}).encode()),
        st.sampled_from(
            [
                b'{"username": "\\ud800", "password": "\\udfff"}',
                b'{"refresh_token": "\\ud83d"}',
                b'{"username": "a\x00b", "password": "p"}',
            ]
        ),
    ),
)
def test_no_body_ever_gets_a_500(client: FlaskClient, endpoint: str, body: bytes) -> None:
    response = client.post(endpoint, data=body, content_type="application/json")
    assert response.status_code in CLIENT_ERRORS | {200, 201, 204}, response.get_data()[:300]
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
