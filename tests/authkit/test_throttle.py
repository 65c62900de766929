"""Brute-force throttling: the contract of API.md "Brute-force throttling".

The behaviour suite runs over every storage backend (``memory://`` always, Redis
when ``AUTHKIT_TEST_REDIS_URL`` is set), in the style of ``alisaifee/limits``'
``tests/utils.py``. ``limits`` reads the real clock, so the few tests about windows
freeing use 1-2 s windows and wait for the ``retry_after`` they were given: that
wait *is* the behaviour under test (an honest ``retry_after``).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import pytest
import time_machine
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from authkit import LoginThrottle
from authkit.errors import ConfigurationError, TooManyAttempts
from authkit.throttle import ThrottleRules, _normalize_address, _normalize_username

REDIS_URL = os.environ.get("AUTHKIT_TEST_REDIS_URL")
NO_REDIS = "AUTHKIT_TEST_REDIS_URL is not set: no Redis server to test against"

BACKENDS = [
    pytest.param("memory://", id="memory"),
    pytest.param(
        REDIS_URL or "redis://unset",
        id="redis",
        marks=[pytest.mark.redis, pytest.mark.skipif(not REDIS_URL, reason=NO_REDIS)],
    ),
]

ADDR = "192.0.2.1"
OTHER_ADDR = "198.51.100.7"


class MakeThrottle(Protocol):
    def __call__(self, **rules: int) -> LoginThrottle: ...


TimeTravel = time_machine.Traveller


@pytest.fixture
def clock() -> Iterator[TimeTravel]:
    """Wall-clock time under the test's control, so windows pass without sleeping.

    ``limits``' storages read ``time.time()`` themselves (there is no clock to
    inject into them), so the clock is moved where they read it.
    """
    with time_machine.travel(time.time(), tick=False) as traveller:
        yield traveller


@pytest.fixture(params=BACKENDS)
def storage_uri(request: pytest.FixtureRequest) -> str:
    uri: str = request.param
    return uri


@pytest.fixture
def make_throttle(storage_uri: str) -> Iterator[MakeThrottle]:
    """Throttles on the backend under test, under a key prefix of their own."""
    prefix = f"test-{uuid.uuid4().hex}"

    made: list[LoginThrottle] = []

    def make(**rules: int) -> LoginThrottle:
        made.append(LoginThrottle(storage_uri, ThrottleRules(**rules), key_prefix=prefix))
        return made[-1]

    yield make
    for throttle in made:
        throttle.close()
    if storage_uri.startswith("redis"):
        import redis

        client = redis.Redis.from_url(storage_uri)
        try:
            keys = list(client.scan_iter(match=f"LIMITS:{prefix}/*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


def refusal(throttle: LoginThrottle, address: str, username: str) -> TooManyAttempts:
    with pytest.raises(TooManyAttempts) as info:
        throttle.check_login(address, username)
    return info.value


# --- rules and construction -------------------------------------------------------


def test_default_rules_are_those_of_the_http_contract() -> None:
    rules = ThrottleRules()
    assert (rules.pair_failures, rules.pair_window_seconds) == (5, 60)
    assert (rules.address_failures, rules.address_window_seconds) == (30, 60)
    assert (rules.account_failures, rules.account_window_seconds) == (100, 86_400)
    assert (rules.registrations, rules.registration_window_seconds) == (10, 3_600)
    assert LoginThrottle().rules == rules


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "5", None])
@pytest.mark.parametrize("field", ["pair_failures", "account_window_seconds", "registrations"])
def test_rules_refuse_anything_but_positive_integers(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=field):
        ThrottleRules(**{field: value})  # type: ignore[arg-type]


def test_rules_are_frozen_and_keyword_only() -> None:
    rules = ThrottleRules()
    with pytest.raises(AttributeError):
        rules.pair_failures = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        ThrottleRules(5)  # type: ignore[call-arg]


@pytest.mark.parametrize("prefix", ["", "a/b", "-lead", "sp ace", "x" * 65, "ünï"])
def test_key_prefix_that_could_collide_or_break_keys_is_refused(prefix: str) -> None:
    with pytest.raises(ConfigurationError):
        LoginThrottle(key_prefix=prefix)


def test_unknown_storage_scheme_is_a_configuration_error_that_hides_the_uri() -> None:
    with pytest.raises(ConfigurationError) as info:
        LoginThrottle("nosuch://user:s3cret@host/0")
    assert "s3cret" not in str(info.value)
    assert "nosuch" in str(info.value)


def test_async_storage_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="synchronous"):
        LoginThrottle("async+memory://")


UNREACHABLE_REDIS = "redis://127.0.0.1:1/0?socket_connect_timeout=0.5"


def test_ping_reports_an_unreachable_storage() -> None:
    throttle = LoginThrottle(UNREACHABLE_REDIS)
    try:
        assert throttle.ping() is False
    finally:
        throttle.close()


def test_an_unreachable_storage_fails_closed() -> None:
    """No storage, no sign-in: ServiceUnavailable (503), chained to the storage's error."""
    import redis

    from authkit.errors import ServiceUnavailable

    with pytest.raises(ServiceUnavailable) as caught:
        LoginThrottle(UNREACHABLE_REDIS).check_login(ADDR, "alice")
    assert isinstance(caught.value.__cause__, redis.ConnectionError)


