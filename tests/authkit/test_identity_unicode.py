"""Issue 14, finding 10: no second account that looks identical to an existing one.

``\\u200b`` + an existing email, its fullwidth spelling, or its Cyrillic look-alike
each registered a second account that renders the same. Now invisible characters
are refused, NFKC folds compatibility variants before uniqueness, and an email
whose UTS #39 skeleton equals an existing one's is refused (409, reason
``confusable_email``). On memory, SQLite and PostgreSQL stores alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit import Authkit, AuthkitConfig, build, open_stores
from authkit.errors import Conflict, InvalidCredentials, ValidationFailed
from authkit.keys import KeyManager
from authkit.passwords import Argon2Parameters
from authkit.storage import MEMORY_URL
from authkit.users import canonical, invisible_characters, skeleton
from authkit.users._unicode import is_ignorable

CHEAP = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "violet-harbour-7-lanterns"
ADDR = "192.0.2.1"

ZWSP = "\u200b"
CYRILLIC = {
    "a": "\u0430",
    "e": "\u0435",
    "o": "\u043e",
    "p": "\u0440",
    "c": "\u0441",
    "x": "\u0445",
}
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyz0123456789@."}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def kit(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Authkit]:
    if request.param == "memory":
        url = MEMORY_URL
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    config = AuthkitConfig(
        service_name="identity-test", secret_key="identity-test-secret-0123456789", argon2=CHEAP
    )
    stores = open_stores(url, create_tables=url != MEMORY_URL)
    keys = KeyManager.in_memory(window=timedelta(seconds=930), alg="ES256")
    with build(config, audit=tmp_path / "auth.jsonl", stores=stores, keys=keys) as built:
        built.auth.register(
            username="alice", email="alice@example.com", password=PASSWORD, address=ADDR
        )
        yield built


def register(kit: Authkit, email: str, username: str = "second") -> None:
    kit.auth.register(username=username, email=email, password=PASSWORD, address=ADDR)


# --- the probe's three spellings ----------------------------------------------------


@pytest.mark.parametrize(
    "email",
    [
        ZWSP + "alice@example.com",
        "ali" + ZWSP + "ce@example.com",
        "alice@example.com\u2060",  # WORD JOINER
        "\ufeffalice@example.com",  # BOM / ZWNBSP
        "\u202ealice@example.com",  # RIGHT-TO-LEFT OVERRIDE
        "ali\u00adce@example.com",  # SOFT HYPHEN
        "ali\u3164ce@example.com",  # HANGUL FILLER (Lo, default-ignorable)
        "alice\ufe0f@example.com",  # VARIATION SELECTOR-16 (Mn, default-ignorable)
        "alice\x07@example.com",  # a control character
        "alice\ue000@example.com",  # private use
    ],
)
def test_an_email_with_an_invisible_character_is_refused(kit: Authkit, email: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        register(kit, email)
    (error,) = refused.value.errors
    assert error["loc"] == ["email"]
    assert "invisible" in error["msg"]


def test_a_fullwidth_spelling_is_the_same_email(kit: Authkit) -> None:
    fullwidth = "".join(FULLWIDTH.get(c, c) for c in "alice@example.com")
    with pytest.raises(Conflict) as refused:
        register(kit, fullwidth)
    assert "reason" not in refused.value.extra  # the very same address after NFKC


@pytest.mark.parametrize(
    "email",
    [
        "\u0430lice@example.com",  # Cyrillic a
        "alic\u0435@example.com",  # Cyrillic e
        "alice@ex\u0430mple.com",  # in the domain
        "\u0251lice@example.com",  # LATIN SMALL LETTER ALPHA
        "\u03b1lice@example.com",  # Greek alpha
        "a\u217cice@examp\u217ce.com",  # small roman numeral fifty (NFKC: l)
        "ALİCE@example.com".replace("İ", "\u0399"),  # Greek capital iota, case-folded
    ],
)
def test_a_look_alike_email_is_refused(kit: Authkit, email: str) -> None:
    with pytest.raises(Conflict):
        register(kit, email)


def test_the_look_alike_refusal_says_why(kit: Authkit) -> None:
    with pytest.raises(Conflict) as refused:
        register(kit, "\u0430lice@example.com")
    assert refused.value.extra["reason"] == "confusable_email"


def test_ascii_addresses_are_never_refused_as_look_alikes(kit: Authkit) -> None:
    """``bob1@`` and ``bobl@`` are both real mailboxes: ASCII is left to uniqueness."""
    register(kit, "bob1@example.com", "bob1")
    register(kit, "bobl@example.com", "bobl")
    register(kit, "rnodern@example.com", "rnodern")
    register(kit, "modern@example.com", "modern")


def test_a_genuine_non_ascii_email_registers(kit: Authkit) -> None:
    register(kit, "jos\u00e9@example.com", "jose")
    register(kit, "\u0437\u043e\u044f@example.com", "zoya")  # Cyrillic, no Latin look-alike
    with pytest.raises(Conflict):  # decomposed é is the same address
        register(kit, "jose\u0301@example.com", "jose2")
    with pytest.raises(Conflict):  # a Cyrillic o (U+043E) in it looks the same
        register(kit, "j\u043es\u00e9@example.com", "jose3")


def test_a_fullwidth_username_is_stored_as_ascii(kit: Authkit) -> None:
    user = kit.auth.register(
        username="\uff42\uff4f\uff42", email="bob@example.com", password=PASSWORD, address=ADDR
    )
    assert user.username == "bob"
    with pytest.raises(Conflict):
        register(kit, "bob2@example.com", "\uff21\uff2c\uff29\uff23\uff25")  # ALICE fullwidth


def test_sign_in_finds_the_account_by_any_spelling(kit: Authkit) -> None:
    for identifier in ("ALICE", "\uff41lice", "ali" + ZWSP + "ce", " Alice@Example.COM "):
        assert kit.auth.login(identifier=identifier, password=PASSWORD, address=ADDR)
    with pytest.raises(InvalidCredentials):  # a look-alike is another (unknown) name
        kit.auth.login(identifier="\u0430lice", password=PASSWORD, address=ADDR)


# --- properties -----------------------------------------------------------------------

local_parts = st.from_regex(r"[a-z][a-z0-9]{2,10}", fullmatch=True)


@st.composite
def disguised(draw: st.DrawFn, email: str) -> str:
    """``email`` with invisible characters, fullwidth or Cyrillic letters mixed in."""
    out = []
    for char in email:
        kind = draw(st.sampled_from(["same", "same", "fullwidth", "cyrillic", "upper"]))
        if kind == "fullwidth" and char in FULLWIDTH:
            out.append(FULLWIDTH[char])
        elif kind == "cyrillic" and char in CYRILLIC:
            out.append(CYRILLIC[char])
        elif kind == "upper":
            out.append(char.upper())
        else:
            out.append(char)
        if draw(st.integers(0, 9)) == 0:
            out.append(draw(st.sampled_from([ZWSP, "\u200c", "\u2060", "\ufeff"])))
    return "".join(out)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), local=local_parts)
def test_no_disguise_of_an_address_is_another_address(data: st.DataObject, local: str) -> None:
    """Property: a disguise is refused, or is the same canonical address, or looks the same."""
    email = f"{local}@example.com"
    disguise = data.draw(disguised(email))
    if invisible_characters(disguise):
        return  # refused at registration (tested above)
    assert canonical(disguise) == canonical(email) or skeleton(disguise) == skeleton(email)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_canonical_is_idempotent(text: str) -> None:
    assert canonical(canonical(text)) == canonical(text)


def _canonical_in_full(text: str) -> str:
    """``canonical`` without its ASCII shortcut: the Unicode steps one by one."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return "".join(c for c in folded if not is_ignorable(c)).strip()


