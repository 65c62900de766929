"""The password policy: composable rules that report every violation at once.

NIST SP 800-63B-4 §3.1.1.2 asks verifiers for a minimum length (15 when the password
is the only factor), a maximum of at least 64, no truncation, every Unicode code point
counted as one character, and a check against lists of commonly used, expected or
compromised values (context words such as the service name or the username included).
It also tells verifiers to explain *why* a password was refused. So each rule is a
small object returning structured ``Violation``s (a stable code, a message that never
echoes the password, parameters), and a ``PasswordPolicy`` runs them all, so a user
fixes everything in one round trip. Composition rules (``RequireCharacterClasses``)
exist only for the PCI DSS and legacy presets: NIST says not to impose them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, get_args

from authkit.errors import WeakPassword
from authkit.passwords._common import CommonPasswordList

PasswordPolicyPreset = Literal["nist", "pci", "classic"]
"""The named policies ``PasswordPolicy`` offers: ``nist`` (default), ``pci``, ``classic``."""
PASSWORD_POLICY_PRESETS: tuple[PasswordPolicyPreset, ...] = ("nist", "pci", "classic")
"""The policy presets by name: ``nist`` (SP 800-63B), ``pci`` (PCI DSS), ``classic``."""

CharacterClass = Literal["lower", "upper", "letter", "digit", "symbol"]
"""A class of characters a policy rule may require."""
_CLASSES: tuple[CharacterClass, ...] = get_args(CharacterClass)
_CLASS_TESTS: dict[CharacterClass, Callable[[str], bool]] = {
    "lower": str.islower,
    "upper": str.isupper,
    "letter": str.isalpha,
    "digit": str.isdigit,
    "symbol": lambda ch: not ch.isalnum(),
}
_WORD_SPLIT = re.compile(r"[\W_]+")
_FIELD_LABELS = {
    "username": "your username",
    "email": "your email address",
    "service_name": "the name of this service",
}


def normalize_password(password: str) -> str:
    """NFC-normalise a password, never truncating it.

    Apply the same function before hashing, so that the string the policy judged is
    the string that is stored, and a password typed as NFD on one device verifies
    when typed as NFC on another.
    """
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    return unicodedata.normalize("NFC", password)


@dataclass(frozen=True, kw_only=True, slots=True)
class Violation:
    """One broken rule: a stable ``code``, a safe ``message`` and structured ``params``."""

    code: str
    message: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if {"code", "message"} & set(self.params):
            raise ValueError("params must not use the keys 'code' or 'message'")

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``weak_password`` errors: ``{code, message, **params}``."""
        return {"code": self.code, "message": self.message, **self.params}


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswordContext:
    """What is known about the account, for rules about context-specific words."""

    username: str | None = None
    email: str | None = None


class PasswordRule(Protocol):
    """A rule gets the normalised password and returns its violations (empty: passed)."""

    def check(self, password: str, context: PasswordContext) -> list[Violation]: ...


class PasswordChecker(Protocol):
    """Tells whether a password is known to attackers (a common list, a breach corpus)."""

    def is_compromised(self, password: str) -> bool: ...


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"{name} must be at least 1")


def _lengths(min_length: int, max_length: int) -> tuple[MinLength, MaxLength]:
    if min_length > max_length:
        raise ValueError("min_length must not exceed max_length")
    return MinLength(min_length=min_length), MaxLength(max_length=max_length)


@dataclass(frozen=True, kw_only=True, slots=True)
class MinLength:
    """At least ``min_length`` code points (SP 800-63B-4: 15, or 8 with another factor)."""

    code: ClassVar[str] = "too_short"
    min_length: int = 15

    def __post_init__(self) -> None:
        _positive("min_length", self.min_length)

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        if len(password) >= self.min_length:
            return []
        message = f"The password must be at least {self.min_length} characters long."
        return [Violation(code=self.code, message=message, params={"min_length": self.min_length})]


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxLength:
    """At most ``max_length`` code points; longer input is refused, never truncated."""

    code: ClassVar[str] = "too_long"
    max_length: int = 128

    def __post_init__(self) -> None:
        _positive("max_length", self.max_length)

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        if len(password) <= self.max_length:
            return []
        message = f"The password must be at most {self.max_length} characters long."
        return [Violation(code=self.code, message=message, params={"max_length": self.max_length})]


