"""Benchmark: a sign-in's server time without argon2, and a throttled sign-in (429).

The reference app on production settings (``benchmarks/_reference.py``:
``APP_ENV=prod``, RS256-3072 access tokens, argon2id m=19456 KiB t=2 p=1,
``memory://`` limits), driven through its WSGI callable as a server's worker
calls it, on SQLite (a file in a temporary folder) and, when a server is given,
on PostgreSQL (a throwaway database). For each backend:

- **sign-in without argon2** (target <= 3 ms): each ``POST /auth/login`` is
  timed whole, and the app's argon2 verification is timed *inside* that same
  request (the hasher's ``verify`` wrapped with a timer); the request's time
  minus its own argon2 time is one sample. The median is the figure: a
  difference per request, not a difference of two medians (which wanders by
  more than the rest on a busy machine). Beside it, the same sign-in with the
  verification stubbed out (answering at once): the rest alone with warm CPU
  caches, where a real argon2 pass has just swept 19 MiB through them;
- **throttled sign-in (429)** (target <= 2 ms): a second app on the same
  database with the default budgets; the pair's budget spent, every further
  attempt is answered 429 before any password work;
- for context: the whole sign-in, argon2 verification alone (same hash), the
  failed sign-ins of a wrong password and of an unknown user (both cost one
  argon2 verification, so their times match: no enumeration by timing), a
  refresh and ``GET /auth/me``.

Usage::

    uv run python benchmarks/bench_signin.py [--requests 200] [--postgres-url URL]

PostgreSQL is measured when ``--postgres-url`` or ``AUTHKIT_TEST_POSTGRES_URL``
names a server (a database ``authkit_bench_*`` is created and dropped there);
``--backends sqlite`` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from _reference import PASSWORD, ReferenceApp, WsgiApp, build, call, environ

from authkit.storage.testing import temporary_postgres_database


def _body(payload: dict[str, str]) -> bytes:
    return json.dumps(payload).encode()


def _post(wsgi: WsgiApp, path: str, body: bytes, *, expect: str) -> bytes:
    status, raw = call(wsgi, environ("POST", path, body=body))
    assert status.startswith(expect), (path, status, raw[:200])
    return raw


def _timed(count: int, run: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return samples


def _row(name: str, samples: list[float], target: float | None = None) -> None:
    p50 = statistics.median(samples) * 1000
    p95 = statistics.quantiles(samples, n=20)[-1] * 1000
    verdict = "" if target is None else ("  met" if p50 <= target else "  NOT met")
    goal = "" if target is None else f"  (target <= {target:g} ms){verdict}"
    print(f"  {name:<34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms{goal}")


@contextmanager
def _argon2_timer(ref: ReferenceApp) -> Iterator[list[float]]:
    """Time every argon2 verification the app runs; yields the list the times go to."""
    hasher = ref.app.extensions["authkit"].kit.auth.hasher
    verify, dummy = hasher.verify, hasher.dummy_verify
    spent: list[float] = []

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args)
            finally:
                spent.append(time.perf_counter() - started)

        return run

    hasher.verify, hasher.dummy_verify = timed(verify), timed(dummy)
    try:
        yield spent
    finally:
        hasher.verify, hasher.dummy_verify = verify, dummy


def _throttled_app(ref: ReferenceApp) -> WsgiApp:
    """The same app and database with the default budgets, the bench pair's spent."""
    from flight_app.app import create_app
    from flight_app.settings import load_settings

    app: WsgiApp = create_app(load_settings())
    wrong = _body({"username": "bench", "password": "not the password, certainly"})
    for _ in range(100):
        status, _ = call(app, environ("POST", "/auth/login", body=wrong))
        if status.startswith("429"):
            return app
    raise AssertionError("the default budgets never answered 429")


def measure(label: str, database_url: str | None, count: int) -> None:
    ref = build(database_url)
    wsgi = ref.wsgi
    login = _body({"username": "bench", "password": PASSWORD})
    wrong = _body({"username": "bench", "password": "not the password, certainly"})
    unknown = _body({"username": "nobody-here", "password": PASSWORD})
    hasher = ref.app.extensions["authkit"].kit.auth.hasher
    stored = hasher.hash(PASSWORD)

    def sign_in() -> None:
        _post(wsgi, "/auth/login", login, expect="200")

    for _ in range(5):  # warm: pools, caches, the first RSA key use
        sign_in()
    whole: list[float] = []
    without_argon2: list[float] = []
    with _argon2_timer(ref) as spent:
        for _ in range(count):
            spent.clear()
            started = time.perf_counter()
            sign_in()
            elapsed = time.perf_counter() - started
            assert len(spent) == 1, spent  # one verification per sign-in
            whole.append(elapsed)
            without_argon2.append(elapsed - spent[0])
    # The same sign-in with the app's verification answering at once: the rest
    # alone, with warm caches (a real argon2 pass sweeps 19 MiB through them first).
    verify = hasher.verify
    hasher.verify = lambda _stored, _password: True
    try:
        stubbed = _timed(count, sign_in)
    finally:
        hasher.verify = verify

    def verify_alone() -> None:
        assert hasher.verify(stored, PASSWORD)

    argon2_alone = _timed(count, verify_alone)
    failures = max(10, count // 4)
    wrong_password = _timed(failures, lambda: _post(wsgi, "/auth/login", wrong, expect="401"))
    unknown_user = _timed(failures, lambda: _post(wsgi, "/auth/login", unknown, expect="401"))

    refresh_token = ref.refresh_token

    def refresh() -> None:
        nonlocal refresh_token
        raw = _post(wsgi, "/auth/refresh", _body({"refresh_token": refresh_token}), expect="200")
        refresh_token = json.loads(raw)["refresh_token"]

    def me() -> None:
        status, _ = call(wsgi, environ("GET", "/auth/me", token=ref.access_token))
        assert status.startswith("200"), status

    throttled = _throttled_app(ref)

    def throttled_sign_in() -> None:
        _post(throttled, "/auth/login", wrong, expect="429")

    refreshes = _timed(count, refresh)
    mes = _timed(count * 5, me)
    throttled_samples = _timed(count, throttled_sign_in)

    print(f"{label}: {count} sign-ins, load average {os.getloadavg()[0]:.1f} at the end")
    _row("sign-in without argon2", without_argon2, target=3)
    _row("sign-in, argon2 stubbed", stubbed, target=3)
    _row("throttled sign-in (429)", throttled_samples, target=2)
    _row("sign-in (whole)", whole)
    _row("argon2 verification alone", argon2_alone)
    _row(f"wrong password (401, {failures})", wrong_password)
    _row(f"unknown user (401, {failures})", unknown_user)
    _row("refresh", refreshes)
    _row(f"GET /auth/me ({count * 5})", mes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--postgres-url", default=os.environ.get("AUTHKIT_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    backends = {b.strip() for b in args.backends.split(",") if b.strip()}
    if not backends <= {"sqlite", "postgres"}:
        parser.error("--backends takes sqlite and/or postgres")
    from authkit.passwords import Argon2Parameters

    print(f"authkit sign-in benchmark: WSGI callable, prod settings, {Argon2Parameters()}")
    if "sqlite" in backends:
        measure("SQLite", None, args.requests)
    if "postgres" in backends:
        if not args.postgres_url:
            print("PostgreSQL: skipped (set AUTHKIT_TEST_POSTGRES_URL or pass --postgres-url)")
            return
        with temporary_postgres_database(args.postgres_url, prefix="authkit_bench") as url:
            measure("PostgreSQL", url, args.requests)


if __name__ == "__main__":
    main()
