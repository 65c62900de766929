"""Proof under faults: the scaled-out shape (PostgreSQL, Redis, 2 serves x 2 workers).

The suite starts its own servers and breaks only those: a ``redis-server`` and a
PostgreSQL cluster made with ``initdb`` (the Debian server binaries), both on
free loopback ports in temporary folders. The shared servers other tests use are
never touched. Two ``flight-app serve`` processes (``APP_ENV=prod``, two workers
each) share the instance folder (key ring, audit log), the database and Redis,
and trust one proxy hop so a test chooses its client address with
``X-Forwarded-For``.

It shows, fault by fault:

- Redis hung then stopped: sign-ins answer 503 ``service_unavailable`` within a
  bounded time (the throttle fails closed), readiness answers 503 naming
  ``redis`` and ``ratelimit``, bearer requests keep working, and everything
  recovers when Redis returns, without a restart;
- PostgreSQL stopped and started under load: every answer in the window is a
  success or a 503 problem (never a 500, never a traceback), readiness flips and
  recovers, the pool reconnects, and no refresh family is left half-rotated;
- a worker SIGKILLed during refreshes: every retry gets a definite answer and no
  token is consumed without its successor;
- 60 s of mixed load over the four workers: zero 5xx, and the pair budget of the
  throttle exact across both processes.

After each, the audit log is checked: every acknowledged action (200 sign-in or
refresh, 204 logout, 201 registration) has its event (matched by the request id,
which is the trace id of the event), and every line parses as JSON.

Figures (throughput, counts) are printed; run with ``-s`` to see them.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pyotp
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.postgres, pytest.mark.redis]

PASSWORD = "violet marmalade drifts at noon"
ADMIN_PASSWORD = "harbour lanterns glow at seven"
LOAD_SECONDS = 60.0
REQUEST_TIMEOUT = 15.0
"""No request may take longer: a hang fails the test instead of stalling it."""
WORKERS_PER_SERVE = 2


# -- private servers ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _binary(name: str, *candidates: str) -> str:
    found = shutil.which(name) or next((c for c in candidates if Path(c).exists()), None)
    if found is None:
        message = f"{name} is not installed (Debian: redis-server, postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def _all_listening(master: int, port: int) -> bool:
    return len(_listening_workers(master, port)) == WORKERS_PER_SERVE


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not found:
        _binary("initdb")  # fails in CI, skips elsewhere
    return found[-1].parent if found else Path(_binary("initdb")).parent


def _wait(predicate: Callable[[], bool], *, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {within} s")


class PrivateRedis:
    """A ``redis-server`` of this suite's own on a free port, no persistence."""

    def __init__(self, folder: Path) -> None:
        self.binary = _binary("redis-server", "/usr/bin/redis-server")
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = (self.folder / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self.folder),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        _wait(self._answers, within=10, what="redis-server start")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def freeze(self) -> None:
        """SIGSTOP: the port still accepts connections, nothing answers (a hung server)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGCONT)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PrivatePostgres:
    """A PostgreSQL cluster made with ``initdb`` in a temporary folder, trust auth.

    PostgreSQL refuses to run as root: when the suite runs as root the folder is
    given to the ``postgres`` user and the server binaries run as that user.
    """

    def __init__(self) -> None:
        self.bin = _postgres_bin()
        # Not under pytest's tmp_path: its parents are private to root (0700).
        self.folder = Path(tempfile.mkdtemp(prefix="authkit-faults-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"]

    def url(self, database: str = "postgres", driver: str = "") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=100"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "pg.log"),
            "-o", options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def remove(self) -> None:
        if self.running():
            with contextlib.suppress(subprocess.CalledProcessError):
                self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


# -- the app ------------------------------------------------------------------------------


@dataclass
class Cluster:
    """Two ``flight-app serve`` processes on one database, one Redis, one instance folder."""

    servers: list[Any]
    redis: PrivateRedis
    postgres: PrivatePostgres
    database_url: str
    instance: Path
    admin_token: str = ""

    @property
    def base_urls(self) -> list[str]:
        return [s.base_url for s in self.servers]

    def audit_path(self) -> Path:
        return self.instance / "auth.jsonl"


@pytest.fixture(scope="module")
def cluster(
    start_shared_server: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    redis_folder = tmp_path_factory.mktemp("faults-redis")
    instance = tmp_path_factory.mktemp("faults-instance")
    redis = PrivateRedis(redis_folder)
    postgres = PrivatePostgres()
    servers: list[Any] = []
    try:
        redis.start()
        postgres.init()
        postgres.start()
        postgres.create_database("flight")
        settings = {
            "database_url": postgres.url("flight", driver="psycopg"),
            "ratelimit_storage_url": redis.url,
            "redis_url": redis.url,
            "workers": str(WORKERS_PER_SERVE),
            "threads": "4",
            "trusted_proxies": "1",
            "secret_key": "faults-secret-key-0123456789abcdef0123456789",
            "pseudonym_key": "faults-pseudonym-key-0123456789abcdef012345",
            "mfa_encryption_key": "faults-mfa-encryption-key-0123456789abcdef",
            "metrics_token": "faults-metrics-token-0123456789",
            "admin_password": ADMIN_PASSWORD,
        }
        for _ in range(2):
            servers.append(start_shared_server(instance=instance, app_env="prod", **settings))
        built = Cluster(
            servers=servers,
            redis=redis,
            postgres=postgres,
            database_url=postgres.url("flight"),
            instance=instance,
        )
        built.admin_token = _enrol_admin(built)
        yield built
    finally:
        for server in servers:  # before their database and Redis go away
            server.stop()
        redis.stop()
        postgres.remove()


def _enrol_admin(cluster: Cluster) -> str:
    """prod requires MFA of admins: enrol TOTP, then sign in with a recovery code."""
    base = cluster.base_urls[0]
    headers = {"X-Forwarded-For": "192.0.2.250"}
    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT, headers=headers) as client:
        creds = {"username": "admin", "password": ADMIN_PASSWORD}
        first = client.post("/auth/login", json=creds)
        assert first.status_code == 200, first.text
        bearer = {"Authorization": f"Bearer {first.json()['access_token']}"}
        setup = client.post(
            "/auth/mfa/totp/setup", json={"password": ADMIN_PASSWORD}, headers=bearer
        )
        assert setup.status_code == 200, setup.text
        otp = pyotp.TOTP(setup.json()["secret"]).now()
        enabled = client.post("/auth/mfa/totp/enable", json={"otp": otp}, headers=bearer)
        assert enabled.status_code == 200, enabled.text
        code = enabled.json()["recovery_codes"][0]
        signed_in = client.post("/auth/login", json={**creds, "recovery_code": code})
        assert signed_in.status_code == 200, signed_in.text
        token: str = signed_in.json()["access_token"]
        listing = client.get("/auth/users", headers={"Authorization": f"Bearer {token}"})
        assert listing.status_code == 200, listing.text
        return token


# -- clients, answers and the audit trail ---------------------------------------------------


@dataclass(frozen=True)
class Answer:
    op: str
    status: int  # 0: no HTTP answer (connection lost)
    code: str | None
    content_type: str
    trace: str
    seconds: float
    body: str = ""


_EVENT_OF = {
    ("login", 200): ("login", "success"),
    ("refresh", 200): ("token.refresh", "success"),
    ("logout", 204): ("logout", "success"),
    ("register", 201): ("register", "success"),
}


@dataclass
class Recorder:
    """Every answer of a phase, thread-safe; what was acknowledged, for the audit check."""

    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def acknowledged(self) -> list[tuple[str, str, str]]:
        with self.lock:
            return [
                (a.trace, *_EVENT_OF[(a.op, a.status)])
                for a in self.answers
                if (a.op, a.status) in _EVENT_OF
            ]

    def statuses(self) -> Counter[tuple[str, int]]:
        with self.lock:
            return Counter((a.op, a.status) for a in self.answers)

    def server_errors(self) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.status >= 500 and not _is_unavailable(a)]


def _is_unavailable(answer: Answer) -> bool:
    """A 503 problem with code service_unavailable: the one acceptable 5xx under a fault."""
    return (
        answer.status == 503
        and answer.content_type.startswith("application/problem+json")
        and answer.code == "service_unavailable"
        and "Traceback" not in answer.body
    )


def call(
    client: httpx.Client,
    recorder: Recorder | None,
    op: str,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[Answer, httpx.Response | None]:
    """One request with a fresh request id (the audit event's trace id); never raises
    on a lost connection (status 0), and any answer slower than the bound fails."""
    trace = uuid.uuid4().hex
    headers = {**kwargs.pop("headers", {}), "X-Request-ID": trace}
    started = time.monotonic()
    response: httpx.Response | None
    try:
        response = client.request(method, path, headers=headers, **kwargs)
    except httpx.TimeoutException as exc:
        raise AssertionError(f"{op} {path} hung for more than {REQUEST_TIMEOUT} s") from exc
    except httpx.TransportError:
        response = None
    seconds = time.monotonic() - started
    if response is None:
        answer = Answer(op, 0, None, "", trace, seconds)
    else:
        content_type = response.headers.get("Content-Type", "")
        code = None
        if content_type.startswith("application/problem+json"):
            code = response.json().get("code")
        body = response.text if response.status_code >= 500 else ""
        answer = Answer(op, response.status_code, code, content_type, trace, seconds, body)
    if recorder is not None:
        recorder.add(answer)
    return answer, response


@dataclass
class User:
    """One account and its current session, used by one thread at a time."""

    username: str
    address: str
    access: str = ""
    refresh: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.address}

    @property
    def bearer(self) -> dict[str, str]:
        return {**self.headers, "Authorization": f"Bearer {self.access}"}

    def login(self, client: httpx.Client, recorder: Recorder | None) -> Answer:
        answer, response = call(
            client, recorder, "login", "POST", "/auth/login",
            json={"username": self.username, "password": PASSWORD}, headers=self.headers,
        )  # fmt: skip
        if answer.status == 200 and response is not None:
            self.access = response.json()["access_token"]
            self.refresh = response.json()["refresh_token"]
        return answer

    def rotate(self, client: httpx.Client, recorder: Recorder | None) -> Answer:
        answer, response = call(
            client, recorder, "refresh", "POST", "/auth/refresh",
            json={"refresh_token": self.refresh}, headers=self.headers,
        )  # fmt: skip
        if answer.status == 200 and response is not None:
            self.access = response.json()["access_token"]
            self.refresh = response.json()["refresh_token"]
        return answer

    def me(self, client: httpx.Client, recorder: Recorder | None) -> Answer:
        return call(client, recorder, "me", "GET", "/auth/me", headers=self.bearer)[0]


_addresses = itertools.count(1)


def new_users(cluster: Cluster, count: int, recorder: Recorder) -> list[User]:
    """Register and sign in ``count`` users, each from an address of its own."""
    users = []
    for index in range(count):
        n = next(_addresses)
        user = User(f"fault-{uuid.uuid4().hex[:10]}", f"10.{n // 250}.{n % 250}.{index % 250 + 1}")
        base = cluster.base_urls[index % 2]
        with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client:
            answer, _ = call(
                client, recorder, "register", "POST", "/auth/register",
                json={"username": user.username, "email": f"{user.username}@example.com",
                      "password": PASSWORD},
                headers=user.headers,
            )  # fmt: skip
            assert answer.status == 201, answer
            assert user.login(client, recorder).status == 200
        users.append(user)
    return users


def audit_lines(cluster: Cluster) -> list[str]:
    """Every line of the audit log and its rotated archives."""
    lines: list[str] = []
    for path in sorted(cluster.instance.glob("auth*.jsonl*")):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        lines.extend(data.decode("utf-8").splitlines())
    return lines


def check_audit(cluster: Cluster, recorder: Recorder) -> int:
    """Every acknowledged action has its event; no line is torn. Returns the line count."""
    lines = audit_lines(cluster)
    events: set[tuple[str, str, str]] = set()
    for number, line in enumerate(lines, 1):
        try:
            event = json.loads(line)
        except ValueError:
            raise AssertionError(f"audit line {number} is torn: {line[:120]!r}") from None
        assert isinstance(event, dict), line
        events.add((str(event.get("trace_id")), str(event["event"]), str(event["outcome"])))
    missing = [ack for ack in recorder.acknowledged() if ack not in events]
    assert missing == [], f"{len(missing)} acknowledged actions without their audit event"
    # And no request reached the catch-all 500 handler (it logs "unhandled error").
    system = (cluster.instance / "system.jsonl").read_text(encoding="utf-8", errors="replace")
    assert "unhandled error" not in system
    return len(lines)


def half_rotated(cluster: Cluster, token_hashes: list[str] | None = None) -> list[Any]:
    """Refresh tokens consumed without a stored successor (none may exist)."""
    query = """
        SELECT t.jti FROM authkit_refresh_tokens t
        LEFT JOIN authkit_refresh_tokens s ON s.jti = t.replaced_by
        WHERE t.used_at IS NOT NULL AND (t.replaced_by IS NULL OR s.jti IS NULL)
    """
    with psycopg.connect(cluster.database_url, connect_timeout=5) as conn:
        rows = conn.execute(query).fetchall()
        if token_hashes:
            known = conn.execute(
                "SELECT count(*) FROM authkit_refresh_tokens WHERE token_hash = ANY(%s)",
                (token_hashes,),
            ).fetchone()
            assert known is not None
            assert known[0] == len(set(token_hashes))
    return list(rows)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def readiness(base: str) -> tuple[int, dict[str, str]]:
    response = httpx.get(f"{base}/health/ready", timeout=REQUEST_TIMEOUT)
    body = response.json()
    return response.status_code, dict(body.get("checks", {}))


def all_ready(cluster: Cluster, *, rounds: int = 6) -> bool:
    """Readiness 200 on every server, ``rounds`` times each (so likely on every worker)."""
    return all(readiness(base)[0] == 200 for base in cluster.base_urls for _ in range(rounds))


def wait_healthy(cluster: Cluster, within: float = 30) -> None:
    _wait(lambda: all_ready(cluster), within=within, what="readiness on every server")


@contextlib.contextmanager
def background(
    worker: Callable[[threading.Event, int], None], threads: int
) -> Iterator[threading.Event]:
    """Run ``worker(stop, index)`` on ``threads`` threads until the block ends."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            worker(stop, index)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    pool = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(threads)]
    for thread in pool:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in pool:
            thread.join(timeout=REQUEST_TIMEOUT * 2)
    assert not any(thread.is_alive() for thread in pool), "a load thread hung"
    if errors:
        raise errors[0]


def clients(cluster: Cluster) -> list[httpx.Client]:
    return [httpx.Client(base_url=b, timeout=REQUEST_TIMEOUT) for b in cluster.base_urls]


# -- the faults ---------------------------------------------------------------------------------


def test_redis_hangs_then_stops_then_returns(cluster: Cluster) -> None:
    wait_healthy(cluster)
    recorder = Recorder()
    users = new_users(cluster, 4, recorder)
    bearer_load = Recorder()

    def bearer_requests(stop: threading.Event, index: int) -> None:
        """Requests that need no Redis: /auth/me and the admin listing, both servers."""
        user = users[index]
        admin = {"Authorization": f"Bearer {cluster.admin_token}", **user.headers}
        with contextlib.ExitStack() as stack:
            pair = [stack.enter_context(c) for c in clients(cluster)]
            for client in itertools.cycle(pair):
                if stop.is_set():
                    return
                user.me(client, bearer_load)
                call(client, bearer_load, "admin", "GET", "/auth/users?page_size=5", headers=admin)

    signer = users[0]
    with background(bearer_requests, threads=2), contextlib.ExitStack() as stack:
        pair = [stack.enter_context(c) for c in clients(cluster)]
        time.sleep(0.5)

        # A hung Redis: sign-ins still answer, within the client timeouts, with 503.
        cluster.redis.freeze()
        try:
            for client in pair:
                answer = signer.login(client, recorder)
                assert _is_unavailable(answer), answer
                assert answer.seconds < 8, answer
            status, checks = readiness(cluster.base_urls[0])
            assert status == 503
            assert checks["redis"] != "ok", checks
            assert checks["ratelimit"] != "ok", checks
        finally:
            cluster.redis.thaw()

        # A stopped Redis: the same, at once.
        cluster.redis.stop()
        for client in pair * 2:
            answer = signer.login(client, recorder)
            assert _is_unavailable(answer), answer
            assert answer.seconds < 5, answer
        for base in cluster.base_urls:
            status, checks = readiness(base)
            assert status == 503
            assert checks == {"database": "ok", "ratelimit": "unavailable", "redis": "unavailable"}
        # Refreshing and signing out need no Redis either.
        assert signer.rotate(pair[1], recorder).status == 200
        assert signer.me(pair[0], recorder).status == 200
        leaving = users[3]
        answer, _ = call(
            pair[0], recorder, "logout", "POST", "/auth/logout",
            json={"refresh_token": leaving.refresh}, headers=leaving.headers,
        )  # fmt: skip
        assert answer.status == 204, answer

        # Redis returns on the same port: no restart of the app.
        cluster.redis.start()
        _wait(
            lambda: all(signer.login(c, recorder).status == 200 for c in pair),
            within=15,
            what="sign-in after Redis returned",
        )
        wait_healthy(cluster, within=15)
    assert bearer_load.server_errors() == []
    assert {status for _, status in bearer_load.statuses()} == {200}, bearer_load.statuses()
    assert len(bearer_load.answers) > 10
    lines = check_audit(cluster, recorder)
    print(
        f"\n[faults] redis: {len(bearer_load.answers)} bearer requests all 200 across the "
        f"outage; sign-ins {dict(recorder.statuses())}; audit lines {lines}"
    )


def test_postgres_restarts_under_load(cluster: Cluster) -> None:
    wait_healthy(cluster)
    recorder = Recorder()
    users = new_users(cluster, 6, recorder)

    def traffic(stop: threading.Event, index: int) -> None:
        """Sign-in, refresh and /auth/me in turn; after a 503 or a lost answer the
        refresh is retried with the same token, and a 401 means: sign in again."""
        user = users[index]
        with contextlib.ExitStack() as stack:
            pair = [stack.enter_context(c) for c in clients(cluster)]
            for step in itertools.count():
                if stop.is_set():
                    return
                client = pair[step % 2]
                if not user.refresh or step % 7 == 0:
                    user.login(client, recorder)
                    continue
                answer = user.rotate(client, recorder)
                if answer.status == 401:
                    assert answer.code in {"token_reused", "invalid_token"}, answer
                    user.refresh = ""
                elif answer.status == 200:
                    user.me(client, recorder)
                else:
                    time.sleep(0.05)

    with background(traffic, threads=len(users)):
        time.sleep(1.5)
        cluster.postgres.stop("fast")
        try:
            time.sleep(1.0)
            for base in cluster.base_urls:
                status, checks = readiness(base)
                assert status == 503
                assert checks["database"] != "ok", checks
        finally:
            cluster.postgres.start()
        wait_healthy(cluster, within=30)
        time.sleep(1.5)  # traffic runs on the recovered pool

    assert recorder.server_errors() == [], recorder.server_errors()[:3]
    statuses = recorder.statuses()
    unavailable = sum(n for (_, status), n in statuses.items() if status == 503)
    assert unavailable > 0, "no request fell in the outage window"
    # The pool recovered on every worker: a burst of fresh requests all succeed.
    with contextlib.ExitStack() as stack:
        pair = [stack.enter_context(c) for c in clients(cluster)]
        user = users[0]
        assert user.login(pair[0], recorder).status == 200
        for client in pair * 8:
            assert user.me(client, recorder).status == 200
    assert half_rotated(cluster) == []
    lines = check_audit(cluster, recorder)
    print(f"\n[faults] postgres restart: {dict(statuses)}; audit lines {lines}")


def _worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def _listening_workers(master: int, port: int) -> list[int]:
    """The workers of ``master`` that hold a listening socket on ``port`` (booted ones:
    a worker binds its reuse-port socket once its app is loaded)."""
    listening: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    listening.add(f"socket:[{fields[9]}]")
    found = []
    for pid in _worker_pids(master):
        with contextlib.suppress(OSError):
            fds = Path(f"/proc/{pid}/fd").iterdir()
            if any(os.readlink(fd) in listening for fd in fds):
                found.append(pid)
    return found


def test_worker_killed_during_refreshes(cluster: Cluster) -> None:
    wait_healthy(cluster)
    recorder = Recorder()
    users = new_users(cluster, 6, recorder)
    lost: list[str] = []  # refresh tokens whose refresh got no answer
    retries: Counter[tuple[int, str | None]] = Counter()
    lock = threading.Lock()

    def sign_in_again(user: User, step: int) -> None:
        for attempt in range(20):
            base = cluster.base_urls[(step + attempt) % 2]
            with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as fresh:
                if user.login(fresh, recorder).status == 200:
                    return
            time.sleep(0.25)
        raise AssertionError("no server took a sign-in for 5 s")

    def refresher(stop: threading.Event, index: int) -> None:
        user = users[index]
        with contextlib.ExitStack() as stack:
            pair = [stack.enter_context(c) for c in clients(cluster)]
            for step in itertools.count():
                if stop.is_set():
                    return
                presented = user.refresh
                answer = user.rotate(pair[step % 2], recorder)
                if answer.status != 0:
                    assert answer.status in {200, 401}, answer
                    if answer.status == 401:
                        sign_in_again(user, step)
                    continue
                # No answer: the worker died. The retry, with the same token, on a
                # fresh connection, gets a definite answer (from the other server
                # when both workers of this one are down at that moment).
                with lock:
                    lost.append(presented)
                retry = answer
                for attempt in range(20):
                    base = cluster.base_urls[(step + attempt + 1) % 2]
                    with httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as fresh:
                        retry = user.rotate(fresh, recorder)
                    if retry.status == 401:
                        sign_in_again(user, step)
                    if retry.status != 0:
                        break
                    time.sleep(0.25)
                with lock:
                    retries[(retry.status, retry.code)] += 1
                assert retry.status == 200 or (
                    retry.status == 401 and retry.code in {"token_reused", "invalid_token"}
                ), retry

    masters = [(s.process.pid, int(s.base_url.rsplit(":", 1)[1])) for s in cluster.servers]
    killed = 0
    with background(refresher, threads=len(users)):
        time.sleep(1.0)
        for master, port in masters:
            # One worker of a server at a time, once both serve: the other keeps
            # answering (killing both at once would be a whole server going down).
            _wait(partial(_all_listening, master, port), within=60, what="both workers listening")
            time.sleep(0.5)
            os.kill(random.choice(_listening_workers(master, port)), signal.SIGKILL)
            killed += 1
        # Refreshes go on while gunicorn replaces the dead workers.
        for master, port in masters:
            _wait(partial(_all_listening, master, port), within=60, what="worker respawn")
        time.sleep(0.5)
    wait_healthy(cluster, within=30)
    assert recorder.server_errors() == []
    assert recorder.statuses()[("refresh", 200)] > 20  # the refreshes really ran
    assert half_rotated(cluster, [token_hash(t) for t in lost]) == []
    lines = check_audit(cluster, recorder)
    print(
        f"\n[faults] SIGKILL: {killed} workers killed; {dict(recorder.statuses())}; "
        f"{len(lost)} refreshes lost their answer, retries {dict(retries)}; audit lines {lines}"
    )


def test_sustained_mixed_load_and_exact_limits(cluster: Cluster) -> None:
    wait_healthy(cluster)
    recorder = Recorder()
    users = new_users(cluster, 8, recorder)
    admin = {"Authorization": f"Bearer {cluster.admin_token}"}

    def mixed(stop: threading.Event, index: int) -> None:
        user = users[index]
        rng = random.Random(index)
        with contextlib.ExitStack() as stack:
            pair = [stack.enter_context(c) for c in clients(cluster)]
            while not stop.is_set():
                client = rng.choice(pair)
                roll = rng.random()
                if roll < 0.15:
                    assert user.login(client, recorder).status == 200
                elif roll < 0.45:
                    assert user.rotate(client, recorder).status == 200
                elif roll < 0.80:
                    assert user.me(client, recorder).status == 200
                else:
                    answer, _ = call(
                        client, recorder, "admin", "GET", "/auth/users?page_size=20",
                        headers={**admin, **user.headers},
                    )  # fmt: skip
                    assert answer.status == 200, answer

    started = time.monotonic()
    with background(mixed, threads=len(users)) as stop:
        stop.wait(LOAD_SECONDS)
    elapsed = time.monotonic() - started
    statuses = recorder.statuses()
    total = sum(statuses.values())
    assert recorder.server_errors() == []
    assert all(status < 500 for _, status in statuses)

    # Exact across processes: one (address, username) pair hammered with wrong
    # passwords on both servers at once gets exactly the pair budget (5) of 401s.
    target = users[0].username
    hammer = Recorder()
    attempts = iter(range(40))

    def guess(stop: threading.Event, index: int) -> None:
        with contextlib.ExitStack() as stack:
            pair = [stack.enter_context(c) for c in clients(cluster)]
            for n in attempts:
                call(
                    pair[n % 2], hammer, "guess", "POST", "/auth/login",
                    json={"username": target, "password": f"wrong guess {n}"},
                    headers={"X-Forwarded-For": "198.51.100.77"},
                )  # fmt: skip

    with background(guess, threads=8):
        pass
    guesses = hammer.statuses()
    assert guesses == Counter({("guess", 401): 5, ("guess", 429): 35}), guesses

    assert half_rotated(cluster) == []
    lines = check_audit(cluster, recorder)
    print(
        f"\n[faults] mixed load: {total} requests in {elapsed:.1f} s over "
        f"{len(cluster.servers) * WORKERS_PER_SERVE} workers = {total / elapsed:.1f} req/s; "
        f"{dict(statuses)}; throttle across processes {dict(guesses)}; audit lines {lines}"
    )
