"""The password policy (NIST SP 800-63B-4 §3.1.1.2): examples per rule, then properties."""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from authkit.errors import WeakPassword
from authkit.passwords import (
    CommonPasswordList,
    MaxLength,
    MinDistinctCharacters,
    MinLength,
    NoContextWords,
    NotCommon,
    PasswordContext,
    PasswordPolicy,
    RequireCharacterClasses,
    Violation,
    is_common_password,
    load_common_passwords,
    normalize_password,
)

NO_CONTEXT = PasswordContext()
STRONG = "violet Umbrella marches 4 quietly"
NIST = PasswordPolicy.nist(service_name="Flight App")
CONTEXT_CODE = NoContextWords.code


def codes(violations: list[Violation]) -> set[str]:
    return {v.code for v in violations}


def nfc_len(text: str) -> int:
    return len(unicodedata.normalize("NFC", text))


# --- Violation and the policy ---------------------------------------------------------


def test_violation_as_dict_flattens_params() -> None:
    violation = Violation(code="too_short", message="Too short.", params={"min_length": 15})
    assert violation.as_dict() == {"code": "too_short", "message": "Too short.", "min_length": 15}


def test_violation_params_cannot_shadow_code_or_message() -> None:
    with pytest.raises(ValueError, match="params"):
        Violation(code="x", message="y", params={"code": "z"})


def test_violation_is_hashable_despite_params() -> None:
    violation = Violation(code="x", message="y", params={"fields": ["username"]})
    assert hash(violation) == hash(Violation(code="x", message="y"))


def test_strong_passphrase_passes_every_preset() -> None:
    assert NIST.check(STRONG, username="alice", email="alice@example.com") == []
    assert PasswordPolicy.pci().check(STRONG) == []
    assert PasswordPolicy.classic().check(STRONG) == []
    NIST.enforce(STRONG, username="alice")


def test_enforce_raises_weak_password_with_every_violation() -> None:
    with pytest.raises(WeakPassword) as info:
        NIST.enforce("aaaa", username="bob")
    assert info.value.code == "weak_password"
    assert [e["code"] for e in info.value.errors] == ["too_short", "too_few_distinct_characters"]
    assert info.value.errors[0] == {
        "code": "too_short",
        "message": "The password must be at least 15 characters long.",
        "min_length": 15,
    }


def test_rules_run_in_order_and_all_report() -> None:
    violations = NIST.check("password", username="password")
    assert [v.code for v in violations] == [
        "too_short",
        "contains_context_word",
        "common_password",
    ]


def test_non_string_password_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        NIST.check(b"bytes password!!!")  # type: ignore[arg-type]


def test_with_rules_appends_without_mutating() -> None:
    extended = NIST.with_rules(MinLength(min_length=40))
    assert len(extended.rules) == len(NIST.rules) + 1
    assert "too_short" in codes(extended.check(STRONG))
    assert NIST.check(STRONG) == []


# --- presets ----------------------------------------------------------------------------


def test_nist_preset_defaults() -> None:
    rules = {type(rule): rule for rule in NIST.rules}
    assert rules[MinLength] == MinLength(min_length=15)
    assert rules[MaxLength] == MaxLength(max_length=128)
    assert rules[MinDistinctCharacters] == MinDistinctCharacters(min_distinct=5)
    assert rules[NoContextWords] == NoContextWords(service_name="Flight App")
    assert NotCommon in rules
    assert RequireCharacterClasses not in rules


def test_nist_preset_lengths_are_configurable_within_the_standard() -> None:
    policy = PasswordPolicy.nist(min_length=8, max_length=64)
    assert codes(policy.check("tulip-07")) == set()
    assert codes(policy.check("x" * 65 + "abcde")) == {"too_long"}
    with pytest.raises(ValueError, match="800-63B"):
        PasswordPolicy.nist(min_length=6)
    with pytest.raises(ValueError, match="800-63B"):
        PasswordPolicy.nist(max_length=32)
    with pytest.raises(ValueError, match="exceed"):
        PasswordPolicy.nist(min_length=100, max_length=64)


def test_pci_preset_needs_letters_and_digits() -> None:
    pci = PasswordPolicy.pci()
    assert pci.check("onlyletterslonger") == [
        Violation(
            code="missing_character_classes",
            message="The password must contain each of: letter, digit.",
            params={"required": ["letter", "digit"], "min_classes": 2},
        )
    ]
    assert codes(pci.check("123456789012345")) == {"missing_character_classes"}
    assert pci.check("blue7heron9pond") == []
    assert codes(pci.check("tern7x")) == {"too_short"}
    assert codes(PasswordPolicy.pci(min_length=16).check("blue7heron9pond")) == {"too_short"}


def test_classic_preset_needs_three_of_four_classes() -> None:
    classic = PasswordPolicy.classic()
    assert classic.check("blue heron pond 9") == []  # lower, symbol (space), digit
    [violation] = classic.check("bluehereonpondlake")
    assert violation.as_dict() == {
        "code": "missing_character_classes",
        "message": "The password must contain at least 3 of: lower, upper, digit, symbol.",
        "required": ["lower", "upper", "digit", "symbol"],
        "min_classes": 3,
    }


