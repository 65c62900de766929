"""Brute-force throttling of sign-ins and registrations, on top of ``limits``.

Online guessing is slowed down by five budgets (all configurable, see
``ThrottleRules``):

- failures per (client address, username) pair, so one client cannot keep guessing
  one account's password;
- failures per client address across usernames, so one client cannot spray one
  password over many accounts;
- failures per account across addresses, so a botnet cannot guess one account's
  password from many addresses (NIST SP 800-63B-4 §3.2.2, §5.2.2 in revision 3:
  at most 100 consecutive failed attempts on one account);
- failures per known device (OWASP "device cookies"): a sign-in that presents a
  device token of the account (see ``authkit.tokens.DeviceTokens``) spends its
  device's budget *instead of* the account's, so a stranger who spends the
  account budget from many addresses cannot lock the owner out of a device the
  owner signed in from before; a device that fails too often is locked out alone;
- registrations per client address, so accounts cannot be mass-created.

A client address is counted as an IPv4 address or, for IPv6, as its /64 network
(``ipv6_prefix_length``): one subscriber routinely holds a whole /64, so counting
single IPv6 addresses would give one client 2^64 budgets. Ports, brackets, zone
ids and leading zeros are normalised first (see ``authkit._client_address``).

Counting uses the moving-window strategy: it keeps one timestamp per counted event,
so "5 failures within 60 s" holds for *every* 60 s span (a fixed window lets twice
the budget through around a window boundary, and the sliding-window counter only
approximates the count), and the moment a budget frees again is known exactly,
which is what makes ``retry_after`` honest.

Storage is chosen by a ``limits`` URI: ``memory://`` for one process, ``redis://``
(or ``rediss://``, ``valkey://``) when several processes or hosts must share the
counters. Redis connection options go in the URI query, for instance
``redis://host:6379/0?socket_timeout=2``. Without them a Redis server gets
:data:`REDIS_TIMEOUT_SECONDS` for each connect and each command, so a hung server
cannot hang sign-ins (redis-py waits forever by default). Storage failures become
``ServiceUnavailable``: throttling fails closed, and the caller decides how to
answer (503, say).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields

import limits.errors
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import MemoryStorage, MovingWindowSupport, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from authkit._client_address import client_address_key
from authkit.errors import AuthkitError, ConfigurationError, ServiceUnavailable, TooManyAttempts
from authkit.users._model import canonical

_KEY_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")

REDIS_TIMEOUT_SECONDS = 0.5
"""Default connect and command timeout of a Redis rate-limit storage, in seconds.

A counter update takes well under a millisecond; half a second is generous, and
with redis-py's three retries a hung server costs a sign-in about two seconds
before the 503, not a thread held until the server comes back."""
_REDIS_SCHEMES = frozenset({"redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ThrottleRules:
    """The throttling budgets: how many events each key may have within its window.

    The defaults are those of the HTTP contract. ``account_failures`` must stay at
    or below 100 to follow NIST SP 800-63B-4 §3.2.2, which caps consecutive failed
    attempts on one account at 100; a successful sign-in resets the count.

    ``device_failures`` per ``device_window_seconds`` is the budget of one known
    device (10 an hour: a person mistyping on their own phone, not a guesser, and
    at most 240 guesses a day for whoever steals one device token);
    ``device_token_ttl_seconds`` is how long a device token stays valid (90 days).
    ``ipv6_prefix_length`` is the IPv6 network counted as one client address
    (32-128; /64 by default, /128 counts single addresses).

    ``forgot_password_per_address`` and ``forgot_password_per_email`` bound the
    reset requests per client address and per email as typed (known or not, so a
    429 says nothing about the account) within ``forgot_password_window_seconds``;
    ``account_mails`` per ``account_mail_window_seconds`` bounds the mails one
    signed-in account can have sent (verification, email change).
    """

    pair_failures: int = 5
    pair_window_seconds: int = 60
    address_failures: int = 30
    address_window_seconds: int = 60
    account_failures: int = 100
    account_window_seconds: int = 86_400
    registrations: int = 10
    registration_window_seconds: int = 3_600
    device_failures: int = 10
    device_window_seconds: int = 3_600
    device_token_ttl_seconds: int = 90 * 86_400
    ipv6_prefix_length: int = 64
    forgot_password_per_address: int = 20
    forgot_password_per_email: int = 5
    forgot_password_window_seconds: int = 3_600
    account_mails: int = 5
    account_mail_window_seconds: int = 3_600

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if type(value) is not int or value < 1:
                raise ConfigurationError(
                    f"ThrottleRules.{f.name} must be a positive integer, got {value!r}.",
                    field=f.name,
                )
        if not 32 <= self.ipv6_prefix_length <= 128:
            # Shorter than /32 would put whole providers into one budget.
            raise ConfigurationError(
                "ThrottleRules.ipv6_prefix_length must be between 32 and 128, "
                f"got {self.ipv6_prefix_length!r}.",
                field="ipv6_prefix_length",
            )


DEFAULT_THROTTLE_RULES = ThrottleRules()
"""The default rules: the budgets the HTTP contract documents."""


@dataclass(frozen=True, slots=True)
class _Budget:
    """One rule: a tag that keeps its keys apart from the other rules', and its rate."""

    tag: str
    item: RateLimitItem

    def identifiers(self, *values: str) -> tuple[str, ...]:
        return (self.tag, *map(_digest, values))


