"""User administration: the store contract (listing, activation, roles, bulk) and AdminService.

``AdminContract`` holds the store behaviour and the service rules; each ``Test*``
subclass only says how to build the user store. The SQL class uses the ``engine``
fixture, so it runs on SQLite always and on PostgreSQL when
``AUTHKIT_TEST_POSTGRES_URL`` is set. The service runs with a real ``AuditLogger``
so an event field the logger would refuse fails here first.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from authkit.audit import AuditLogger, Pseudonymizer
from authkit.clock import FrozenClock
from authkit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from authkit.storage import (
    MemoryRefreshTokenStore,
    MemoryUserStore,
    SqlRefreshTokenStore,
    SqlUserStore,
)
from authkit.storage.sql import _user_admin as sql_admin
from authkit.tokens import RefreshTokens
from authkit.users import (
    BULK_EVENT,
    MAX_BULK_IDS,
    UPDATE_EVENT,
    AdminService,
    BulkResult,
    NewUser,
    User,
    UserPage,
    UserQuery,
    UserStore,
    escape_like,
)
from authkit.users._query import is_user_id, normalise_roles

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ADDR = "198.51.100.23"

MakeUser = Callable[..., User]


def _ids(users: tuple[User, ...] | list[User]) -> list[str]:
    return [u.id for u in users]


class AdminContract:
    """The behaviour every UserStore must have for administration, and AdminService on it."""

    @pytest.fixture
    def store(self) -> UserStore:
        raise NotImplementedError

    @pytest.fixture
    def refresh(self) -> RefreshTokens:
        raise NotImplementedError

    @pytest.fixture
    def make(self, store: UserStore) -> MakeUser:
        """``make(username, *, email=None, roles=("user",), active=True, at=None, id=None)``.

        Without ``at`` each user is created one second after the previous one, so
        creation order is listing order.
        """
        made = iter(range(10**6))

        def call(
            username: str,
            *,
            email: str | None = None,
            roles: tuple[str, ...] = ("user",),
            active: bool = True,
            at: datetime | None = None,
            id: str | None = None,
        ) -> User:
            if at is None:
                at = NOW + timedelta(seconds=next(made))
            return store.create(
                NewUser(
                    id=id or str(uuid.uuid4()),
                    username=username,
                    email=email or f"{username}@example.test",
                    password_hash="$argon2id$fake",
                    roles=roles,
                    is_active=active,
                    created_at=at,
                )
            )

        return call

    @pytest.fixture
    def audit_path(self, tmp_path: Path) -> Path:
        return tmp_path / "auth.jsonl"

    @pytest.fixture
    def admin_service(
        self, store: UserStore, refresh: RefreshTokens, audit_path: Path
    ) -> Iterator[AdminService]:
        audit = AuditLogger(audit_path, pseudonymizer=Pseudonymizer(b"k" * 32))
        yield AdminService(users=store, refresh_tokens=refresh, audit=audit)
        audit.close()

    @pytest.fixture
    def events(self, audit_path: Path) -> Callable[[], list[dict[str, Any]]]:
        def read() -> list[dict[str, Any]]:
            if not audit_path.exists():
                return []
            return [json.loads(line) for line in audit_path.read_text().splitlines()]

        return read

    @pytest.fixture
    def root(self, make: MakeUser) -> User:
        """The one active admin."""
        return make("root", roles=("admin", "user"), at=NOW - timedelta(days=1))

    # -- listing: order and pages -------------------------------------------------

    def test_empty_listing(self, store: UserStore) -> None:
        """No users: no items, total 0 and 0 pages (there is no page 1 to show)."""
        page = store.list_users(UserQuery())
        assert page == UserPage(items=(), total=0, page=1, page_size=20)
        assert page.pages == 0

    def test_order_is_created_at_then_id(self, store: UserStore, make: MakeUser) -> None:
        """Equal timestamps are ordered by id, so the order is total and pages are stable."""
        later = make("later", at=NOW + timedelta(seconds=5))
        same = [
            make(f"same{i}", id=f"{i:08x}-0000-4000-8000-000000000000", at=NOW) for i in (3, 1, 2)
        ]
        earliest = make("earliest", at=NOW - timedelta(seconds=5))
        items = store.list_users(UserQuery()).items
        assert _ids(items) == [earliest.id, *sorted(_ids(same)), later.id]

    @pytest.mark.parametrize("page_size", [1, 4, 7, 23, 100])
    def test_every_page_is_a_slice_of_the_full_order(
        self, store: UserStore, make: MakeUser, page_size: int
    ) -> None:
        """Pages read from the start and from the end (the second half) join up exactly."""
        created = [make(f"user{i:02d}", at=NOW + timedelta(seconds=i // 3)) for i in range(23)]
        expected = sorted(created, key=lambda u: (u.created_at, u.id))
        pages = -(-23 // page_size)
        seen: list[User] = []
        for number in range(1, pages + 1):
            page = store.list_users(UserQuery(page=number, page_size=page_size))
            assert (page.total, page.pages, page.page, page.page_size) == (
                23,
                pages,
                number,
                page_size,
            )
            seen.extend(page.items)
        assert _ids(seen) == _ids(expected)

    def test_a_page_past_the_end_is_empty_with_the_total(
        self, store: UserStore, make: MakeUser
    ) -> None:
        for i in range(3):
            make(f"user{i}")
        page = store.list_users(UserQuery(page=3, page_size=2))
        assert page.items == ()
        assert (page.total, page.pages) == (3, 2)
        assert store.list_users(UserQuery(page=10**12)).items == ()

    def test_items_carry_their_roles(self, store: UserStore, make: MakeUser) -> None:
        make("a", roles=("user", "ops"))
        make("b", roles=())
        make("c", roles=("admin",))
        assert [(u.username, u.roles) for u in store.list_users(UserQuery()).items] == [
            ("a", ("ops", "user")),
            ("b", ()),
            ("c", ("admin",)),
        ]

    # -- listing: filters ---------------------------------------------------------

    def test_q_matches_username_or_email_case_insensitively(
        self, store: UserStore, make: MakeUser
    ) -> None:
        by_name = make("Marigold", email="m1@example.test")
        by_mail = make("zed", email="Zed.MARIGOLDS@Flowers.Test")
        make("other", email="other@example.test")
        for q in ("marigold", "MARIGOLD", "  rigo ", "Rigo"):
            page = store.list_users(UserQuery(q=q))
            assert sorted(_ids(page.items)) == sorted([by_name.id, by_mail.id]), q
            assert page.total == 2
        assert _ids(store.list_users(UserQuery(q="FLOWERS.t")).items) == [by_mail.id]

    def test_q_uses_unicode_case_folding(self, store: UserStore, make: MakeUser) -> None:
        """The canonical columns are case-folded, so ``STRASSE`` finds ``Straße``."""
        street = make("Straße", email="s@example.test")
        assert _ids(store.list_users(UserQuery(q="STRASSE")).items) == [street.id]

    @pytest.mark.parametrize("q", [None, "", "   "])
    def test_blank_q_is_no_filter(self, store: UserStore, make: MakeUser, q: str | None) -> None:
        make("a")
        make("b")
        assert store.list_users(UserQuery(q=q)).total == 2

    @pytest.mark.parametrize(
        ("q", "expected"),
        [("%", ["pct"]), ("_", ["under"]), ("\\", ["slash"]), ("a%c", ["pct"]), ("a_c", ["under"])],
    )
    def test_like_wildcards_in_q_are_literal(
        self, store: UserStore, make: MakeUser, q: str, expected: list[str]
    ) -> None:
        """``%``, ``_`` and the escape character match themselves, not anything."""
        make("pct", email="a%c@example.test")
        make("under", email="a_c@example.test")
        make("slash", email="a\\c@example.test")
        make("plain", email="abc@example.test")
        assert [u.username for u in store.list_users(UserQuery(q=q)).items] == expected

    def test_escape_like(self) -> None:
        assert escape_like("50%_a\\b") == "50\\%\\_a\\\\b"

    def test_is_active_filter(self, store: UserStore, make: MakeUser) -> None:
        on = [make(f"on{i}") for i in range(3)]
        off = [make(f"off{i}", active=False) for i in range(2)]
        assert _ids(store.list_users(UserQuery(is_active=True)).items) == _ids(on)
        page = store.list_users(UserQuery(is_active=False))
        assert (_ids(page.items), page.total) == (_ids(off), 2)

    def test_role_filter(self, store: UserStore, make: MakeUser) -> None:
        ops = [make("ops1", roles=("ops", "user")), make("ops2", roles=("ops",), active=False)]
        make("plain")
        page = store.list_users(UserQuery(role="ops"))
        assert (_ids(page.items), page.total) == (_ids(ops), 2)
        assert store.list_users(UserQuery(role="nobody")).total == 0

    def test_filters_combine_and_the_count_uses_them_all(
        self, store: UserStore, make: MakeUser
    ) -> None:
        hit = make("ops-anna", roles=("ops",))
        make("ops-bert", roles=("ops",), active=False)
        make("ops-carl", roles=("user",))
        make("dora", roles=("ops",))
        for i in range(5):
            make(f"ops-extra{i}", roles=("ops",), at=NOW + timedelta(seconds=i + 1))
        page = store.list_users(UserQuery(q="ANNA", is_active=True, role="ops"))
        assert (_ids(page.items), page.total) == ([hit.id], 1)
        page = store.list_users(UserQuery(q="ops-", is_active=True, role="ops", page_size=2))
        assert (page.total, page.pages, len(page.items)) == (6, 3, 2)

    @pytest.mark.parametrize(
        ("fields", "loc"),
        [
            ({"page": 0}, ["page"]),
            ({"page_size": 0}, ["page_size"]),
            ({"page_size": 101}, ["page_size"]),
            ({"q": "x" * 321}, ["q"]),
            ({"role": "Admin"}, ["role"]),
            ({"role": ""}, ["role"]),
            ({"role": "a" * 65}, ["role"]),
        ],
    )
    def test_query_limits(self, fields: dict[str, Any], loc: list[str]) -> None:
        with pytest.raises(ValidationFailed) as caught:
            UserQuery(**fields)
        assert [e["loc"] for e in caught.value.errors] == [loc]

    # -- activation and roles -----------------------------------------------------

    def test_set_active_round_trip(self, store: UserStore, make: MakeUser) -> None:
        user = make("bob")
        off = store.set_active(user.id, False)
        assert off is not None
        assert not off.is_active
        assert off.roles == user.roles
        assert store.set_active(user.id, False) == off  # idempotent
        on = store.set_active(user.id, True)
        assert on is not None
        assert on.is_active
        assert store.get(user.id) == on

    def test_unknown_ids_are_none(self, store: UserStore) -> None:
        unknown = str(uuid.uuid4())
        assert store.set_active(unknown, False) is None
        assert store.set_roles(unknown, ["user"]) is None

    def test_set_roles_replaces_sorts_and_deduplicates(
        self, store: UserStore, make: MakeUser
    ) -> None:
        user = make("bob", roles=("user",))
        changed = store.set_roles(user.id, ["ops", "audit", "ops"])
        assert changed is not None
        assert changed.roles == ("audit", "ops")
        assert store.get(user.id) == changed
        emptied = store.set_roles(user.id, [])
        assert emptied is not None
        assert emptied.roles == ()

    def test_count_active_admins(self, store: UserStore, make: MakeUser, root: User) -> None:
        second = make("second", roles=("admin",))
        make("dormant", roles=("admin",), active=False)
        make("plain")
        assert store.count_active_admins() == 2
        assert store.count_active_admins(excluding={root.id}) == 1
        assert store.count_active_admins(excluding={root.id, second.id}) == 0

    # -- the last active admin ----------------------------------------------------

    def test_the_last_admin_cannot_be_deactivated(self, store: UserStore, root: User) -> None:
        with pytest.raises(Conflict) as caught:
            store.set_active(root.id, False)
        assert caught.value.extra["reason"] == "last_admin"
        assert store.get(root.id) == root

    def test_the_last_admin_cannot_be_demoted(self, store: UserStore, root: User) -> None:
        with pytest.raises(Conflict):
            store.set_roles(root.id, ["user"])
        assert store.get(root.id) == root
        kept = store.set_roles(root.id, ["admin"])  # keeping the role is fine
        assert kept is not None
        assert kept.roles == ("admin",)

    def test_another_active_admin_makes_it_possible(
        self, store: UserStore, make: MakeUser, root: User
    ) -> None:
        make("dormant", roles=("admin",), active=False)  # inactive admins do not count
        with pytest.raises(Conflict):
            store.set_active(root.id, False)
        second = make("second", roles=("admin",))
        assert store.set_roles(root.id, ["user"]) is not None
        with pytest.raises(Conflict):
            store.set_active(second.id, False)

    def test_an_inactive_admin_may_be_demoted(
        self, store: UserStore, make: MakeUser, root: User
    ) -> None:
        dormant = make("dormant", roles=("admin",), active=False)
        changed = store.set_roles(dormant.id, [])
        assert changed is not None
        assert changed.roles == ()

    def test_without_any_admin_nothing_is_guarded(self, store: UserStore, make: MakeUser) -> None:
        user = make("bob")
        assert store.set_active(user.id, False) is not None
        assert store.bulk_set_active([user.id], True).updated == (user.id,)

    # -- bulk -----------------------------------------------------------------------

    def test_bulk_sorts_every_distinct_id_into_one_list(
        self, store: UserStore, make: MakeUser, root: User
    ) -> None:
        a, b = make("a"), make("b")
        off = make("off", active=False)
        ghost = str(uuid.uuid4())
        result = store.bulk_set_active([b.id, off.id, ghost, a.id, b.id, ghost], False)
        assert result == BulkResult(updated=(b.id, a.id), unchanged=(off.id,), not_found=(ghost,))
        assert result.requested == 4
        assert store.get(a.id) is not None
        assert not store.get(a.id).is_active  # type: ignore[union-attr]
        again = store.bulk_set_active([a.id, off.id, root.id], True)
        assert again == BulkResult(updated=(a.id, off.id), unchanged=(root.id,))

    def test_bulk_is_all_or_nothing_when_it_would_remove_every_admin(
        self, store: UserStore, make: MakeUser, root: User
    ) -> None:
        second = make("second", roles=("admin",))
        bystander = make("bystander")
        with pytest.raises(Conflict):
            store.bulk_set_active([bystander.id, root.id, second.id], False)
        assert all(store.get(u.id) == u for u in (root, second, bystander))
        result = store.bulk_set_active([bystander.id, second.id], False)
        assert result.updated == (bystander.id, second.id)

    def test_concurrent_removals_leave_an_admin(
        self, store: UserStore, make: MakeUser, root: User
    ) -> None:
        """Two admins removing each other at once: exactly one wins, every time."""
        for round_ in range(8):
            other = make(f"other{round_}", roles=("admin",))
            outcomes = _race(
                lambda: store.set_active(root.id, False),
                lambda: store.set_roles(other.id, []),  # noqa: B023 - joined in _race
            )
            assert sorted(outcomes) == ["conflict", "ok"]
            assert store.count_active_admins() == 1
            # Back to root as the only active admin for the next round.
            store.set_active(root.id, True)
            if store.count_active_admins() == 2:
                store.set_roles(other.id, [])

    def test_revoke_users_ends_every_family_of_each_user(
        self, refresh: RefreshTokens, make: MakeUser
    ) -> None:
        a, b, c = make("a"), make("b"), make("c")
        tokens = {u.id: [refresh.start_family(u.id, u.roles) for _ in range(2)] for u in (a, b, c)}
        refresh.revoke_family_of(tokens[a.id][0].token)
        assert refresh.revoke_users([a.id, b.id, str(uuid.uuid4())]) == 3
        assert refresh.revoke_users([]) == 0
        for user, revoked in ((a, True), (b, True), (c, False)):
            for issued in tokens[user.id]:
                record = refresh.find(issued.token)
                assert record is not None
                assert (record.revoked_at is not None) is revoked

    # -- AdminService -------------------------------------------------------------

    def test_get_user(self, admin_service: AdminService, make: MakeUser) -> None:
        user = make("bob")
        assert admin_service.get_user(user.id) == user
        for missing in (str(uuid.uuid4()), "not-a-uuid", user.id.upper(), ""):
            with pytest.raises(NotFound):
                admin_service.get_user(missing)

    def test_deactivation_revokes_refresh_tokens_and_is_audited(
        self,
        admin_service: AdminService,
        refresh: RefreshTokens,
        make: MakeUser,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        bob = make("bob")
        issued = [refresh.start_family(bob.id, bob.roles) for _ in range(2)]
        kept = refresh.start_family(root.id, root.roles)
        changed = admin_service.update_user(
            actor=root, user_id=bob.id, is_active=False, address=ADDR
        )
        assert not changed.is_active
        for token in issued:
            record = refresh.find(token.token)
            assert record is not None
            assert record.revoked_at is not None
        assert refresh.find(kept.token).revoked_at is None  # type: ignore[union-attr]
        [line] = events()
        assert line["event"] == UPDATE_EVENT
        assert line["outcome"] == "success"
        assert line["actor"] not in (None, root.id)  # pseudonymised
        assert line["client"] not in (None, ADDR)
        assert line["target_ids"] == [bob.id]
        assert line["changed"] == ["is_active"]
        assert line["is_active"] is False
        assert line["revoked"] == 2

    def test_update_roles_validated_and_normalised(
        self,
        admin_service: AdminService,
        make: MakeUser,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        bob = make("bob")
        changed = admin_service.update_user(
            actor=root, user_id=bob.id, roles=["ops", "user", "ops"], address=ADDR
        )
        assert changed.roles == ("ops", "user")
        assert events()[-1]["changed"] == ["roles"]
        assert events()[-1]["roles"] == ["ops", "user"]

    @pytest.mark.parametrize(
        ("roles", "locs"),
        [
            (["Admin"], [["roles", "0"]]),
            (["ok", "has space", ""], [["roles", "1"], ["roles", "2"]]),
            (["x" * 65], [["roles", "0"]]),
            ([f"r{i}" for i in range(21)], [["roles"]]),
        ],
    )
    def test_bad_roles_are_refused(
        self,
        admin_service: AdminService,
        make: MakeUser,
        root: User,
        roles: list[str],
        locs: list[list[Any]],
    ) -> None:
        bob = make("bob")
        with pytest.raises(ValidationFailed) as caught:
            admin_service.update_user(actor=root, user_id=bob.id, roles=roles, address=ADDR)
        assert [e["loc"] for e in caught.value.errors] == locs
        assert admin_service.get_user(bob.id) == bob

    def test_twenty_distinct_roles_with_duplicates_are_fine(self) -> None:
        roles = [f"r{i}" for i in range(20)]
        assert len(normalise_roles(roles + roles)) == 20

    def test_update_of_unknown_user(
        self,
        admin_service: AdminService,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        with pytest.raises(NotFound):
            admin_service.update_user(
                actor=root, user_id=str(uuid.uuid4()), is_active=False, address=ADDR
            )
        assert events()[-1]["outcome"] == "failure"
        assert events()[-1]["reason"] == "not_found"

    def test_last_admin_refusal_changes_nothing_and_is_audited(
        self,
        admin_service: AdminService,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        for change in ({"is_active": False, "roles": ["admin", "ops"]}, {"roles": ["user"]}):
            with pytest.raises(Conflict) as caught:
                admin_service.update_user(actor=root, user_id=root.id, address=ADDR, **change)
            assert "admin" in caught.value.message
            assert admin_service.get_user(root.id) == root
            assert events()[-1]["outcome"] == "denied"
            assert events()[-1]["reason"] == "last_admin"

    def test_deactivate_and_demote_together_with_another_admin(
        self, admin_service: AdminService, make: MakeUser, root: User
    ) -> None:
        second = make("second", roles=("admin",))
        changed = admin_service.update_user(
            actor=root, user_id=second.id, is_active=False, roles=["user"], address=ADDR
        )
        assert (changed.is_active, changed.roles) == (False, ("user",))
        revived = admin_service.update_user(
            actor=root, user_id=second.id, is_active=True, roles=["admin"], address=ADDR
        )
        assert (revived.is_active, revived.roles) == (True, ("admin",))

    def test_no_op_update_is_audited_with_nothing_changed(
        self,
        admin_service: AdminService,
        make: MakeUser,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        bob = make("bob")
        assert admin_service.update_user(actor=root, user_id=bob.id, address=ADDR) == bob
        assert events()[-1]["changed"] == []

    def test_only_active_admins_may_act(
        self, admin_service: AdminService, make: MakeUser, root: User
    ) -> None:
        bob = make("bob")
        dormant = make("dormant", roles=("admin",), active=False)
        for actor in (bob, dormant):
            with pytest.raises(Forbidden):
                admin_service.update_user(actor=actor, user_id=bob.id, roles=[], address=ADDR)
            with pytest.raises(Forbidden):
                admin_service.bulk(actor=actor, action="activate", ids=[bob.id], address=ADDR)

    def test_bulk_summary_and_audit(
        self,
        admin_service: AdminService,
        refresh: RefreshTokens,
        make: MakeUser,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        a, b = make("a"), make("b")
        off = make("off", active=False)
        ghost = str(uuid.uuid4())
        token = refresh.start_family(a.id, a.roles)
        ids = [a.id, "junk", b.id, a.id, ghost, off.id, a.id.upper(), "junk"]
        result = admin_service.bulk(actor=root, action="deactivate", ids=ids, address=ADDR)
        assert result == BulkResult(
            updated=(a.id, b.id), unchanged=(off.id,), not_found=("junk", ghost, a.id.upper())
        )
        assert result.requested == 6
        assert refresh.find(token.token).revoked_at is not None  # type: ignore[union-attr]
        line = events()[-1]
        assert (line["event"], line["outcome"], line["action"]) == (
            BULK_EVENT,
            "success",
            "deactivate",
        )
        assert line["target_ids"] == [a.id, b.id]
        assert (line["requested"], line["unchanged"], line["not_found"], line["revoked"]) == (
            6,
            1,
            3,
            1,
        )

    def test_bulk_limits(self, admin_service: AdminService, make: MakeUser, root: User) -> None:
        with pytest.raises(ValidationFailed):
            admin_service.bulk(actor=root, action="activate", ids=[], address=ADDR)
        with pytest.raises(ValidationFailed):
            admin_service.bulk(
                actor=root, action="activate", ids=[root.id] * (MAX_BULK_IDS + 1), address=ADDR
            )
        with pytest.raises(ValidationFailed):
            admin_service.bulk(
                actor=root,
                action="delete",  # type: ignore[arg-type]
                ids=[root.id],
                address=ADDR,
            )
        many = [str(uuid.uuid4()) for _ in range(MAX_BULK_IDS - 1)] + [root.id]
        result = admin_service.bulk(actor=root, action="activate", ids=many, address=ADDR)
        assert (len(result.not_found), result.unchanged) == (MAX_BULK_IDS - 1, (root.id,))

    def test_bulk_refusal_is_audited(
        self,
        admin_service: AdminService,
        make: MakeUser,
        root: User,
        events: Callable[[], list[dict[str, Any]]],
    ) -> None:
        bob = make("bob")
        with pytest.raises(Conflict):
            admin_service.bulk(actor=root, action="deactivate", ids=[bob.id, root.id], address=ADDR)
        assert admin_service.get_user(bob.id).is_active
        assert (events()[-1]["outcome"], events()[-1]["reason"]) == ("denied", "last_admin")

    def test_bulk_of_only_malformed_ids(self, admin_service: AdminService, root: User) -> None:
        result = admin_service.bulk(
            actor=root, action="activate", ids=["x", "y", "x"], address=ADDR
        )
        assert result == BulkResult(not_found=("x", "y"))


def _race(*actions: Callable[[], object]) -> list[str]:
    """Run ``actions`` in threads released together; "ok" or "conflict" for each."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_is_user_id() -> None:
    value = str(uuid.uuid4())
    assert is_user_id(value)
    for other in (value.upper(), value.replace("-", ""), f"{{{value}}}", "", "x", value + "0"):
        assert not is_user_id(other)