def test_presets_reject_common_passwords() -> None:
    for policy in (NIST, PasswordPolicy.pci(min_length=8), PasswordPolicy.classic(min_length=8)):
        assert "common_password" in codes(policy.check("Password1"))


# --- rules one by one -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "ok"),
    [("", False), ("a" * 14, False), ("a" * 15, True), ("é" * 15, True)],
)
def test_min_length_counts_code_points(password: str, ok: bool) -> None:
    assert (MinLength().check(password, NO_CONTEXT) == []) is ok


def test_min_length_counts_emoji_as_one_character_each() -> None:
    assert MinLength(min_length=3).check("🔑🔑🔑", NO_CONTEXT) == []
    assert MinLength(min_length=4).check("🔑🔑🔑", NO_CONTEXT)[0].params == {"min_length": 4}


def test_max_length_rejects_instead_of_truncating() -> None:
    rule = MaxLength(max_length=64)
    assert rule.check("x" * 64, NO_CONTEXT) == []
    [violation] = rule.check("x" * 65, NO_CONTEXT)
    assert violation.code == "too_long"
    assert violation.params == {"max_length": 64}


def test_min_distinct_characters() -> None:
    rule = MinDistinctCharacters(min_distinct=5)
    assert rule.check("abcdabcdabcdabcd", NO_CONTEXT)[0].as_dict() == {
        "code": "too_few_distinct_characters",
        "message": "The password must contain at least 5 different characters.",
        "min_distinct": 5,
    }
    assert rule.check("abcdeabcdeabcde", NO_CONTEXT) == []


@pytest.mark.parametrize(
    "rule",
    [
        lambda: MinLength(min_length=0),
        lambda: MaxLength(max_length=0),
        lambda: MinDistinctCharacters(min_distinct=0),
        lambda: NoContextWords(min_word_length=0),
        lambda: RequireCharacterClasses(required=()),
        lambda: RequireCharacterClasses(required=("lower", "emoji")),  # type: ignore[arg-type]
        lambda: RequireCharacterClasses(required=("lower", "digit"), min_classes=3),
    ],
)
def test_rules_validate_their_settings(rule: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="must"):
        rule()


def test_context_words_name_the_fields_never_the_values() -> None:
    rule = NoContextWords(service_name="Flight App")
    context = PasswordContext(username="Marguerite", email="j.doe-smith@example.com")
    [violation] = rule.check("my MARGUERITE and flight plan", context)
    assert violation.as_dict() == {
        "code": "contains_context_word",
        "message": ("The password must not contain your username or the name of this service."),
        "fields": ["username", "service_name"],
    }
    assert "marguerite" not in violation.message.lower()


@pytest.mark.parametrize(
    ("password", "fields"),
    [
        ("xx-jdoesmith-xx-yy", ["email"]),  # the whole local part, punctuation removed
        ("the smith family tree", ["email"]),  # one part of it
        ("doe a deer a female deer", ["email"]),  # 'doe' has 3 characters: counted
        ("a j is just a letter", []),  # 'j' is shorter than 3: ignored
        ("mail at example dot com", []),  # the domain is not a context word
    ],
)
def test_context_words_from_the_email_local_part(password: str, fields: list[str]) -> None:
    context = PasswordContext(email="J.Doe-Smith@Example.com")
    violations = NoContextWords().check(password, context)
    assert [v.params["fields"] for v in violations] == ([fields] if fields else [])


def test_context_words_ignore_short_usernames_and_missing_context() -> None:
    assert NoContextWords().check("a very long 'al' password", PasswordContext(username="al")) == []
    assert NoContextWords().check("anything at all", NO_CONTEXT) == []


def test_context_words_match_case_insensitively_after_normalisation() -> None:
    context = PasswordContext(username="Ren\u0065\u0301e")  # NFD é
    assert NIST.check("ILOVERENÉE-and-tea", username="Ren\u0065\u0301e") != []
    assert NoContextWords().check("ilove" + "renée", context) != []


def test_character_classes_are_unicode_aware() -> None:
    rule = RequireCharacterClasses(required=("lower", "upper", "digit", "symbol"), min_classes=4)
    assert rule.check("ÉLAN été ٣", NO_CONTEXT) == []  # Arabic-Indic digit three
    assert rule.check("élan été 3", NO_CONTEXT)[0].code == "missing_character_classes"
    letters = RequireCharacterClasses(required=("letter", "digit"), min_classes=2)
    assert letters.check("東京タワー2024", NO_CONTEXT) == []


def test_not_common_is_case_insensitive() -> None:
    rule = NotCommon()
    for password in ("password", "PASSWORD", "PaSsWoRd", "qwertyuiop", "trustno1"):
        assert rule.check(password, NO_CONTEXT)[0].code == "common_password"
    assert rule.check(STRONG, NO_CONTEXT) == []


