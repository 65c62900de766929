"""The circuit breaker: pybreaker's state machine and storage, admission outside its lock.

Why not simply ``pybreaker.CircuitBreaker.call(fn)``? It holds one ``RLock`` for
the whole call, so every guarded call of a process would run one after the other
(a 10 s upstream timeout would stall every request thread). Here the breaker only
keeps the books: :meth:`Circuit.admit` decides before the call, the call runs
unlocked, and its result is fed to pybreaker afterwards through an instant call,
so pybreaker's own transitions (count, open at ``fail_max``, close after a good
trial) and its storages (memory, or ``CircuitRedisStorage`` shared by every worker
and host) do the rest.

A *failed call* is one logical call after its retries: ``fail_max`` then means the
same thing whatever the retry setting, as the contract's "consecutive failed
calls" reads. pybreaker subtleties handled here:

- it reads the time with ``datetime.now()``; :class:`_ClockedBreaker` opens at the
  injected clock's time so tests and the admission check agree;
- ``CircuitRedisStorage`` needs a client with ``decode_responses=False`` (it calls
  ``bytes.decode``), stores the state as the strings ``"closed"``, ``"open"``,
  ``"half-open"``, and keeps the opening instant in whole seconds (the reset
  timeout is honoured to within a second);
- it touches Redis in its constructor, which would make a Redis hiccup at boot
  crash the worker; :class:`_TolerantRedisStorage` lets the first use do it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

import pybreaker
from redis import Redis
from redis.exceptions import RedisError

from authkit.clock import Clock
from flight_app.resilience.errors import CircuitOpen
from flight_app.resilience.trial import LocalTrialGate, RedisTrialGate, TrialGate

logger = logging.getLogger(__name__)

BUSY_TRIAL_RETRY_AFTER = 1.0
"""Seconds to suggest when the circuit is half-open and another caller holds the trial."""


class CircuitState(IntEnum):
    """The states, valued as the ``..._circuit_state`` gauge reports them."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


