"""End to end: flight search through ``flight-app serve`` against a stand-in Duffel.

Two real servers (``primary`` with 2 gunicorn workers, ``secondary`` with 1, each
its own instance folder) run with ``FLIGHT_APP_FLIGHT_PROVIDER=duffel`` pointed at
a scripted stand-in on 127.0.0.1 (``flight_app.flights.testing``), and share one
Redis for the circuit and the fallback cache under a key namespace of this run
(``FLIGHT_APP_FLIGHT_REDIS_NAMESPACE``; deleted key by key afterwards, the shared
Redis is never flushed). Before each test the namespace is emptied, so every test
starts with a closed circuit and an empty cache; per-process metrics are compared
as before/after differences.

The policy is shrunk so the run stays short: 1 s per attempt, 2 retries (the
default), the circuit opening after 3 failed calls for 3 s. Backoff waits are
the policy's own (full jitter in [0, 0.5] then [0, 1.0] s); nothing here sleeps
in their place. The last test stops ``primary`` with SIGTERM while a search is in
flight and then reads its whole system log: no traceback, no 500, no token.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from flight_app.flights.testing import OK, StandIn, Step, errors_body, offers_for

pytestmark = [pytest.mark.e2e, pytest.mark.redis, pytest.mark.timeout(120)]

REDIS_ENV = "AUTHKIT_TEST_REDIS_URL"
TOKEN = "duffel_test_e2e-SECRET-0f1e2d"
PASSWORD = "violet marmalade drifts at noon"
TIMEOUT = 1.0
SLOW = 0.6
"""An answer that takes a while, but less than ``TIMEOUT``."""
RETRIES = 2
ATTEMPTS = RETRIES + 1
FAIL_MAX = 3
RESET = 3
FAST_MS = 100.0
FAIL = Step(status=500, body=errors_body("internal_server_error", "Something broke"))


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass
class App:
    """A running ``flight-app serve`` and what a test needs of it."""

    base_url: str
    process: subprocess.Popen[bytes]
    instance: Path
    output: Path
    token: str = ""

    def search(
        self, destination: str = "JFK", *, days: int = 30, request_id: str | None = None
    ) -> httpx.Response:
        """A one-way LHR search, on a new connection (so either worker may answer)."""
        depart = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
        headers = {"Authorization": f"Bearer {self.token}"}
        if request_id:
            headers["X-Request-ID"] = request_id
        return httpx.get(
            f"{self.base_url}/api/flights/search",
            params={"origin": "LHR", "destination": destination, "depart": depart},
            headers=headers,
            timeout=20,
        )

    def metrics(self) -> Samples:
        """Every sample of ``GET /metrics`` by (name, sorted labels)."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=5).text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def system_log(self) -> list[dict[str, Any]]:
        path = self.instance / "system.jsonl"
        return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]

    def server_ms(self, request_id: str) -> float:
        """``duration_ms`` of the access line of ``request_id``: the time spent serving it.

        Access lines are appended in batches (``access_log_flush_interval``, 1 s by
        default): the line may take that long to reach the file.
        """
        deadline = time.monotonic() + 5
        while True:
            for line in self.system_log():
                if line.get("logger") == "authkit_flask.access" and line["trace_id"] == request_id:
                    return float(line["duration_ms"])
            if time.monotonic() > deadline:
                raise AssertionError(f"no access line for {request_id}")
            time.sleep(0.1)


def metric(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get(REDIS_ENV)
    if not url:
        pytest.skip(f"{REDIS_ENV} is not set: no Redis server to test against")
    return url


@pytest.fixture(scope="module")
def namespace(redis_url: str) -> Iterator[str]:
    namespace = f"flight_app_e2e:{uuid.uuid4().hex}"
    yield namespace
    _delete_namespace(redis_url, namespace)


def _delete_namespace(redis_url: str, namespace: str) -> None:
    client = Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{namespace}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def duffel() -> Iterator[StandIn]:
    with StandIn() as stand_in:
        yield stand_in


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _start(folder: Path, settings: dict[str, str]) -> App:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("FLIGHT_APP_")}
    env.update({"APP_ENV": "test", "FLIGHT_APP_HOST": "127.0.0.1", "FLIGHT_APP_PORT": str(port)})
    env.update({f"FLIGHT_APP_{k.upper()}": v for k, v in settings.items()})
    env["FLIGHT_APP_INSTANCE_PATH"] = str(folder / "instance")
    folder.mkdir(parents=True, exist_ok=True)
    output = folder / "serve.log"
    with output.open("wb") as handle:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("flight-app")), "serve"],
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return App(f"http://127.0.0.1:{port}", process, folder / "instance", output)


