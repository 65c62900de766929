"""Meta-tests of the error hierarchy: exported, listed, unique codes, mapped, safe messages.

pyjwt's exceptions drifted (some leaves were never exported); these tests keep ours
from doing the same.
"""

from __future__ import annotations

import re
import string

import pytest

import authkit
import authkit.errors
from authkit import AuthkitError
from authkit.errors import TooManyAttempts, ValidationFailed, WeakPassword


def all_subclasses(cls: type[AuthkitError]) -> list[type[AuthkitError]]:
    found: list[type[AuthkitError]] = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(all_subclasses(sub))
    return found


# The core's hierarchy; an app may subclass AuthkitError in its own modules.
_EVERY_ERROR: list[type[AuthkitError]] = [AuthkitError, *all_subclasses(AuthkitError)]
ERRORS: list[type[AuthkitError]] = [e for e in _EVERY_ERROR if e.__module__.startswith("authkit.")]
DEFINED_IN_ERRORS = [e for e in ERRORS if e.__module__ == "authkit.errors"]


def test_hierarchy_is_not_empty() -> None:
    """Sanity: the hierarchy was found (and every subclass lives in authkit.errors)."""
    assert len(DEFINED_IN_ERRORS) >= 15
    assert DEFINED_IN_ERRORS == ERRORS, "define errors in authkit.errors, nowhere else"


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_exported_from_authkit_errors_and_listed(error: type[AuthkitError]) -> None:
    """Every error is importable from the ``authkit.errors`` namespace and listed there.

    Only the root is re-exported at the top (``authkit.AuthkitError``): the top level
    names one thing per capability, and ``authkit.errors`` is that capability.
    """
    assert getattr(authkit.errors, error.__name__) is error
    assert error.__name__ in authkit.errors.__all__
    assert (error.__name__ in authkit.__all__) == (error is AuthkitError)


def test_errors_all_lists_only_errors() -> None:
    """authkit.errors.__all__ names exactly the hierarchy (nothing stale)."""
    assert sorted(authkit.errors.__all__) == sorted(e.__name__ for e in ERRORS)


def test_codes_are_unique_and_stable_shaped() -> None:
    """Each class sets its own code: lowercase snake case, no two alike."""
    codes = [e.code for e in ERRORS]
    assert len(codes) == len(set(codes)), codes
    for error in ERRORS:
        assert "code" in vars(error), f"{error.__name__} inherits its parent's code"
        assert re.fullmatch(r"[a-z][a-z_]*[a-z]", error.code)


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_messages_have_no_placeholders(error: type[AuthkitError]) -> None:
    """Default messages are finished sentences: no {}, %s or $var left to fill."""
    message = error.default_message
    assert message
    assert message.strip() == message
    assert message.endswith(".")
    assert not [name for _, name, _, _ in string.Formatter().parse(message) if name is not None]
    assert not re.search(r"%[sdr(]|\$\w|\{|\}", message)


def test_every_error_is_constructible_with_a_safe_default() -> None:
    """Each error can be raised with its default message; repr shows code and message."""
    for error in ERRORS:
        instance: AuthkitError
        if issubclass(error, ValidationFailed | WeakPassword):
            instance = error([])
        elif issubclass(error, TooManyAttempts):
            instance = error(0)
            assert instance.extra["retry_after"] == 1, "retry_after is at least 1"
        else:
            instance = error()
        assert instance.message == error.default_message
        assert str(instance) == error.default_message
        assert error.code in repr(instance)
