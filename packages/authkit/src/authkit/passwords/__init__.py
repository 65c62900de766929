"""Password hashing (argon2id), the password policy and compromised-password checkers."""

from authkit.passwords.breached import DEFAULT_HIBP_URL, HibpRangeChecker, NotBreached
from authkit.passwords.common import CommonPasswordList, is_common_password, load_common_passwords
from authkit.passwords.hashing import Argon2Parameters, PasswordHasher
from authkit.passwords.policy import (
    CharacterClass,
    MaxLength,
    MinDistinctCharacters,
    MinLength,
    NoContextWords,
    NotCommon,
    PasswordChecker,
    PasswordContext,
    PasswordPolicy,
    PasswordRule,
    RequireCharacterClasses,
    Violation,
    normalize_password,
)

__all__ = [
    "DEFAULT_HIBP_URL",
    "Argon2Parameters",
    "CharacterClass",
    "CommonPasswordList",
    "HibpRangeChecker",
    "MaxLength",
    "MinDistinctCharacters",
    "MinLength",
    "NoContextWords",
    "NotBreached",
    "NotCommon",
    "PasswordChecker",
    "PasswordContext",
    "PasswordHasher",
    "PasswordPolicy",
    "PasswordRule",
    "RequireCharacterClasses",
    "Violation",
    "is_common_password",
    "load_common_passwords",
    "normalize_password",
]