class TestMemoryAdmin(AdminContract):
    @pytest.fixture
    def store(self) -> UserStore:
        return MemoryUserStore()

    @pytest.fixture
    def refresh(self) -> RefreshTokens:
        return RefreshTokens(MemoryRefreshTokenStore(), clock=FrozenClock(NOW))


class TestSqlAdmin(AdminContract):
    @pytest.fixture
    def store(self, engine: Engine) -> UserStore:
        return SqlUserStore(engine)

    @pytest.fixture
    def refresh(self, engine: Engine) -> RefreshTokens:
        return RefreshTokens(SqlRefreshTokenStore(engine), clock=FrozenClock(NOW))

    @pytest.fixture
    def statements(self, engine: Engine) -> Iterator[list[str]]:
        seen: list[str] = []

        def record(*args: Any) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", record)
        yield seen
        event.remove(engine, "before_cursor_execute", record)

    @pytest.mark.parametrize("limit", [0, 10**6])
    def test_both_forms_of_the_role_filter_agree(
        self,
        store: UserStore,
        make: MakeUser,
        monkeypatch: pytest.MonkeyPatch,
        limit: int,
    ) -> None:
        """Starting from the role index or from the users (SQLite's choice) lists the same."""
        monkeypatch.setattr(sql_admin, "ROLE_FIRST_LIMIT", limit)
        made = [
            make(f"user{i:02d}", roles=("ops",) if i % 3 else ("user",), active=i % 4 != 0)
            for i in range(30)
        ]
        for query in (
            UserQuery(role="ops", page_size=7),
            UserQuery(role="ops", page=3, page_size=7),
            UserQuery(role="ops", is_active=True, page=2, page_size=5),
            UserQuery(role="user", q="USER1", page_size=3),
        ):
            expected = [
                u
                for u in made
                if query.role in u.roles
                and (query.is_active is None or u.is_active == query.is_active)
                and (query.text is None or query.text in u.username)
            ]
            page = store.list_users(query)
            assert page.total == len(expected)
            start = query.offset
            assert _ids(page.items) == _ids(expected[start : start + query.page_size])

    @pytest.mark.parametrize("query", [UserQuery(), UserQuery(page=3, page_size=9)])
    def test_a_page_costs_a_fixed_number_of_queries(
        self, store: UserStore, make: MakeUser, statements: list[str], query: UserQuery
    ) -> None:
        """Count, page rows, their roles: no query per user (no N+1)."""
        for i in range(25):
            make(f"user{i:02d}", roles=("user", "ops"), at=NOW + timedelta(seconds=i))
        statements.clear()
        page = store.list_users(query)
        assert all(u.roles == ("ops", "user") for u in page.items)
        selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 3, selects