_FROM_PYBREAKER = {
    pybreaker.STATE_CLOSED: CircuitState.CLOSED,
    pybreaker.STATE_HALF_OPEN: CircuitState.HALF_OPEN,
    pybreaker.STATE_OPEN: CircuitState.OPEN,
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Admission:
    """A permit to call; ``trial_token`` is set when this call is the half-open trial."""

    trial_token: str | None = None


class _Failed(Exception):
    """Carries a failure into pybreaker's books."""


def _succeed() -> None:
    return None


def _fail() -> None:
    raise _Failed


class _ClockedBreaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, opening at the injected clock's time (it uses ``datetime.now``)."""

    def __init__(
        self,
        *,
        clock: Clock,
        fail_max: int,
        reset_timeout: float,
        storage: pybreaker.CircuitBreakerStorage,
        listeners: list[pybreaker.CircuitBreakerListener],
        name: str,
    ) -> None:
        super().__init__(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            state_storage=storage,
            listeners=listeners,
            name=name,
        )
        self._clock = clock

    def open(self) -> bool:
        with self._lock:
            self._state_storage.opened_at = self._clock.now()
            self.state = self._state_storage.state = pybreaker.STATE_OPEN
            return self._throw_new_error_on_trip


class _TolerantRedisStorage(pybreaker.CircuitRedisStorage):
    """``CircuitRedisStorage`` that survives Redis being down when it is built.

    Its ``state`` getter re-initialises missing keys, so skipping the first
    initialisation on error loses nothing.
    """

    def _initialize_redis_state(self, state: str) -> None:
        try:
            super()._initialize_redis_state(state)
        except RedisError:
            logger.warning("circuit storage: Redis unreachable at start; will retry on use")


class _StateListener(pybreaker.CircuitBreakerListener):
    def __init__(self, on_state: Callable[[CircuitState], None]) -> None:
        self._on_state = on_state

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self._on_state(_FROM_PYBREAKER[new_state.name])


class Circuit:
    """Admission control and bookkeeping of one upstream's circuit.

    Build it with :meth:`in_memory` (one circuit per process) or :meth:`on_redis`
    (one circuit for every worker and host sharing that Redis).
    """

    def __init__(
        self,
        *,
        name: str,
        fail_max: int,
        reset_timeout: float,
        storage: pybreaker.CircuitBreakerStorage,
        gate: TrialGate,
        clock: Clock,
        trial_lease: float,
        on_state: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self._on_state = on_state or (lambda _state: None)
        self._breaker = _ClockedBreaker(
            clock=clock,
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            storage=storage,
            listeners=[_StateListener(self._on_state)],
            name=name,
        )
        self._storage = storage
        self._gate = gate
        self._clock = clock
        self._reset_timeout = reset_timeout
        self._trial_lease = trial_lease

    @classmethod
    def in_memory(
        cls,
        *,
        name: str,
        fail_max: int,
        reset_timeout: float,
        clock: Clock,
        trial_lease: float,
        on_state: Callable[[CircuitState], None] | None = None,
    ) -> Circuit:
        """A breaker whose state lives in this process (one worker, tests)."""
        return cls(
            name=name,
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            storage=pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED),
            gate=LocalTrialGate(clock=clock),
            clock=clock,
            trial_lease=trial_lease,
            on_state=on_state,
        )

    @classmethod
    def on_redis(
        cls,
        client: Redis,
        *,
        namespace: str,
        name: str,
        fail_max: int,
        reset_timeout: float,
        clock: Clock,
        trial_lease: float,
        on_state: Callable[[CircuitState], None] | None = None,
    ) -> Circuit:
        """A circuit kept in Redis under ``<namespace>:pybreaker:*`` and ``<namespace>:trial``."""
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError("the circuit's Redis client needs decode_responses=False")
        storage = _TolerantRedisStorage(pybreaker.STATE_CLOSED, client, namespace=namespace)
        return cls(
            name=name,
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            storage=storage,
            gate=RedisTrialGate(client, key=f"{namespace}:trial"),
            clock=clock,
            trial_lease=trial_lease,
            on_state=on_state,
        )

    def state(self) -> CircuitState:
        """The stored state (open stays open here even once a trial would be allowed)."""
        return _FROM_PYBREAKER.get(self._breaker.current_state, CircuitState.CLOSED)

    def retry_after(self) -> float:
        """Seconds until the open circuit lets a trial through; 0 when it is not open."""
        try:
            if self.state() is not CircuitState.OPEN:
                return 0.0
            return self._remaining(self._storage.opened_at)
        except RedisError:
            return 0.0

    def admit(self) -> Admission:
        """Let a call through, or raise :class:`CircuitOpen` without calling anything.

        If the shared storage cannot be read the circuit fails open (the call goes
        through): an outage of Redis must not become an outage of the upstream.
        """
        try:
            state = self.state()
            self._on_state(state)
            if state is CircuitState.CLOSED:
                return Admission()
            if state is CircuitState.OPEN:
                remaining = self._remaining(self._storage.opened_at)
                if remaining > 0:
                    raise CircuitOpen(remaining)
            token = self._gate.try_acquire(lease_seconds=self._trial_lease)
            if token is None:
                raise CircuitOpen(BUSY_TRIAL_RETRY_AFTER)
            if state is CircuitState.OPEN:
                self._breaker.half_open()
            return Admission(trial_token=token)
        except RedisError:
            logger.warning("circuit %s: storage unreachable; letting the call through", self.name)
            return Admission()

    def record_success(self, admission: Admission) -> None:
        """Book a successful call: resets the failure count, closes a half-open circuit."""
        self._record(admission, _succeed)

    def record_failure(self, admission: Admission) -> None:
        """Book a failed call: counts it, opens at ``fail_max`` or when the trial failed."""
        self._record(admission, _fail)

    @property
    def name(self) -> str:
        """The breaker's name, as the metrics label it."""
        return self._breaker.name or ""

    def _record(self, admission: Admission, outcome: Callable[[], None]) -> None:
        try:
            # A call admitted while closed that ends after another caller opened the
            # circuit must not move it: only the trial decides an open circuit.
            if admission.trial_token is None and self.state() is not CircuitState.CLOSED:
                return
            self._breaker.call(outcome)
        except (_Failed, pybreaker.CircuitBreakerError):
            pass
        except RedisError:
            logger.warning("circuit %s: storage unreachable; outcome not recorded", self.name)
        finally:
            if admission.trial_token is not None:
                self._release(admission.trial_token)

    def _release(self, token: str) -> None:
        try:
            self._gate.release(token)
        except RedisError:
            logger.warning("circuit %s: trial lease not released; it will expire", self.name)

    def _remaining(self, opened_at: datetime | None) -> float:
        if opened_at is None:
            return 0.0
        elapsed = (self._clock.now() - opened_at).total_seconds()
        return max(0.0, self._reset_timeout - elapsed)