def test_not_common_accepts_a_custom_list() -> None:
    rule = NotCommon(checker=CommonPasswordList(passwords=frozenset({"Acme-Rocket-2024"})))
    assert codes(rule.check("acme-rocket-2024", NO_CONTEXT)) == {"common_password"}
    assert rule.check("password", NO_CONTEXT) == []


# --- the offline list -------------------------------------------------------------------


def test_offline_list_is_large_lowercase_and_cached() -> None:
    words = load_common_passwords()
    assert isinstance(words, frozenset)
    assert len(words) >= 10_000
    assert all(word == word.lower() and word.strip() == word and word for word in words)
    assert load_common_passwords() is words
    assert is_common_password("Dragon")
    assert not is_common_password(STRONG)


def test_offline_list_file_is_deduplicated_in_frequency_order() -> None:
    import authkit.passwords

    data = Path(authkit.passwords.__file__).parent / "data"
    lines = (data / "common-passwords.txt").read_text(encoding="utf-8").splitlines()
    assert lines[:3] == ["123456", "password", "12345678"]
    assert len(lines) == len(set(lines))
    assert "licen" in (data / "README.md").read_text(encoding="utf-8").lower()


# --- properties -------------------------------------------------------------------------

SENTINEL = "\u2603"  # no message is anything but ASCII, so this marks the password
passwords = st.text(max_size=140)
few_distinct = st.lists(st.sampled_from("ab"), max_size=14).map("".join)


@given(passwords)
def test_length_rules_reject_exactly_the_out_of_range_passwords(password: str) -> None:
    found = codes(NIST.check(password))
    assert ("too_short" in found) == (nfc_len(password) < 15)
    assert ("too_long" in found) == (nfc_len(password) > 128)


@given(passwords)
def test_distinct_rule_rejects_exactly_the_repetitive_passwords(password: str) -> None:
    found = codes(NIST.check(password))
    distinct = len(set(unicodedata.normalize("NFC", password)))
    assert ("too_few_distinct_characters" in found) == (distinct < 5)


@given(st.text(min_size=129, max_size=300))
def test_long_passwords_are_always_too_long(password: str) -> None:
    if nfc_len(password) > 128:
        assert "too_long" in codes(NIST.check(password))


@given(few_distinct)
def test_every_violated_rule_reports(password: str) -> None:
    found = codes(NIST.check(password))
    assert {"too_short", "too_few_distinct_characters"} <= found
    with pytest.raises(WeakPassword) as info:
        NIST.enforce(password)
    assert {"too_short", "too_few_distinct_characters"} <= {e["code"] for e in info.value.errors}


@given(
    username=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=12),
    before=st.text(max_size=10),
    after=st.text(max_size=10),
    upper=st.booleans(),
)
def test_a_password_containing_the_username_is_always_rejected(
    username: str, before: str, after: str, upper: bool
) -> None:
    password = before + (username.upper() if upper else username) + after
    [found] = [v for v in NIST.check(password, username=username) if v.code == CONTEXT_CODE]
    assert "username" in found.params["fields"]


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(sorted(load_common_passwords())), st.randoms())
def test_a_listed_password_in_any_case_is_always_common(word: str, rnd: random.Random) -> None:
    mixed = "".join(ch.upper() if rnd.random() < 0.5 else ch for ch in word)
    assert "common_password" in codes(NIST.check(mixed))


@given(passwords, st.text(max_size=12), st.text(max_size=20))
def test_nfc_and_nfd_forms_get_the_same_verdict(password: str, username: str, email: str) -> None:
    def verdict(form: Literal["NFC", "NFD"]) -> list[Violation]:
        return NIST.check(
            unicodedata.normalize(form, password),
            username=unicodedata.normalize(form, username),
            email=unicodedata.normalize(form, email),
        )

    assert verdict("NFC") == verdict("NFD")


def test_nfc_and_nfd_of_an_accented_password_are_the_same_length() -> None:
    nfc = "café crème brûlée"
    nfd = unicodedata.normalize("NFD", nfc)
    assert (len(nfc), len(nfd)) == (17, 21)
    assert normalize_password(nfd) == nfc
    assert NIST.check(nfc) == NIST.check(nfd) == []
    assert codes(NIST.with_rules(MinLength(min_length=18)).check(nfd)) == {"too_short"}


@given(st.text(max_size=20), st.text(max_size=20), st.text(max_size=12))
def test_the_password_never_appears_in_messages(before: str, after: str, username: str) -> None:
    password = before + SENTINEL + after
    presets = (NIST, PasswordPolicy.pci(), PasswordPolicy.classic())
    for policy in presets:
        for violation in policy.check(password, username=username or None):
            assert SENTINEL not in violation.message
            assert SENTINEL not in repr(violation.params)
    if NIST.check(password):
        with pytest.raises(WeakPassword) as info:
            NIST.enforce(password)
        assert SENTINEL not in f"{info.value} {info.value!r} {info.value.errors!r}"
