"""The admin user endpoints of API.md over HTTP: /auth/users listing, detail, edit, bulk.

Every parameter and every error, on memory stores; whatever the stores answer
(search, filters, order, ids, bulk changes, the last-admin rule) also on SQLite
and (when configured) PostgreSQL. The admin signs in over HTTP; most other
accounts are put straight into the store (with a placeholder hash) so a listing
of dozens of users stays quick and the registration throttle (10 per address per
hour) is not in the way.

Chosen behaviours the contract leaves open, pinned here:
* ``pages`` is ``ceil(total / page_size)``, so 0 when nothing matches; a page past
  the last one is 200 with no items.
* empty query values count as absent; unknown query parameters are ignored.
* a bulk id that is not a user id (not the canonical UUID text) is reported in
  ``not_found`` like an unknown one; non-string ids are a 422.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from authkit import Authkit
from authkit.users import NewUser, User
from authkit_flask import AuthKit

Register = Callable[..., TestResponse]
Login = Callable[..., TestResponse]
SignedIn = Callable[..., dict[str, Any]]
ExpectProblem = Callable[[TestResponse, int, str], dict[str, Any]]
Seed = Callable[..., User]
ReadLog = Callable[[str], list[dict[str, Any]]]

USER_KEYS = {
    "id",
    "username",
    "email",
    "email_verified",
    "roles",
    "is_active",
    "mfa_enabled",
    "created_at",
    "last_login_at",
}
BASE = datetime(2026, 1, 1, tzinfo=UTC)
EVERY_BACKEND = pytest.mark.parametrize(
    "stores",
    ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
    indirect=True,
)
"""For answers the stores give: memory, SQLite and PostgreSQL."""


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def seed_user(kit: Authkit) -> Seed:
    """``seed_user(username, *, email=None, roles=("user",), active=True)``: store-level user.

    Each is created one second after the previous (from 2026-01-01), so creation
    order is listing order.
    """
    counter = iter(range(10**6))

    def call(
        username: str,
        *,
        email: str | None = None,
        roles: tuple[str, ...] = ("user",),
        active: bool = True,
    ) -> User:
        return kit.stores.users.create(
            NewUser(
                id=str(uuid.uuid4()),
                username=username,
                email=email or f"{username}@example.com",
                password_hash="$argon2id$placeholder",
                roles=roles,
                is_active=active,
                created_at=BASE + timedelta(seconds=next(counter)),
            )
        )

    return call


@pytest.fixture
def admin(signed_in: SignedIn, kit: Authkit) -> dict[str, Any]:
    """An active admin ("root") signed in: its token pair, ``user`` and ``headers``."""
    pair = signed_in("root")
    promoted = kit.stores.users.set_roles(pair["user"]["id"], ["admin", "user"])
    assert promoted is not None
    pair["headers"] = bearer(pair["access_token"])
    return pair


def list_users(client: FlaskClient, admin: dict[str, Any], query: str = "") -> TestResponse:
    return client.get(f"/auth/users{query}", headers=admin["headers"])


def usernames(response: TestResponse) -> list[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return [item["username"] for item in response.get_json()["items"]]


# -- authentication and authorisation -------------------------------------------------

ENDPOINTS = [
    ("GET", "/auth/users", None),
    ("GET", "/auth/users/{id}", None),
    ("PATCH", "/auth/users/{id}", {"is_active": False}),
    ("POST", "/auth/users/bulk", {"action": "deactivate", "ids": ["{id}"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_a_bearer_token(
    client: FlaskClient,
    admin: dict[str, Any],
    expect_problem: ExpectProblem,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    target = admin["user"]["id"]
    payload = _fill(body, target)
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic x"}):
        response = client.open(path.format(id=target), method=method, json=payload, headers=headers)
        expect_problem(response, 401, "invalid_token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_every_endpoint_needs_the_admin_role(
    client: FlaskClient,
    admin: dict[str, Any],
    signed_in: SignedIn,
    expect_problem: ExpectProblem,
    kit: Authkit,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    user = signed_in("mallory")
    target = admin["user"]["id"]
    response = client.open(
        path.format(id=target),
        method=method,
        json=_fill(body, target),
        headers=bearer(user["access_token"]),
    )
    expect_problem(response, 403, "forbidden")
    assert kit.stores.users.get(target) is not None
    assert kit.stores.users.get(target).is_active  # type: ignore[union-attr]


def _fill(body: dict[str, Any] | None, target: str) -> dict[str, Any] | None:
    if body is None:
        return None
    return {k: [target] if v == ["{id}"] else v for k, v in body.items()}


@EVERY_BACKEND
def test_a_demoted_admin_loses_access_at_once(
    client: FlaskClient, admin: dict[str, Any], kit: Authkit, signed_in: SignedIn
) -> None:
    """The role is read from the user record, not the token: demotion bites immediately."""
    other = signed_in("deputy")
    kit.stores.users.set_roles(other["user"]["id"], ["admin"])
    assert list_users(client, {"headers": bearer(other["access_token"])}).status_code == 200
    response = client.patch(
        f"/auth/users/{other['user']['id']}", json={"roles": ["user"]}, headers=admin["headers"]
    )
    assert response.status_code == 200
    assert list_users(client, {"headers": bearer(other["access_token"])}).status_code == 403


# -- GET /auth/users --------------------------------------------------------------------


@EVERY_BACKEND
def test_listing_returns_user_objects_and_meta(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    seed_user("bob", roles=("user", "ops"))
    response = list_users(client, admin)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"items", "meta"}
    assert body["meta"] == {
        "page": 1,
        "page_size": 20,
        "total": 2,
        "pages": 1,
        "total_exact": True,
        "next_cursor": None,
    }
    assert all(set(item) == USER_KEYS for item in body["items"])
    # Created 2026-01-01, before root's registration today: ordered by created_at.
    assert [item["username"] for item in body["items"]] == ["bob", "root"]
    bob = body["items"][0]
    assert bob["roles"] == ["ops", "user"]
    assert bob["created_at"] == "2026-01-01T00:00:00Z"
    text = response.get_data(as_text=True)
    assert "argon2" not in text
    assert "password" not in text


@EVERY_BACKEND
def test_pagination_meta_and_stable_order(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    for i in range(24):
        seed_user(f"user{i:02d}")
    everyone = [f"user{i:02d}" for i in range(24)] + ["root"]
    seen: list[str] = []
    for page in range(1, 5):
        response = list_users(client, admin, f"?page={page}&page_size=7")
        meta = response.get_json()["meta"]
        assert (meta.pop("next_cursor") is None) == (page == 4)
        assert meta == {
            "page": page,
            "page_size": 7,
            "total": 25,
            "pages": 4,
            "total_exact": True,
        }
        seen += usernames(response)
    assert seen == everyone
    assert len(usernames(list_users(client, admin, "?page=4&page_size=7"))) == 4
    past = list_users(client, admin, "?page=5&page_size=7")
    assert usernames(past) == []
    assert past.get_json()["meta"] == {
        "page": 5,
        "page_size": 7,
        "total": 25,
        "pages": 4,
        "total_exact": True,
        "next_cursor": None,
    }
    exact = list_users(client, admin, "?page_size=5").get_json()["meta"]
    assert (exact["total"], exact["pages"]) == (25, 5)
    assert list_users(client, admin, "?page_size=100").get_json()["meta"]["pages"] == 1
    assert len(usernames(list_users(client, admin, "?page_size=1&page=25"))) == 1


@EVERY_BACKEND
def test_no_match_gives_total_0_and_pages_0(client: FlaskClient, admin: dict[str, Any]) -> None:
    response = list_users(client, admin, "?q=nobody-has-this")
    assert response.get_json() == {
        "items": [],
        "meta": {
            "page": 1,
            "page_size": 20,
            "total": 0,
            "pages": 0,
            "total_exact": True,
            "next_cursor": None,
        },
    }


@EVERY_BACKEND
def test_q_matches_username_or_email_case_insensitively(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    seed_user("Heliotrope", email="h@example.com")
    seed_user("plain", email="Fan.Of.HELIOTROPES@Garden.Example")
    seed_user("other", email="other@example.com")
    for q in ("heliotrope", "HELIOTROPE", "lioTro"):
        response = list_users(client, admin, f"?q={q}")
        assert usernames(response) == ["Heliotrope", "plain"], q
        assert response.get_json()["meta"]["total"] == 2
    assert usernames(list_users(client, admin, "?q=GARDEN.example")) == ["plain"]
    assert usernames(list_users(client, admin, "?q=ROOT%40example")) == ["root"]


@EVERY_BACKEND
def test_q_wildcards_are_literal(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    """``%`` and ``_`` in q match themselves (URL-encoded as %25 and _)."""
    seed_user("a_c", email="first@example.com")
    seed_user("abc", email="second@example.com")
    seed_user("pct", email="fifty%off@example.com")
    assert usernames(list_users(client, admin, "?q=a_c")) == ["a_c"]
    assert usernames(list_users(client, admin, "?q=_")) == ["a_c"]
    assert usernames(list_users(client, admin, "?q=%25")) == ["pct"]
    assert usernames(list_users(client, admin, "?q=y%25o")) == ["pct"]
    assert usernames(list_users(client, admin, "?q=%5C")) == []


@EVERY_BACKEND
def test_is_active_and_role_filters(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    seed_user("ops-on", roles=("ops", "user"))
    seed_user("ops-off", roles=("ops",), active=False)
    seed_user("user-off", active=False)
    for value in ("true", "1", "True"):
        assert usernames(list_users(client, admin, f"?is_active={value}")) == ["ops-on", "root"]
    for value in ("false", "0"):
        assert usernames(list_users(client, admin, f"?is_active={value}")) == [
            "ops-off",
            "user-off",
        ]
    assert usernames(list_users(client, admin, "?role=ops")) == ["ops-on", "ops-off"]
    assert usernames(list_users(client, admin, "?role=admin")) == ["root"]
    assert usernames(list_users(client, admin, "?role=ops&is_active=false")) == ["ops-off"]
    response = list_users(client, admin, "?role=ops&is_active=true&q=OPS")
    assert usernames(response) == ["ops-on"]
    assert response.get_json()["meta"]["total"] == 1
    assert usernames(list_users(client, admin, "?role=nobody")) == []


@EVERY_BACKEND
def test_empty_and_unknown_query_values_are_ignored(
    client: FlaskClient, admin: dict[str, Any]
) -> None:
    response = list_users(client, admin, "?q=&page=&page_size=&is_active=&role=&sort=name")
    assert usernames(response) == ["root"]
    assert response.get_json()["meta"] == {
        "page": 1,
        "page_size": 20,
        "total": 1,
        "pages": 1,
        "total_exact": True,
        "next_cursor": None,
    }


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page_size=0", "page_size"),
        ("page_size=101", "page_size"),
        ("page_size=ten", "page_size"),
        ("is_active=maybe", "is_active"),
        ("role=Admin", "role"),
        ("role=a%20b", "role"),
        ("role=" + "r" * 65, "role"),
        ("q=" + "x" * 321, "q"),
    ],
)
def test_out_of_range_or_ill_typed_parameters_give_422(
    client: FlaskClient,
    admin: dict[str, Any],
    expect_problem: ExpectProblem,
    query: str,
    field: str,
) -> None:
    body = expect_problem(list_users(client, admin, f"?{query}"), 422, "validation_error")
    assert [e["loc"] for e in body["errors"]] == [["query", field]]
    assert all(isinstance(e["msg"], str) and e["msg"] for e in body["errors"])


def test_every_bad_parameter_is_reported_at_once(
    client: FlaskClient, admin: dict[str, Any], expect_problem: ExpectProblem
) -> None:
    response = list_users(client, admin, "?page=0&page_size=101&is_active=maybe")
    body = expect_problem(response, 422, "validation_error")
    assert sorted(e["loc"][1] for e in body["errors"]) == ["is_active", "page", "page_size"]


# -- GET /auth/users?cursor= (keyset paging) -------------------------------------------


def _numbered(client: FlaskClient, admin: dict[str, Any], query: str) -> list[str]:
    seen: list[str] = []
    page = 1
    while names := usernames(list_users(client, admin, f"?page={page}&page_size=5{query}")):
        seen += names
        page += 1
    return seen


@EVERY_BACKEND
def test_following_next_cursor_gives_the_numbered_pages(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    for i in range(24):
        seed_user(
            f"user{i:02d}", roles=("ops", "user") if i % 3 == 0 else ("user",), active=i % 4 != 0
        )
    for query in ("", "&q=USER1", "&is_active=true", "&role=ops&is_active=false", "&q=nobody"):
        first = list_users(client, admin, f"?page_size=5{query}")
        followed = usernames(first)
        meta = first.get_json()["meta"]
        total = meta["total"]
        while meta["next_cursor"] is not None:
            response = list_users(
                client, admin, f"?page_size=5{query}&cursor={meta['next_cursor']}"
            )
            meta = response.get_json()["meta"]
            assert meta["page"] is None
            assert (meta["total"], meta["total_exact"], meta["page_size"]) == (total, True, 5)
            followed += usernames(response)
        assert followed == _numbered(client, admin, query), query


@EVERY_BACKEND
def test_a_cursor_page_is_stable_when_users_are_added(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed
) -> None:
    """A user created while an admin pages does not shift the next page (OFFSET would)."""
    for i in range(4):
        seed_user(f"user{i}")
    first = list_users(client, admin, "?page_size=2").get_json()
    seed_user("newcomer")  # created after user3, before root (registered today)
    second = list_users(client, admin, f"?page_size=2&cursor={first['meta']['next_cursor']}")
    assert usernames(second) == ["user2", "user3"]


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "x" * 300, "%2F%2F", "eyJhIjoxfQ", "WzEsIjIwMjYiLCJ4IiwieSJd"],
)
def test_a_cursor_that_was_not_issued_is_400(
    client: FlaskClient, admin: dict[str, Any], expect_problem: ExpectProblem, cursor: str
) -> None:
    body = expect_problem(list_users(client, admin, f"?cursor={cursor}"), 400, "invalid_request")
    assert "meta.next_cursor" in body["detail"]


def test_a_cursor_must_come_back_with_its_filters(
    client: FlaskClient, admin: dict[str, Any], expect_problem: ExpectProblem, seed_user: Seed
) -> None:
    for i in range(3):
        seed_user(f"user{i}", roles=("ops",))
    cursor = list_users(client, admin, "?role=ops&page_size=1").get_json()["meta"]["next_cursor"]
    assert usernames(list_users(client, admin, f"?role=ops&page_size=2&cursor={cursor}")) == [
        "user1",
        "user2",
    ]
    body = expect_problem(list_users(client, admin, f"?cursor={cursor}"), 400, "invalid_request")
    assert "other filters" in body["detail"]


def test_page_and_cursor_do_not_combine(
    client: FlaskClient, admin: dict[str, Any], expect_problem: ExpectProblem, seed_user: Seed
) -> None:
    for i in range(3):
        seed_user(f"user{i}")
    cursor = list_users(client, admin, "?page_size=1").get_json()["meta"]["next_cursor"]
    body = expect_problem(
        list_users(client, admin, f"?page=2&cursor={cursor}"), 422, "validation_error"
    )
    assert [e["loc"] for e in body["errors"]] == [["query", "page"]]
    # page=1 is the default anyway, and an empty cursor counts as absent.
    assert usernames(list_users(client, admin, f"?page=1&page_size=1&cursor={cursor}")) == ["user1"]
    assert usernames(list_users(client, admin, "?page_size=1&cursor=")) == ["user0"]


# -- GET /auth/users/{id} ---------------------------------------------------------------


@EVERY_BACKEND
def test_get_user(client: FlaskClient, admin: dict[str, Any], seed_user: Seed) -> None:
    bob = seed_user("bob", roles=("ops",))
    response = client.get(f"/auth/users/{bob.id}", headers=admin["headers"])
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == USER_KEYS
    assert (body["id"], body["username"], body["roles"]) == (bob.id, "bob", ["ops"])


@EVERY_BACKEND
@pytest.mark.parametrize("method", ["GET", "PATCH"])
def test_unknown_or_malformed_ids_give_404(
    client: FlaskClient, admin: dict[str, Any], expect_problem: ExpectProblem, method: str
) -> None:
    for user_id in (str(uuid.uuid4()), "not-a-uuid", admin["user"]["id"].upper(), "bulk"):
        response = client.open(
            f"/auth/users/{user_id}", method=method, json={"roles": []}, headers=admin["headers"]
        )
        expect_problem(response, 404, "not_found")


# -- PATCH /auth/users/{id} -------------------------------------------------------------


@EVERY_BACKEND
def test_deactivation_revokes_refresh_tokens_and_access_tokens_stop_working(
    client: FlaskClient,
    admin: dict[str, Any],
    signed_in: SignedIn,
    login: Login,
    expect_problem: ExpectProblem,
) -> None:
    bob = signed_in("bob")
    second = login("bob").get_json()
    assert client.get("/auth/me", headers=bearer(bob["access_token"])).status_code == 200
    response = client.patch(
        f"/auth/users/{bob['user']['id']}", json={"is_active": False}, headers=admin["headers"]
    )
    assert response.status_code == 200
    assert response.get_json()["is_active"] is False
    assert set(response.get_json()) == USER_KEYS
    expect_problem(
        client.get("/auth/me", headers=bearer(bob["access_token"])), 401, "invalid_token"
    )
    for pair in (bob, second):
        refreshed = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        expect_problem(refreshed, 401, "invalid_token")
    # Reactivated, bob signs in afresh; the old sessions stay dead.
    response = client.patch(
        f"/auth/users/{bob['user']['id']}", json={"is_active": True}, headers=admin["headers"]
    )
    assert response.get_json()["is_active"] is True
    assert login("bob").status_code == 200
    refreshed = client.post("/auth/refresh", json={"refresh_token": bob["refresh_token"]})
    expect_problem(refreshed, 401, "invalid_token")


@EVERY_BACKEND
def test_patch_roles(client: FlaskClient, admin: dict[str, Any], seed_user: Seed) -> None:
    bob = seed_user("bob")
    response = client.patch(
        f"/auth/users/{bob.id}", json={"roles": ["ops", "user", "ops"]}, headers=admin["headers"]
    )
    assert response.status_code == 200
    assert response.get_json()["roles"] == ["ops", "user"]
    both = client.patch(
        f"/auth/users/{bob.id}",
        json={"roles": [], "is_active": False},
        headers=admin["headers"],
    )
    assert (both.get_json()["roles"], both.get_json()["is_active"]) == ([], False)
    same = client.patch(f"/auth/users/{bob.id}", json={}, headers=admin["headers"])
    assert same.status_code == 200
    assert same.get_json() == both.get_json()


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"is_active": "no"}, ["body", "is_active"]),
        ({"is_active": 0}, ["body", "is_active"]),
        ({"roles": "admin"}, ["body", "roles"]),
        ({"roles": [1]}, ["body", "roles", "0"]),
        ({"roles": ["Admin"]}, ["body", "roles", "0"]),
        ({"roles": ["ok", "bad role"]}, ["body", "roles", "1"]),
        ({"roles": ["x" * 65]}, ["body", "roles", "0"]),
        ({"roles": [f"r{i}" for i in range(21)]}, ["body", "roles"]),
        ({"email": "new@example.com"}, ["body", "email"]),
    ],
)
def test_patch_validation_errors_give_422(
    client: FlaskClient,
    admin: dict[str, Any],
    seed_user: Seed,
    expect_problem: ExpectProblem,
    kit: Authkit,
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    bob = seed_user("bob")
    response = client.patch(f"/auth/users/{bob.id}", json=body, headers=admin["headers"])
    problem = expect_problem(response, 422, "validation_error")
    assert loc in [e["loc"] for e in problem["errors"]]
    assert kit.stores.users.get(bob.id) == bob


def test_patch_needs_a_json_object(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed, expect_problem: ExpectProblem
) -> None:
    bob = seed_user("bob")
    path = f"/auth/users/{bob.id}"
    expect_problem(
        client.patch(path, data="is_active=false", headers=admin["headers"]),
        400,
        "invalid_request",
    )
    expect_problem(
        client.patch(path, data="{", content_type="application/json", headers=admin["headers"]),
        400,
        "invalid_request",
    )
    expect_problem(client.patch(path, json=[], headers=admin["headers"]), 422, "validation_error")


@EVERY_BACKEND
def test_the_last_admin_cannot_be_deactivated_or_demoted(
    client: FlaskClient,
    admin: dict[str, Any],
    expect_problem: ExpectProblem,
    signed_in: SignedIn,
    kit: Authkit,
) -> None:
    path = f"/auth/users/{admin['user']['id']}"
    for body in ({"is_active": False}, {"roles": ["user"]}, {"roles": [], "is_active": False}):
        problem = expect_problem(
            client.patch(path, json=body, headers=admin["headers"]), 409, "conflict"
        )
        assert "admin" in problem["detail"]
        assert problem["reason"] == "last_admin"
    assert client.get("/auth/me", headers=admin["headers"]).get_json()["roles"] == [
        "admin",
        "user",
    ]
    # With a second active admin, root may step down.
    deputy = signed_in("deputy")
    kit.stores.users.set_roles(deputy["user"]["id"], ["admin"])
    response = client.patch(path, json={"roles": ["user"]}, headers=admin["headers"])
    assert response.status_code == 200
    deputy_headers = bearer(deputy["access_token"])
    problem = expect_problem(
        client.patch(
            f"/auth/users/{deputy['user']['id']}",
            json={"is_active": False},
            headers=deputy_headers,
        ),
        409,
        "conflict",
    )
    assert problem["reason"] == "last_admin"


# -- POST /auth/users/bulk --------------------------------------------------------------


@EVERY_BACKEND
def test_bulk_summary_with_duplicates_unknown_and_malformed_ids(
    client: FlaskClient, admin: dict[str, Any], seed_user: Seed, signed_in: SignedIn
) -> None:
    a = signed_in("anna")
    b = seed_user("bert")
    off = seed_user("off", active=False)
    ghost = str(uuid.uuid4())
    ids = [a["user"]["id"], b.id, ghost, a["user"]["id"], off.id, "junk", b.id]
    response = client.post(
        "/auth/users/bulk", json={"action": "deactivate", "ids": ids}, headers=admin["headers"]
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "action": "deactivate",
        "requested": 5,
        "updated": [a["user"]["id"], b.id],
        "unchanged": [off.id],
        "not_found": [ghost, "junk"],
    }
    refreshed = client.post("/auth/refresh", json={"refresh_token": a["refresh_token"]})
    assert refreshed.status_code == 401
    assert client.get("/auth/me", headers=bearer(a["access_token"])).status_code == 401
    again = client.post(
        "/auth/users/bulk",
        json={"action": "activate", "ids": [off.id, admin["user"]["id"]]},
        headers=admin["headers"],
    ).get_json()
    assert again == {
        "action": "activate",
        "requested": 2,
        "updated": [off.id],
        "unchanged": [admin["user"]["id"]],
        "not_found": [],
    }
    listed = usernames(list_users(client, admin, "?is_active=false"))
    assert listed == ["bert", "anna"]


@EVERY_BACKEND
def test_bulk_of_a_thousand_ids_is_accepted(client: FlaskClient, admin: dict[str, Any]) -> None:
    ids = [str(uuid.uuid4()) for _ in range(999)] + [admin["user"]["id"]]
    response = client.post(
        "/auth/users/bulk", json={"action": "activate", "ids": ids}, headers=admin["headers"]
    )
    assert response.status_code == 200
    body = response.get_json()
    assert (body["requested"], len(body["not_found"]), body["unchanged"]) == (
        1000,
        999,
        [admin["user"]["id"]],
    )


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"action": "activate", "ids": ["x"] * 1001}, ["body", "ids"]),
        ({"action": "activate", "ids": []}, ["body", "ids"]),
        ({"action": "activate"}, ["body", "ids"]),
        ({"action": "activate", "ids": "x"}, ["body", "ids"]),
        ({"action": "activate", "ids": [1, 2]}, ["body", "ids", "0"]),
        ({"action": "activate", "ids": [None]}, ["body", "ids", "0"]),
        ({"action": "delete", "ids": ["x"]}, ["body", "action"]),
        ({"ids": ["x"]}, ["body", "action"]),
        ({"action": "activate", "ids": ["x"], "force": True}, ["body", "force"]),
    ],
)
def test_bulk_validation_errors_give_422(
    client: FlaskClient,
    admin: dict[str, Any],
    expect_problem: ExpectProblem,
    body: dict[str, Any],
    loc: list[Any],
) -> None:
    response = client.post("/auth/users/bulk", json=body, headers=admin["headers"])
    problem = expect_problem(response, 422, "validation_error")
    assert loc in [e["loc"] for e in problem["errors"]]


@EVERY_BACKEND
def test_bulk_cannot_remove_the_last_admin_and_changes_nothing(
    client: FlaskClient,
    admin: dict[str, Any],
    seed_user: Seed,
    expect_problem: ExpectProblem,
    kit: Authkit,
) -> None:
    bob = seed_user("bob")
    response = client.post(
        "/auth/users/bulk",
        json={"action": "deactivate", "ids": [bob.id, admin["user"]["id"]]},
        headers=admin["headers"],
    )
    assert expect_problem(response, 409, "conflict")["reason"] == "last_admin"
    assert kit.stores.users.get(bob.id) == bob


# -- audit ----------------------------------------------------------------------------------


def test_admin_actions_are_audited_with_pseudonymised_actor(
    client: FlaskClient,
    admin: dict[str, Any],
    seed_user: Seed,
    read_log: ReadLog,
    expect_problem: ExpectProblem,
) -> None:
    bob = seed_user("bob")
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.patch(
        f"/auth/users/{bob.id}",
        json={"roles": ["ops"]},
        headers={**admin["headers"], "traceparent": f"00-{trace}-00f067aa0ba902b7-01"},
    )
    client.post(
        "/auth/users/bulk",
        json={"action": "deactivate", "ids": [bob.id, "junk"]},
        headers=admin["headers"],
    )
    expect_problem(
        client.patch(
            f"/auth/users/{admin['user']['id']}",
            json={"is_active": False},
            headers=admin["headers"],
        ),
        409,
        "conflict",
    )
    events = [e for e in read_log("auth.jsonl") if e["event"].startswith("admin.user")]
    assert [(e["event"], e["outcome"]) for e in events] == [
        ("admin.user.update", "success"),
        ("admin.user.bulk", "success"),
        ("admin.user.update", "denied"),
    ]
    update, bulk, denied = events
    assert update["trace_id"] == trace
    assert (update["target_ids"], update["changed"], update["roles"]) == (
        [bob.id],
        ["roles"],
        ["ops"],
    )
    assert (bulk["action"], bulk["target_ids"], bulk["requested"], bulk["not_found"]) == (
        "deactivate",
        [bob.id],
        2,
        1,
    )
    assert (denied["target_ids"], denied["reason"]) == ([admin["user"]["id"]], "last_admin")
    for line in events:
        assert line["actor"]
        assert line["actor"] != admin["user"]["id"]
        assert line["client"] != "127.0.0.1"
        assert "root" not in str(line)
    assert len({line["actor"] for line in events}) == 1


def test_reads_are_not_audited(
    client: FlaskClient, admin: dict[str, Any], read_log: ReadLog
) -> None:
    """Listing and detail change nothing; only changes reach the audit log (and live view)."""
    list_users(client, admin)
    client.get(f"/auth/users/{admin['user']['id']}", headers=admin["headers"])
    assert not [e for e in read_log("auth.jsonl") if e["event"].startswith("admin.")]


def test_the_user_routes_come_with_every_extension_unlike_logs_and_live(
    kit: Authkit, admin: dict[str, Any], password: str
) -> None:
    """``/auth/users`` and the MFA routes need no option; ``/admin/logs`` needs log
    sources and ``/admin/ws`` live updates."""
    bare = Flask("bare")
    AuthKit(bare, kit)
    client = bare.test_client()
    assert list_users(client, admin).status_code == 200
    assert (
        client.post(
            "/auth/mfa/totp/setup", headers=admin["headers"], json={"password": password}
        ).status_code
        == 200
    )
    assert client.get("/admin/logs", headers=admin["headers"]).status_code == 404
    assert client.get("/admin/ws").status_code == 404
