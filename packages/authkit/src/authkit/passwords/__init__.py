"""Password hashing (argon2id), the password policy and compromised-password checkers."""

from authkit.passwords._breached import DEFAULT_HIBP_URL, HibpRangeChecker, NotBreached
from authkit.passwords._common import CommonPasswordList, is_common_password, load_common_passwords
from authkit.passwords._hashing import Argon2Parameters, PasswordHasher
from authkit.passwords._policy import (
    PASSWORD_POLICY_PRESETS,
    CharacterClass,
    MaxLength,
    MinDistinctCharacters,
    MinLength,
    NoContextWords,
    NotCommon,
    PasswordChecker,
    PasswordContext,
    PasswordPolicy,
    PasswordPolicyPreset,
    PasswordRule,
    RequireCharacterClasses,
    Violation,
    normalize_password,
)

__all__ = [
    "DEFAULT_HIBP_URL",
    "PASSWORD_POLICY_PRESETS",
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
    "PasswordPolicyPreset",
    "PasswordRule",
    "RequireCharacterClasses",
    "Violation",
    "is_common_password",
    "load_common_passwords",
    "normalize_password",
]
