"""Benchmark: sign-in, refresh and an authenticated request through the whole stack.

Runs the reference app in-process (Flask test client, SQLite in a temporary folder,
``memory://`` limits, production argon2id parameters m=19456 KiB, t=2, p=1) and
reports requests per second for each, plus the share of sign-in time spent in
argon2 verification and the sign-in time that is not argon2 (target: <= 3 ms),
measured directly with the app's argon2 verification stubbed out.
A second app with the default sign-in budgets times a throttled sign-in: the
pair's budget spent, every further attempt is answered 429 before any password
work (target: <= 2 ms). Usage::

    uv run python benchmarks/bench_signin.py [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from authkit.passwords import Argon2Parameters, PasswordHasher


def _timed(count: int, call: Callable[[int], None]) -> list[float]:
    samples = []
    for i in range(count):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def _report(name: str, samples: list[float]) -> None:
    total = sum(samples)
    p50 = statistics.median(samples) * 1000
    p95 = statistics.quantiles(samples, n=20)[-1] * 1000
    print(f"{name:<22} {len(samples) / total:8.1f} req/s   p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    count = parser.parse_args().requests

    folder = Path(tempfile.mkdtemp(prefix="authkit-bench-"))
    os.environ["APP_ENV"] = "dev"
    from flight_app.app import create_app
    from flight_app.migrate import upgrade

    database = f"sqlite:///{folder / 'bench.db'}"
    upgrade(database)
    app = create_app(
        instance_path=folder,
        database_url=database,
        throttle_pair_limit=10**6,
        throttle_address_limit=10**6,
        throttle_account_limit=10**6,
        throttle_register_limit=10**6,
    )
    client = app.test_client()
    password = "violet marmalade drifts at noon"
    body = {"username": "bench", "email": "bench@example.com", "password": password}
    assert client.post("/auth/register", json=body).status_code == 201

    def login(_: int) -> None:
        response = client.post("/auth/login", json={"username": "bench", "password": password})
        assert response.status_code == 200

    refresh_token = client.post(
        "/auth/login", json={"username": "bench", "password": password}
    ).get_json()["refresh_token"]

    def refresh(_: int) -> None:
        nonlocal refresh_token
        response = client.post("/auth/refresh", json={"refresh_token": refresh_token})
        assert response.status_code == 200
        refresh_token = response.get_json()["refresh_token"]

    access = client.post("/auth/login", json={"username": "bench", "password": password})
    headers = {"Authorization": f"Bearer {access.get_json()['access_token']}"}

    def me(_: int) -> None:
        assert client.get("/auth/me", headers=headers).status_code == 200

    throttled_app = create_app(
        instance_path=Path(tempfile.mkdtemp(prefix="authkit-bench-")),
        database_url=database,
    )
    throttled = throttled_app.test_client()
    wrong = {"username": "bench", "password": "not the password, certainly"}
    for _ in range(100):
        if throttled.post("/auth/login", json=wrong).status_code == 429:
            break
    else:
        raise AssertionError("the default budgets never answered 429")

    def throttled_login(_: int) -> None:
        assert throttled.post("/auth/login", json=wrong).status_code == 429

    hasher = PasswordHasher(Argon2Parameters())
    stored = hasher.hash(password)

    def argon2_verify(_: int) -> None:
        assert hasher.verify(stored, password)

    login_samples = _timed(count, login)
    argon2_samples = _timed(count, argon2_verify)
    print(f"authkit benchmark: {count} requests each, argon2id {Argon2Parameters()}")
    _report("sign-in", login_samples)
    _report("refresh", _timed(count, refresh))
    _report("GET /auth/me (bearer)", _timed(count * 5, me))
    _report("argon2 verify alone", argon2_samples)
    _report("sign-in throttled (429)", _timed(count, throttled_login))
    # Everything but argon2, measured directly: the same sign-in with this app's
    # hasher answering at once. (Median minus median is only an estimate: on a
    # loaded machine two medians of ~30 ms each wander by more than the rest.)
    auth = app.extensions["authkit"].kit.auth
    real_verify = auth.hasher.verify
    auth.hasher.verify = lambda _stored, _password: True
    try:
        no_argon2 = _timed(count, login)
    finally:
        auth.hasher.verify = real_verify
    _report("sign-in, argon2 stubbed", no_argon2)
    share = statistics.median(argon2_samples) / statistics.median(login_samples)
    print(f"argon2 share of sign-in time (median/median): {share:.0%}")
    rest = (statistics.median(login_samples) - statistics.median(argon2_samples)) * 1000
    print(f"sign-in without argon2 (median - median): {rest:.2f} ms")
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