MEMORY_SWEEP_SECONDS = 1.0
"""How often, at most, the ``memory://`` storage sweeps its expired entries."""


class _SweptMemoryStorage(MemoryStorage):
    """``limits``' in-process storage, sweeping expired entries once a second at most.

    ``MemoryStorage`` (limits 5.x) starts a ``threading.Timer`` of 10 ms on every
    hit or clear whose previous timer has finished, so each sign-in more than
    10 ms after the last started a thread, and waited for it to start: a
    sizeable part of a sign-in's time on a busy machine. The sweep is only
    housekeeping (it frees memory): the moving window counts the entries inside
    the window by their timestamps and a counter checks its own expiry, so
    sweeping less often changes no answer. Overrides the private
    ``__schedule_expiry`` (name-mangled); ``tests/authkit/test_throttle.py``
    checks that it still exists in the installed ``limits``.
    """

    def __init__(self, uri: str | None = None) -> None:
        self._last_sweep = time.monotonic()
        super().__init__(uri)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the mangled name)
        now = time.monotonic()
        if now - self._last_sweep < MEMORY_SWEEP_SECONDS or self.timer.is_alive():
            return
        self._last_sweep = now
        self.timer = threading.Timer(0.01, self._MemoryStorage__expire_events)  # type: ignore[attr-defined]
        self.timer.daemon = True
        self.timer.start()