def test_canonical_ascii_shortcut_is_the_full_form_for_every_ascii_character() -> None:
    """Each ASCII code point alone, and all of them together, fold as the full steps do."""
    every = "".join(map(chr, range(128)))
    for text in (*every, every, f" {every} ", "  Alice.Smith@Example.COM\t"):
        assert canonical(text) == _canonical_in_full(text)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.characters(max_codepoint=127), max_size=40))
def test_canonical_ascii_shortcut_matches_the_full_form(text: str) -> None:
    assert canonical(text) == _canonical_in_full(text)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_registration_never_makes_a_second_account_from_a_disguise(
    data: st.DataObject, tmp_path: Path
) -> None:
    """Property, through the service on memory stores: every disguise of alice's
    address is refused (invalid, taken or confusable)."""
    config = AuthkitConfig(
        service_name="identity-test", secret_key="identity-test-secret-0123456789", argon2=CHEAP
    )
    keys = KeyManager.in_memory(window=timedelta(seconds=930), alg="ES256")
    with build(config, audit=tmp_path / "p.jsonl", keys=keys) as built:
        built.auth.register(
            username="owner", email="alice@example.com", password=PASSWORD, address=ADDR
        )
        disguise = data.draw(disguised("alice@example.com"))
        with pytest.raises((ValidationFailed, Conflict)):
            register(built, disguise)