@dataclass(frozen=True, kw_only=True, slots=True)
class MinDistinctCharacters:
    """At least ``min_distinct`` different code points: refuses ``aaaaaaaaaaaaaaaa``."""

    code: ClassVar[str] = "too_few_distinct_characters"
    min_distinct: int = 5

    def __post_init__(self) -> None:
        _positive("min_distinct", self.min_distinct)

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        if len(set(password)) >= self.min_distinct:
            return []
        message = f"The password must contain at least {self.min_distinct} different characters."
        return [
            Violation(code=self.code, message=message, params={"min_distinct": self.min_distinct})
        ]


def _context_words(value: str, min_length: int) -> set[str]:
    """The value itself and its parts (``john.smith`` -> john, smith), case-folded."""
    folded = unicodedata.normalize("NFC", value).casefold()
    words = {folded, _WORD_SPLIT.sub("", folded), *_WORD_SPLIT.split(folded)}
    return {word for word in words if len(word) >= min_length}


@dataclass(frozen=True, kw_only=True, slots=True)
class NoContextWords:
    """No username, email local part or service name inside the password (SP 800-63B-4).

    Matching is case-insensitive, also on the parts of a value split at punctuation
    (``john.smith`` yields ``john`` and ``smith``); words shorter than
    ``min_word_length`` are ignored. The violation names the fields, never their values.
    """

    code: ClassVar[str] = "contains_context_word"
    service_name: str | None = None
    min_word_length: int = 3

    def __post_init__(self) -> None:
        _positive("min_word_length", self.min_word_length)

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        email = context.email or ""
        sources = {
            "username": context.username,
            "email": email.rpartition("@")[0] or email,
            "service_name": self.service_name,
        }
        folded = password.casefold()
        fields = [
            name
            for name, value in sources.items()
            if value and any(w in folded for w in _context_words(value, self.min_word_length))
        ]
        if not fields:
            return []
        labels = " or ".join(_FIELD_LABELS[name] for name in fields)
        message = f"The password must not contain {labels}."
        return [Violation(code=self.code, message=message, params={"fields": fields})]


@dataclass(frozen=True, kw_only=True, slots=True)
class RequireCharacterClasses:
    """At least ``min_classes`` of the ``required`` character classes (PCI DSS, legacy).

    NIST SP 800-63B-4 says verifiers SHALL NOT impose composition rules; this rule is
    for the ``pci`` and ``classic`` presets. ``letter`` means any alphabetic character.
    """

    code: ClassVar[str] = "missing_character_classes"
    required: tuple[CharacterClass, ...] = ("lower", "upper", "digit", "symbol")
    min_classes: int = 3

    def __post_init__(self) -> None:
        unknown = set(self.required) - set(_CLASSES)
        if unknown or not self.required:
            raise ValueError(f"required must be a non-empty subset of {_CLASSES}")
        if not 1 <= self.min_classes <= len(self.required):
            raise ValueError("min_classes must be between 1 and len(required)")

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        present = sum(any(_CLASS_TESTS[c](ch) for ch in password) for c in self.required)
        if present >= self.min_classes:
            return []
        names = ", ".join(self.required)
        if self.min_classes == len(self.required):
            message = f"The password must contain each of: {names}."
        else:
            message = f"The password must contain at least {self.min_classes} of: {names}."
        params = {"required": list(self.required), "min_classes": self.min_classes}
        return [Violation(code=self.code, message=message, params=params)]