# --- behaviour, on every backend ----------------------------------------------------


def test_ping_reports_a_healthy_storage(make_throttle: MakeThrottle) -> None:
    assert make_throttle().ping() is True


def test_pair_is_refused_after_its_budget_of_failures(make_throttle: MakeThrottle) -> None:
    """Default rule: 5 failures within 60 s, then 429 for that pair, right password or not."""
    throttle = make_throttle()
    for _ in range(4):
        throttle.check_login(ADDR, "alice")
        throttle.record_failure(ADDR, "alice")
    throttle.check_login(ADDR, "alice")
    throttle.record_failure(ADDR, "alice")

    assert refusal(throttle, ADDR, "alice").retry_after in (60, 61)  # 61 within 1 ms
    throttle.check_login(OTHER_ADDR, "alice")
    throttle.check_login(ADDR, "bob")


def test_checking_consumes_nothing(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(pair_failures=1, address_failures=1, account_failures=1)
    for _ in range(20):
        throttle.check_login(ADDR, "alice")


def test_address_budget_spans_usernames(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(address_failures=3)
    for name in ("u0", "u1", "u2"):
        throttle.record_failure(ADDR, name)

    # 61 when under 1 ms has passed since the failures.
    assert refusal(throttle, ADDR, "never-tried").retry_after in (60, 61)
    throttle.check_login(OTHER_ADDR, "never-tried")


def test_account_budget_spans_addresses(make_throttle: MakeThrottle) -> None:
    """NIST SP 800-63B-4 §3.2.2: one account's failures count from every address."""
    throttle = make_throttle(account_failures=3)
    for i in range(3):
        throttle.record_failure(f"203.0.113.{i}", "alice")

    assert refusal(throttle, "203.0.113.99", "alice").retry_after in (86_400, 86_401)
    throttle.check_login("203.0.113.99", "bob")


def test_success_clears_the_pair_budget(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(pair_failures=3)
    for _ in range(2):
        throttle.record_failure(ADDR, "alice")
    throttle.record_success(ADDR, "alice")
    for _ in range(2):
        throttle.record_failure(ADDR, "alice")
    throttle.check_login(ADDR, "alice")


def test_success_clears_the_account_budget(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(account_failures=3)
    for i in range(2):
        throttle.record_failure(f"203.0.113.{i}", "alice")
    throttle.record_success("203.0.113.50", "alice")
    for i in range(2, 4):
        throttle.record_failure(f"203.0.113.{i}", "alice")
    throttle.check_login("203.0.113.99", "alice")


def test_success_keeps_the_address_budget(make_throttle: MakeThrottle) -> None:
    """A client that guesses one password right gets no fresh budget to spray."""
    throttle = make_throttle(address_failures=2)
    throttle.record_failure(ADDR, "alice")
    throttle.record_failure(ADDR, "bob")
    throttle.record_success(ADDR, "alice")
    refusal(throttle, ADDR, "carol")


def test_success_elsewhere_keeps_another_pairs_budget(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(pair_failures=2)
    throttle.record_failure(ADDR, "alice")
    throttle.record_failure(ADDR, "alice")
    throttle.record_success(OTHER_ADDR, "alice")
    refusal(throttle, ADDR, "alice")


@pytest.mark.parametrize(
    ("name", "variant"),
    [("alice", "Alice"), ("alice", " alice\t"), ("alice", "ALICE"), ("stra\u00dfe", "STRASSE")],
)
def test_usernames_are_counted_case_folded_and_trimmed(
    make_throttle: MakeThrottle, name: str, variant: str
) -> None:
    throttle = make_throttle(pair_failures=2, account_failures=2)
    throttle.record_failure(ADDR, name)
    throttle.record_failure(ADDR, variant)
    refusal(throttle, ADDR, name)
    refusal(throttle, OTHER_ADDR, variant)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("192.0.2.1", "::ffff:192.0.2.1"),
        ("2001:db8::1", "2001:DB8:0:0::0001"),
        ("192.0.2.1", " 192.0.2.1 "),
    ],
)
def test_addresses_are_counted_in_canonical_form(
    make_throttle: MakeThrottle, first: str, second: str
) -> None:
    throttle = make_throttle(address_failures=2)
    throttle.record_failure(first, "alice")
    throttle.record_failure(second, "bob")
    refusal(throttle, first, "carol")


def test_retry_after_is_honest(make_throttle: MakeThrottle, clock: TimeTravel) -> None:
    """Retrying after ``retry_after`` seconds is no longer throttled (API.md)."""
    throttle = make_throttle(pair_failures=2, pair_window_seconds=60)
    throttle.record_failure(ADDR, "alice")
    throttle.record_failure(ADDR, "alice")
    # The clock stands still: the window frees exactly 60 s from now, and retry_after
    # is the first whole second strictly past that.
    retry_after = refusal(throttle, ADDR, "alice").retry_after
    assert retry_after == 61

    clock.shift(retry_after - 2)
    assert refusal(throttle, ADDR, "alice").retry_after == 2
    clock.shift(2)
    throttle.check_login(ADDR, "alice")


def test_retry_after_waits_for_the_longest_exhausted_budget(
    make_throttle: MakeThrottle, clock: TimeTravel
) -> None:
    throttle = make_throttle(
        pair_failures=1, pair_window_seconds=60, address_failures=1, address_window_seconds=120
    )
    throttle.record_failure(ADDR, "alice")
    assert refusal(throttle, ADDR, "alice").retry_after == 121

    clock.shift(60)
    retry_after = refusal(throttle, ADDR, "alice").retry_after
    assert retry_after == 61
    clock.shift(retry_after)
    throttle.check_login(ADDR, "alice")


def test_registration_budget_per_address(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(registrations=3)
    for _ in range(3):
        throttle.register_attempt(ADDR)
    with pytest.raises(TooManyAttempts) as info:
        throttle.register_attempt("::ffff:" + ADDR)
    assert info.value.retry_after in (3_600, 3_601)
    throttle.register_attempt(OTHER_ADDR)
    throttle.check_login(ADDR, "alice")


def test_refused_registrations_consume_nothing_and_retry_after_is_honest(
    make_throttle: MakeThrottle, clock: TimeTravel
) -> None:
    throttle = make_throttle(registrations=2, registration_window_seconds=60)
    throttle.register_attempt(ADDR)
    throttle.register_attempt(ADDR)
    for _ in range(5):
        with pytest.raises(TooManyAttempts) as info:
            throttle.register_attempt(ADDR)
    assert info.value.retry_after == 61  # the clock stands still: 60 s and a tick

    clock.shift(info.value.retry_after)
    throttle.register_attempt(ADDR)
    throttle.register_attempt(ADDR)


def test_failures_recorded_concurrently_are_counted_exactly(make_throttle: MakeThrottle) -> None:
    """Many threads, one key: not one failure lost, none counted twice."""
    threads, each = 8, 5
    budget = threads * each + 1
    throttle = make_throttle(
        pair_failures=budget, address_failures=budget + 1, account_failures=budget + 1
    )
    barrier = threading.Barrier(threads)

    def fail() -> None:
        barrier.wait()
        for _ in range(each):
            throttle.record_failure(ADDR, "alice")

    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(fail) for _ in range(threads)]:
            future.result()

    throttle.check_login(ADDR, "alice")
    throttle.record_failure(ADDR, "alice")
    refusal(throttle, ADDR, "alice")


def test_concurrent_registrations_never_overshoot(make_throttle: MakeThrottle) -> None:
    """Many threads, one address: exactly the budget gets through."""
    threads = 40
    throttle = make_throttle(registrations=10)
    barrier = threading.Barrier(threads)

    def register() -> bool:
        barrier.wait()
        try:
            throttle.register_attempt(ADDR)
        except TooManyAttempts:
            return False
        return True

    with ThreadPoolExecutor(threads) as pool:
        results = [f.result() for f in [pool.submit(register) for _ in range(threads)]]
    assert results.count(True) == 10


def test_concurrent_sign_in_attempts_never_overshoot_the_pair_budget(
    make_throttle: MakeThrottle,
) -> None:
    """A burst of simultaneous guesses: exactly the pair's budget is admitted.

    ``acquire_login`` counts the attempt atomically before the slow password
    check, so no interleaving lets more than five guesses reach argon2.
    """
    threads = 40
    throttle = make_throttle()
    barrier = threading.Barrier(threads)

    def attempt() -> bool:
        barrier.wait()
        try:
            throttle.acquire_login(ADDR, "alice")
        except TooManyAttempts:
            return False
        throttle.record_failure(ADDR, "alice", acquired=True)
        return True

    with ThreadPoolExecutor(threads) as pool:
        results = [f.result() for f in [pool.submit(attempt) for _ in range(threads)]]
    assert results.count(True) == 5
    with pytest.raises(TooManyAttempts):
        throttle.check_login(ADDR, "alice")


def test_acquired_attempts_are_cleared_by_success(make_throttle: MakeThrottle) -> None:
    """Attempts admitted by acquire_login count until a success clears the pair."""
    throttle = make_throttle()
    for _ in range(4):
        throttle.acquire_login(ADDR, "alice")
    throttle.record_success(ADDR, "alice")
    for _ in range(5):
        throttle.acquire_login(ADDR, "alice")
    with pytest.raises(TooManyAttempts):
        throttle.acquire_login(ADDR, "alice")


# --- keys cannot be forged ----------------------------------------------------------


@pytest.mark.parametrize(
    ("victim", "forger"),
    [
        (("192.0.2.1", "a/b"), ("192.0.2.1/a", "b")),
        (("a:b", "c"), ("a", "b:c")),
        (("192.0.2.1", "x"), ("192.0.2.1", "x/1/60/second")),
        (("192.0.2.1", ""), ("", "192.0.2.1")),
        (("192.0.2.1", "{x}"), ("192.0.2.1", "{x}/-1")),
    ],
)
def test_separators_in_values_cannot_reach_another_pairs_counter(
    make_throttle: MakeThrottle, victim: tuple[str, str], forger: tuple[str, str]
) -> None:
    throttle = make_throttle(pair_failures=1)
    throttle.record_failure(*forger)
    throttle.check_login(*victim)


def test_an_address_cannot_reach_the_account_of_the_same_name(
    make_throttle: MakeThrottle,
) -> None:
    """Each rule has keys of its own: address ``bob`` exhausted is not account ``bob``."""
    throttle = make_throttle(address_failures=1)
    throttle.record_failure("bob", "mallory")
    throttle.check_login(ADDR, "bob")


def test_lone_surrogates_are_counted_not_crashed_on(make_throttle: MakeThrottle) -> None:
    throttle = make_throttle(pair_failures=1)
    throttle.record_failure(ADDR, "\ud800")
    refusal(throttle, ADDR, "\ud800")
    throttle.check_login(ADDR, "\udc00")


key_text = st.one_of(
    st.text(alphabet="ab/:%{}\\ \x00", max_size=6),
    st.text(max_size=12),
    st.ip_addresses().map(str),
)


@settings(max_examples=150, deadline=None)
@given(first=st.tuples(key_text, key_text), second=st.tuples(key_text, key_text))
def test_distinct_pairs_never_share_a_counter(
    first: tuple[str, str], second: tuple[str, str]
) -> None:
    def norm(pair: tuple[str, str]) -> tuple[str, str]:
        return _normalize_address(pair[0]), _normalize_username(pair[1])

    assume(norm(first) != norm(second))
    throttle = LoginThrottle(
        rules=ThrottleRules(pair_failures=1, address_failures=1_000, account_failures=1_000)
    )
    throttle.record_failure(*first)
    refusal(throttle, *first)
    throttle.check_login(*second)


def test_storage_failure_fails_closed_with_service_unavailable() -> None:
    """A rate-limit storage that does not answer refuses sign-ins (503), never lets them by."""
    from authkit.errors import ServiceUnavailable

    # A Redis URL on a port nothing listens on, with a short connect timeout.
    throttle = LoginThrottle("redis://127.0.0.1:9/0?socket_connect_timeout=0.2")
    with pytest.raises(ServiceUnavailable):
        throttle.check_login("192.0.2.1", "alice")
    with pytest.raises(ServiceUnavailable):
        throttle.record_failure("192.0.2.1", "alice")
    with pytest.raises(ServiceUnavailable):
        throttle.register_attempt("192.0.2.1")
    assert throttle.ping() is False


def test_the_memory_storage_override_still_hooks_the_private_scheduler() -> None:
    """``_SweptMemoryStorage`` overrides ``MemoryStorage.__schedule_expiry``: if a
    ``limits`` upgrade renames it, the override would silently stop applying."""
    from limits.storage import MemoryStorage

    assert hasattr(MemoryStorage, "_MemoryStorage__schedule_expiry")
    assert hasattr(MemoryStorage, "_MemoryStorage__expire_events")


def test_memory_sign_ins_start_no_thread_per_attempt() -> None:
    """Attempts more than 10 ms apart used to start one timer thread each; the
    sweep now runs once a second at most, and the budgets still hold."""
    throttle = LoginThrottle("memory://", ThrottleRules(pair_failures=3, account_failures=100))
    started = threading.Timer.start
    starts = 0

    def counting(self: threading.Timer) -> None:
        nonlocal starts
        starts += 1
        started(self)

    threading.Timer.start = counting  # type: ignore[method-assign,assignment]
    try:
        for _ in range(3):
            throttle.acquire_login("192.0.2.7", "alice")
            throttle.record_failure("192.0.2.7", "alice", acquired=True)
            time.sleep(0.02)
        with pytest.raises(TooManyAttempts):
            throttle.acquire_login("192.0.2.7", "alice")
    finally:
        threading.Timer.start = started  # type: ignore[method-assign]
    assert starts <= 1