class LoginThrottle:
    """Counts failed sign-ins and registrations, and refuses them past their budgets.

    The sign-in flow is:

        throttle.acquire_login(address, key)             # raises TooManyAttempts
        ...authenticate...
        throttle.record_failure(address, key, acquired=True)  # wrong password or code
        throttle.record_success(address, key)            # on success

    ``acquire_login`` counts the attempt against the pair and account budgets
    *before* the slow password check, atomically in the storage, so a burst of
    concurrent guesses cannot all slip past a check that only failures update;
    success clears those budgets again. ``check_login`` is the read-only test.

    where ``key`` is the account's canonical username when it is known (so the
    email and the username of one account share its counters), else what was typed.
    A pair that has exhausted its budget is refused whether the next password is
    right or wrong, otherwise the throttle would leak which guess was correct.

    Usernames are compared in ``authkit.users.canonical`` form (NFKC, case-folded,
    trimmed), and IP addresses as IPv4 addresses or IPv6 networks (see the module
    docstring). Both reach the storage only as SHA-256 digests: no separator in a
    username can make two (address, username) pairs share a counter.
    """

    def __init__(
        self,
        storage_uri: str = "memory://",
        rules: ThrottleRules = DEFAULT_THROTTLE_RULES,
        *,
        key_prefix: str = "authkit",
    ) -> None:
        if not _KEY_PREFIX.fullmatch(key_prefix):
            raise ConfigurationError(
                "key_prefix must be 1-64 characters from [A-Za-z0-9_.:-], "
                "starting with a letter or digit."
            )
        scheme = urllib.parse.urlsplit(storage_uri).scheme
        options: dict[str, float] = {}
        if scheme in _REDIS_SCHEMES:
            # Keyword defaults: redis-py lets options in the URI query win over them.
            options = {
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
            }
        try:
            storage = (
                _SweptMemoryStorage(storage_uri)
                if scheme == "memory"
                else storage_from_string(storage_uri, **options)
            )
        except (limits.errors.ConfigurationError, ValueError) as exc:
            # The URI may hold a password: name only its scheme.
            raise ConfigurationError(
                f"Cannot use the rate-limit storage of scheme {scheme!r}: {type(exc).__name__}."
            ) from exc
        if not isinstance(storage, Storage) or not isinstance(storage, MovingWindowSupport):
            raise ConfigurationError(
                f"The rate-limit storage of scheme {scheme!r} must be synchronous "
                "and support the moving-window strategy."
            )
        self._storage: Storage = storage
        self._in_process = scheme == "memory"
        self._limiter = MovingWindowRateLimiter(storage)
        self._rules = rules
        self._last_address: tuple[str | None, str] = (None, "")

        def budget(tag: str, amount: int, window: int) -> _Budget:
            return _Budget(tag, RateLimitItemPerSecond(amount, window, namespace=key_prefix))

        self._pair = budget("pair", rules.pair_failures, rules.pair_window_seconds)
        self._address = budget("address", rules.address_failures, rules.address_window_seconds)
        self._account = budget("account", rules.account_failures, rules.account_window_seconds)
        self._device = budget("device", rules.device_failures, rules.device_window_seconds)
        self._registration = budget(
            "registration", rules.registrations, rules.registration_window_seconds
        )
        self._forgot_address = budget(
            "forgot_address",
            rules.forgot_password_per_address,
            rules.forgot_password_window_seconds,
        )
        self._forgot_email = budget(
            "forgot_email", rules.forgot_password_per_email, rules.forgot_password_window_seconds
        )
        self._account_mail = budget(
            "account_mail", rules.account_mails, rules.account_mail_window_seconds
        )

    @property
    def rules(self) -> ThrottleRules:
        """The limits and windows being enforced."""
        return self._rules

    @property
    def in_process(self) -> bool:
        """Whether the counters live in this process (``memory://``), unseen by others."""
        return self._in_process

    def check_login(self, address: str, username: str, *, device: str | None = None) -> None:
        """Refuse a sign-in attempt when one of its budgets is spent.

        Its budgets are the pair's, the address's, and the account's, or, for an
        attempt from a known ``device`` (the id of a verified device token of this
        account), that device's instead of the account's. Consumes nothing.

        :raises TooManyAttempts: with ``retry_after``, the whole seconds after which
            none of the exhausted budgets refuses this attempt any more.
        """
        addr, user = self._address_key(address), _normalize_username(username)
        with _storage_errors():
            waits = self._exhausted_waits(addr, user, device)
        if waits:
            raise TooManyAttempts(retry_after=_seconds_until(max(waits)))

    def _owner_budget(self, user: str, device: str | None) -> tuple[_Budget, tuple[str, ...]]:
        """The account's budget, or a known device's own budget on that account."""
        if device is None:
            return self._account, self._account.identifiers(user)
        return self._device, self._device.identifiers(user, device)

    def _exhausted_waits(self, addr: str, user: str, device: str | None) -> list[float]:
        return [
            stats.reset_time
            for budget, ids in (
                (self._pair, self._pair.identifiers(addr, user)),
                (self._address, self._address.identifiers(addr)),
                self._owner_budget(user, device),
            )
            if (stats := self._limiter.get_window_stats(budget.item, *ids)).remaining <= 0
        ]

    def acquire_login(self, address: str, username: str, *, device: str | None = None) -> None:
        """Admit one sign-in attempt, counting it against the pair and account budgets.

        (Against the pair and ``device`` budgets for an attempt from a known device.)
        Each budget is taken with the storage's atomic hit, so of N concurrent
        attempts at most the remaining budget get through, however they interleave.
        The address budget counts failures only (a busy NAT signs many people in)
        and is tested here, consumed by ``record_failure``.

        Raises:
            TooManyAttempts: as ``check_login`` does.
        """
        addr, user = self._address_key(address), _normalize_username(username)
        owner, owner_ids = self._owner_budget(user, device)
        with _storage_errors():
            waits = self._exhausted_waits(addr, user, device)
            if not waits and not (
                self._limiter.hit(self._pair.item, *self._pair.identifiers(addr, user))
                and self._limiter.hit(owner.item, *owner_ids)
            ):
                waits = self._exhausted_waits(addr, user, device) or [time.time()]
        if waits:
            raise TooManyAttempts(retry_after=_seconds_until(max(waits)))

    def record_failure(
        self, address: str, username: str, *, acquired: bool = False, device: str | None = None
    ) -> None:
        """Count one failed sign-in (wrong password or MFA code).

        With ``acquired=True`` the attempt already counted against the pair and
        account (or ``device``) budgets in ``acquire_login``, so only the
        address budget is hit; otherwise all three are. A full budget is left as
        it is: the attempt was refused anyway, and it frees when its oldest entry
        leaves the window.
        """
        addr, user = self._address_key(address), _normalize_username(username)
        owner, owner_ids = self._owner_budget(user, device)
        with _storage_errors():
            if not acquired:
                self._limiter.hit(self._pair.item, *self._pair.identifiers(addr, user))
                self._limiter.hit(owner.item, *owner_ids)
            self._limiter.hit(self._address.item, *self._address.identifiers(addr))

    def record_success(self, address: str, username: str, *, device: str | None = None) -> None:
        """Forget the failures of this pair and of this account after a successful sign-in.

        And those of ``device``, when the sign-in came from a known one. The account
        budget counts *consecutive* failures (NIST SP 800-63B-4 §3.2.2). The address
        budget is kept: a client that guessed one password right must not win a
        fresh budget to spray over other accounts.
        """
        addr, user = self._address_key(address), _normalize_username(username)
        with _storage_errors():
            self._limiter.clear(self._pair.item, *self._pair.identifiers(addr, user))
            self._limiter.clear(self._account.item, *self._account.identifiers(user))
            if device is not None:
                self._limiter.clear(self._device.item, *self._device.identifiers(user, device))

    def _address_key(self, address: str) -> str:
        # A sign-in keys its address twice (admit, then clear or count the failure):
        # the last answer is kept, one (address, key) pair, swapped whole (thread-safe).
        last = self._last_address
        if last[0] == address:
            return last[1]
        key = client_address_key(address, self._rules.ipv6_prefix_length)
        self._last_address = (address, key)
        return key

    def register_attempt(self, address: str) -> None:
        """Count one registration attempt from ``address``, or refuse it past the budget.

        Checking and counting are one atomic step of the storage, so concurrent
        attempts cannot overshoot the budget. Call it before any work is done.

        :raises TooManyAttempts: when the address has used its registration budget.
        """
        ids = self._registration.identifiers(self._address_key(address))
        with _storage_errors():
            if self._limiter.hit(self._registration.item, *ids):
                return
            stats = self._limiter.get_window_stats(self._registration.item, *ids)
        raise TooManyAttempts(retry_after=_seconds_until(stats.reset_time))

    def forgot_password_attempt(self, address: str, email: str) -> None:
        """Count one forgotten-password request, per client address and per email as typed.

        The email is counted in canonical form whether or not an account has it,
        so the answer (202 or 429) is the same for known and unknown addresses.
        The address budget is taken first; a refused request spends nothing more.

        :raises TooManyAttempts: when either budget is spent.
        """
        self._take(
            (self._forgot_address, (self._address_key(address),)),
            (self._forgot_email, (_normalize_username(email),)),
        )

    def account_mail_attempt(self, user_id: str) -> None:
        """Count one mail a signed-in account asked for (verification, email change).

        :raises TooManyAttempts: when the account's mail budget is spent.
        """
        self._take((self._account_mail, (user_id,)))

    def _take(self, *budgets: tuple[_Budget, tuple[str, ...]]) -> None:
        """Hit each budget in order (atomically each); raise at the first that is spent."""
        with _storage_errors():
            for budget, values in budgets:
                ids = budget.identifiers(*values)
                if not self._limiter.hit(budget.item, *ids):
                    stats = self._limiter.get_window_stats(budget.item, *ids)
                    raise TooManyAttempts(retry_after=_seconds_until(stats.reset_time))

    def close(self) -> None:
        """Release the storage's connections (a Redis pool); ``memory://`` holds none.

        ``limits`` has no close of its own, so the client it made is closed here;
        without it the pool's sockets linger until the garbage collector finds them.
        """
        client = getattr(self._storage, "storage", None)
        close = getattr(client, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):  # closing must not fail a shutdown
                close()

    def ping(self) -> bool:
        """Whether the storage answers, for readiness checks."""
        try:
            return bool(self._storage.check())
        except Exception:  # any storage failure means "not ready"
            return False