@dataclass(frozen=True, kw_only=True, slots=True)
class NotCommon:
    """Not in the offline list of commonly used passwords (case-insensitive)."""

    code: ClassVar[str] = "common_password"
    checker: PasswordChecker = field(default_factory=CommonPasswordList)

    def check(self, password: str, context: PasswordContext) -> list[Violation]:
        if not self.checker.is_compromised(password):
            return []
        message = "This password is too common; choose one that is harder to guess."
        return [Violation(code=self.code, message=message)]


@dataclass(frozen=True, kw_only=True, slots=True)
class PasswordPolicy:
    """An ordered set of rules; ``check`` returns every violation, ``enforce`` raises."""

    rules: tuple[PasswordRule, ...]

    def check(
        self, password: str, *, username: str | None = None, email: str | None = None
    ) -> list[Violation]:
        """Every violation of the NFC-normalised password (empty: acceptable)."""
        normalized = normalize_password(password)
        context = PasswordContext(username=username, email=email)
        return [v for rule in self.rules for v in rule.check(normalized, context)]

    def enforce(
        self, password: str, *, username: str | None = None, email: str | None = None
    ) -> None:
        """Raise ``WeakPassword`` listing every violation, if there is any."""
        violations = self.check(password, username=username, email=email)
        if violations:
            raise WeakPassword(errors=[v.as_dict() for v in violations])

    def with_rules(self, *rules: PasswordRule) -> PasswordPolicy:
        """A copy with more rules, e.g. ``NotBreached(checker=HibpRangeChecker())``."""
        return PasswordPolicy(rules=(*self.rules, *rules))

    @classmethod
    def nist(
        cls,
        *,
        service_name: str | None = None,
        min_length: int = 15,
        max_length: int = 128,
        min_distinct: int = 5,
        extra_rules: Iterable[PasswordRule] = (),
    ) -> PasswordPolicy:
        """The default: NIST SP 800-63B-4 §3.1.1.2 for passwords used as a single factor.

        Minimum 15 code points (SP 800-63B-4 allows 8 only when the password is used
        with another factor), maximum 128 (it asks for at least 64), at least 5
        distinct characters, no context words, not a commonly used password, and no
        composition rules.
        """
        if min_length < 8 or max_length < 64:
            raise ValueError("SP 800-63B-4 needs min_length >= 8 and max_length >= 64")
        return cls(
            rules=(
                *_lengths(min_length, max_length),
                MinDistinctCharacters(min_distinct=min_distinct),
                NoContextWords(service_name=service_name),
                NotCommon(),
                *extra_rules,
            )
        )

    @classmethod
    def pci(cls, *, min_length: int = 12, max_length: int = 128) -> PasswordPolicy:
        """PCI DSS v4.0 requirement 8.3.6: at least 12 characters, letters and digits.

        Plus the offline common-password check, which PCI DSS 8.3.6 does not demand
        but which costs nothing.
        """
        return cls(
            rules=(
                *_lengths(min_length, max_length),
                RequireCharacterClasses(required=("letter", "digit"), min_classes=2),
                NotCommon(),
            )
        )

    @classmethod
    def classic(cls, *, min_length: int = 12, max_length: int = 128) -> PasswordPolicy:
        """A legacy complexity policy: 12+ characters with 3 of lower, upper, digit, symbol.

        For organisations whose rules still demand composition (NIST SP 800-63B-4 no
        longer does); the common-password check is kept.
        """
        return cls(
            rules=(
                *_lengths(min_length, max_length),
                RequireCharacterClasses(required=("lower", "upper", "digit", "symbol")),
                NotCommon(),
            )
        )


__all__ = [
    "PASSWORD_POLICY_PRESETS",
    "CharacterClass",
    "MaxLength",
    "MinDistinctCharacters",
    "MinLength",
    "NoContextWords",
    "NotCommon",
    "PasswordChecker",
    "PasswordContext",
    "PasswordPolicy",
    "PasswordPolicyPreset",
    "PasswordRule",
    "RequireCharacterClasses",
    "Violation",
    "normalize_password",
]