def _ready(app: App, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.process.poll() is not None:
            tail = app.output.read_text(errors="replace")[-2000:]
            raise AssertionError(f"serve exited early ({app.process.returncode}):\n{tail}")
        try:
            if httpx.get(f"{app.base_url}/health/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("flight-app serve did not become ready in time")


def _sign_in(app: App, username: str) -> str:
    account = {"username": username, "password": PASSWORD}
    created = httpx.post(
        f"{app.base_url}/auth/register",
        json={**account, "email": f"{username}@example.com"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    signed_in = httpx.post(f"{app.base_url}/auth/login", json=account, timeout=10)
    assert signed_in.status_code == 200, signed_in.text
    token: str = signed_in.json()["access_token"]
    return token


def _stop(app: App) -> None:
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
        try:
            app.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            app.process.kill()
            app.process.wait()


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, namespace: str, duffel: StandIn
) -> Iterator[tuple[App, App]]:
    """``primary`` (2 workers) and ``secondary`` (1), started together, sharing Redis."""
    folder = tmp_path_factory.mktemp("flights-e2e")
    settings = {
        "flight_provider": "duffel",
        "duffel_url": duffel.url,
        "duffel_token": TOKEN,
        "provider_timeout": str(TIMEOUT),
        "provider_retries": str(RETRIES),
        "breaker_fail_max": str(FAIL_MAX),
        "breaker_reset": str(RESET),
        "redis_url": redis_url,
        "flight_redis_namespace": namespace,
        # The live-update fan-out uses the same Redis: a channel of this run only.
        "live_channel": f"{namespace}:audit",
    }
    primary = _start(folder / "primary", {**settings, "workers": "2"})
    secondary = _start(folder / "secondary", {**settings, "workers": "1"})
    try:
        _ready(primary)
        _ready(secondary)
        primary.token = _sign_in(primary, "traveller")
        secondary.token = _sign_in(secondary, "traveller")
        yield primary, secondary
    finally:
        _stop(primary)
        _stop(secondary)


@pytest.fixture
def primary(servers: tuple[App, App]) -> App:
    return servers[0]


@pytest.fixture
def secondary(servers: tuple[App, App]) -> App:
    return servers[1]


@pytest.fixture(autouse=True)
def fresh_circuit(redis_url: str, namespace: str, duffel: StandIn) -> None:
    """A closed circuit and an empty cache for every test; offers unless scripted."""
    _delete_namespace(redis_url, namespace)
    duffel.will(OK)


def expect_unavailable(response: httpx.Response) -> int:
    assert response.status_code == 503, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "provider_unavailable"
    retry_after = body["retry_after"]
    assert isinstance(retry_after, int)
    assert retry_after >= 1
    assert response.headers["Retry-After"] == str(retry_after)
    return retry_after


# --- retries and timeouts ----------------------------------------------------------


def test_a_500_then_an_answer_is_a_200_after_two_attempts(primary: App, duffel: StandIn) -> None:
    before = duffel.calls
    duffel.will(FAIL, OK)
    response = primary.search()
    assert response.status_code == 200, response.text
    meta = response.json()["meta"]
    assert (meta["provider"], meta["source"], meta["stale"]) == ("duffel", "live", False)
    assert len(response.json()["outbound"]) == 2
    assert duffel.calls == before + 2
    sent = duffel.seen[-1]
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["duffel-version"] == "v2"
    assert sent.path == "/air/offer_requests?return_offers=true"


def test_a_422_from_duffel_is_not_retried(primary: App, duffel: StandIn) -> None:
    """The same request would get the same answer: one call, then 503 (nothing stored)."""
    before = duffel.calls
    duffel.will(Step(status=422, body=errors_body("invalid_airport", "Unknown airport")))
    expect_unavailable(primary.search("CDG"))
    assert duffel.calls == before + 1


def test_a_hang_is_cut_by_the_timeout(primary: App, duffel: StandIn) -> None:
    """Every attempt gives up after ``FLIGHT_APP_PROVIDER_TIMEOUT``; the answer is a 503."""
    before = duffel.calls
    duffel.will(Step(hang=True))
    started = time.monotonic()
    expect_unavailable(primary.search("ORD"))
    elapsed = time.monotonic() - started
    assert duffel.calls == before + ATTEMPTS
    # Three timed-out attempts, at most 0.5 + 1.0 s of backoff, some slack for the host.
    assert ATTEMPTS * TIMEOUT <= elapsed < ATTEMPTS * TIMEOUT + 1.5 + 1.5


def test_a_429_is_retried_after_its_retry_after(primary: App, duffel: StandIn) -> None:
    before = duffel.calls
    duffel.will(
        Step(
            status=429,
            body=errors_body("rate_limit_exceeded", "Slow down"),
            headers={"Retry-After": "1"},
        ),
        OK,
    )
    response = primary.search("BOS")
    assert response.status_code == 200, response.text
    first, second = duffel.arrivals(before)
    assert 0.95 <= second - first < 1.75, "waited the second it was asked to, not a backoff draw"


def test_retry_gaps_are_jittered_not_fixed(primary: App, duffel: StandIn) -> None:
    """Full jitter: retry n waits a uniform draw from [0, 0.5 * 2**(n-1)] s.

    Three searches, each two 500s then offers: six gaps as seen by the upstream.
    Scaled by their windows they must spread out; fixed exponential backoff would
    put every one of them at 1.0. (The chance that six honest draws fall within a
    tenth of each other is about 6e-5.)
    """
    before = duffel.calls
    duffel.will(*[FAIL, FAIL, OK] * 3)
    for destination in ("JFK", "BOS", "ORD"):
        assert primary.search(destination).status_code == 200
    arrivals = duffel.arrivals(before)
    assert len(arrivals) == 9
    scaled = []
    for call in range(3):
        a, b, c = arrivals[3 * call : 3 * call + 3]
        scaled += [(b - a) / 0.5, (c - b) / 1.0]
    assert all(0 <= gap <= 1.1 for gap in scaled), scaled
    assert max(scaled) - min(scaled) > 0.1, scaled


# --- the circuit, shared through Redis ------------------------------------------------


def test_an_open_circuit_spares_the_upstream_answers_fast_and_closes_after_a_trial(
    primary: App, secondary: App, duffel: StandIn
) -> None:
    """The breaker end to end, across two servers sharing one Redis.

    ``FAIL_MAX`` failed searches open it; while open, neither server calls Duffel
    and both answer within ``FAST_MS`` of server time, from the shared cache
    (``stale``) or with 503. After ``RESET`` seconds exactly one trial goes
    through; while it runs the circuit is half-open and other callers are still
    refused; its success closes the circuit for everyone.
    """
    assert primary.search("JFK").status_code == 200  # stored for the fallback
    duffel.will(FAIL)
    for _ in range(FAIL_MAX):
        stale = primary.search("JFK")
        assert stale.status_code == 200
        assert (stale.json()["meta"]["source"], stale.json()["meta"]["stale"]) == ("cache", True)
    opened = time.monotonic()
    calls = duffel.calls

    ids = {name: f"open-{name}-{uuid.uuid4().hex[:8]}" for name in ("a1", "a2", "b1", "b2")}
    cached = primary.search("JFK", request_id=ids["a1"])
    assert cached.status_code == 200
    assert cached.json()["meta"]["stale"] is True
    retry_after = expect_unavailable(primary.search("LAX", request_id=ids["a2"]))
    assert retry_after <= RESET
    shared = secondary.search("JFK", request_id=ids["b1"])  # opened by the other server
    assert (shared.status_code, shared.json()["meta"]["source"]) == (200, "cache")
    expect_unavailable(secondary.search("LAX", request_id=ids["b2"]))
    assert metric(primary.metrics(), "flight_provider_circuit_state") == 2
    assert duffel.calls == calls, "not one request reaches Duffel while the circuit is open"
    served = {
        "a1": primary.server_ms(ids["a1"]),
        "a2": primary.server_ms(ids["a2"]),
        "b1": secondary.server_ms(ids["b1"]),
        "b2": secondary.server_ms(ids["b2"]),
    }
    assert all(ms < FAST_MS for ms in served.values()), served
    assert time.monotonic() - opened < RESET - 1, "the checks ran while it was surely open"

    # Redis keeps the opening second, so the trial may come up to 1 s early: wait it out.
    time.sleep(max(0.0, opened + RESET + 0.2 - time.monotonic()))
    duffel.will(Step(respond=offers_for, delay=SLOW))
    trial: dict[str, httpx.Response] = {}
    runner = threading.Thread(target=lambda: trial.update(response=primary.search("LAX")))
    runner.start()
    assert duffel.wait_for_calls(calls + 1, timeout=5), "the trial reached Duffel"
    busy = secondary.search("SFO")  # while the trial runs: half-open, and still refused
    assert expect_unavailable(busy) == 1
    assert metric(secondary.metrics(), "flight_provider_circuit_state") == 1
    runner.join(10)
    assert trial["response"].status_code == 200, trial["response"].text
    assert trial["response"].json()["meta"]["source"] == "live"
    assert duffel.calls == calls + 1, "exactly one trial"

    duffel.will(OK)
    closed = secondary.search("SFO")
    assert (closed.status_code, closed.json()["meta"]["source"]) == (200, "live")
    assert duffel.calls == calls + 2
    assert metric(secondary.metrics(), "flight_provider_circuit_state") == 0


# --- metrics --------------------------------------------------------------------------


def per_worker(app: App, name: str, **labels: str) -> dict[str, float]:
    """One counter sample as each worker's own multiprocess file holds it, by pid."""
    values: dict[str, float] = {}
    for path in sorted((app.instance / "prometheus").glob("counter_*.db")):
        pid = path.stem.rsplit("_", 1)[-1]
        entries = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        for key, value, *_ in entries:
            _metric, sample, sample_labels, _help = json.loads(key)
            if sample == name and sample_labels == labels:
                values[pid] = value
    return values


def test_metrics_count_every_workers_calls(primary: App, duffel: StandIn) -> None:
    """Each scrape, whichever of the two workers answers, counts the calls of both.

    Searches go on (new connections, spread by the kernel) until each worker's own
    file shows successes of this test, so the sums below are sums over two workers.
    """
    success = {"outcome": "success"}
    before = primary.metrics()
    before_workers = per_worker(primary, "flight_provider_requests_total", **success)
    duffel.will(FAIL, OK)
    searches = 0
    while True:
        assert primary.search().status_code == 200
        searches += 1
        after_workers = per_worker(primary, "flight_provider_requests_total", **success)
        served = {p: v - before_workers.get(p, 0.0) for p, v in after_workers.items()}
        if len([p for p, v in served.items() if v > 0]) == 2:
            break
        assert searches < 40, f"one worker answered every search: {served}"
    assert sum(served.values()) == searches
    duffel.will(Step(status=422, body=errors_body("invalid_airport", "Refused")))
    expect_unavailable(primary.search("SFO"))  # refused: an error, nothing stored
    assert primary.search().json()["meta"]["stale"] is True  # refused, served from the cache

    for _ in range(4):
        after = primary.metrics()

        def delta(name: str, **labels: str) -> float:
            return metric(after, name, **labels) - metric(before, name, **labels)  # noqa: B023

        assert delta("flight_provider_requests_total", **success) == searches
        assert delta("flight_provider_requests_total", outcome="error") == 2
        assert delta("flight_provider_retries_total") == 1
        assert delta("flight_provider_fallbacks_total", result="unavailable") == 1
        assert delta("flight_provider_fallbacks_total", result="cache") == 1
        attempts = searches + 1 + 2  # the retried first search, and the two refusals
        assert delta("flight_provider_latency_seconds_count") == attempts
        assert metric(after, "flight_provider_circuit_state") == 0


# --- graceful shutdown (runs last: it stops the primary server) -----------------------


def test_sigterm_lets_a_search_in_flight_finish_and_exits_cleanly(
    primary: App, duffel: StandIn
) -> None:
    """The issue's acceptance: the in-flight search answers 200, the server exits 0,
    each worker closes what it opened and says so, and over the whole run nothing a
    provider did became a traceback, a 500 or a leaked token in the system log."""
    duffel.will(Step(respond=offers_for, delay=SLOW))
    calls = duffel.calls
    answer: dict[str, httpx.Response] = {}
    runner = threading.Thread(target=lambda: answer.update(response=primary.search("MIA")))
    runner.start()
    assert duffel.wait_for_calls(calls + 1, timeout=5), "the search is at Duffel"
    primary.process.send_signal(signal.SIGTERM)
    runner.join(15)
    assert answer["response"].status_code == 200, answer["response"].text
    assert answer["response"].json()["meta"]["source"] == "live"
    assert primary.process.wait(timeout=25) == 0

    lines = primary.system_log()
    stopped = [line for line in lines if line["message"] == "worker stopped"]
    assert len(stopped) == 2, "one line per worker"
    assert all(line["level"] == "INFO" and line["close_failed"] == [] for line in stopped)
    assert len({line["pid"] for line in stopped}) == 2
    assert not [line for line in lines if "exc_info" in line]
    assert not [line for line in lines if line["level"] in ("ERROR", "CRITICAL")]
    assert not [line for line in lines if line.get("status") == 500]
    assert TOKEN not in (primary.instance / "system.jsonl").read_text("utf-8")
    assert "Traceback" not in primary.output.read_text(errors="replace")