@contextmanager
def _storage_errors() -> Iterator[None]:
    """Turn a storage failure (Redis down, a timeout) into ``ServiceUnavailable``.

    Fails closed: no attempt goes through unthrottled while the limits are unknown.
    """
    try:
        yield
    except AuthkitError:
        raise
    except Exception as exc:  # redis, limits and socket errors share no base class
        raise ServiceUnavailable("The rate-limit storage is unavailable.") from exc


def _normalize_username(username: str) -> str:
    # authkit.users.canonical itself, so the service's keys meet ours.
    return canonical(username)


def _normalize_address(address: str) -> str:
    """The key of ``address`` under the default rules (an IPv6 address counts as its /64)."""
    return client_address_key(address, DEFAULT_THROTTLE_RULES.ipv6_prefix_length)


def _digest(value: str) -> str:
    # surrogatepass: JSON can carry lone surrogates, and they must not crash the throttle.
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


_TIMESTAMP_MARGIN = 0.001
"""Seconds added for storages that round the timestamps they keep: the Redis
storage reads them back through Lua numbers (14 significant digits, about 0.1 ms
at today's epoch), so a window may free a fraction later than it reports."""


def _seconds_until(reset_time: float) -> int:
    """Whole seconds strictly past ``reset_time`` (plus rounding margin), at least 1.

    ``floor + 1`` rather than ``ceil``: some storages still count an event at exactly
    the end of its window, so waiting exactly ``reset_time - now`` could be refused.
    """
    return max(1, math.floor(reset_time - time.time() + _TIMESTAMP_MARGIN) + 1)


__all__ = ["DEFAULT_THROTTLE_RULES", "REDIS_TIMEOUT_SECONDS", "LoginThrottle", "ThrottleRules"]
