"""Password hashing (argon2id) and the password policy."""

from authkit.passwords.hashing import Argon2Parameters, PasswordHasher

__all__ = ["Argon2Parameters", "PasswordHasher"]
