"""Several processes append to one audit log while it rotates: nothing lost, nothing torn.

This is the gunicorn shape: independent worker processes, each with its own
``AuditLogger`` on the same path. ``spawn`` gives each a fresh interpreter, so
nothing (descriptors, locks) is inherited by accident.
"""

from __future__ import annotations

import gzip
import importlib
import json
import multiprocessing
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from authkit.audit import AuditLogger, Pseudonymizer, RotationPolicy, list_archives

KEY = b"multiprocess-test-key-0123456789"


def append_events(path: str, worker: int, count: int, policy: RotationPolicy, barrier: Any) -> None:
    """Run in a child process: wait for the others, then log ``count`` events."""
    audit = AuditLogger(Path(path), pseudonymizer=Pseudonymizer(KEY), rotation=policy)
    barrier.wait()
    for seq in range(count):
        audit.log(
            "login",
            outcome="success",
            actor=f"user{seq % 50}@example.com",
            client_address=f"198.51.100.{worker}",
            worker=worker,
            seq=seq,
        )
    audit.close()


def spawnable_worker(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``append_events`` under a module name a spawned child can import.

    A spawned child finds its target by module name. Under pytest's importlib
    import mode this file's module name (``tests.authkit...``) only resolves from
    the repository root, so import it again by its file stem from a ``sys.path``
    entry that the child inherits, whatever the import mode or working directory.
    """
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    worker: Callable[..., None] = importlib.import_module(Path(__file__).stem).append_events
    return worker


def run_workers(
    monkeypatch: pytest.MonkeyPatch,
    path: Path,
    *,
    workers: int,
    count: int,
    policy: RotationPolicy,
) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    target = spawnable_worker(monkeypatch)
    processes = [
        ctx.Process(target=target, args=(str(path), w, count, policy, barrier))
        for w in range(workers)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * workers


def read_all(path: Path) -> list[dict[str, Any]]:
    """Every event in the archives and the current file; fails on any invalid line."""
    events: list[dict[str, Any]] = []
    for file in [*list_archives(path), path]:
        data = gzip.decompress(file.read_bytes()) if file.suffix == ".gz" else file.read_bytes()
        assert data == b"" or data.endswith(b"\n"), f"{file.name} ends in a torn line"
        for raw in data.split(b"\n")[:-1]:
            events.append(json.loads(raw))
    return events


def assert_each_event_once(events: list[dict[str, Any]], workers: int, count: int) -> None:
    seen = Counter((e["worker"], e["seq"]) for e in events)
    assert len(events) == workers * count
    assert set(seen) == {(w, s) for w in range(workers) for s in range(count)}
    assert max(seen.values()) == 1


@pytest.mark.timeout(180)
def test_four_processes_rotating_lose_and_tear_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=512 * 1024, backup_count=None, compress=False)
    run_workers(monkeypatch, path, workers=4, count=10_000, policy=policy)
    archives = list_archives(path)
    assert len(archives) >= 5
    # The size is checked under the shared lock, so concurrent writers may each add
    # one line past the limit: at most one line per other process.
    assert all(a.stat().st_size <= 512 * 1024 + 3 * 300 for a in archives)
    events = read_all(path)
    assert_each_event_once(events, workers=4, count=10_000)
    # Each worker's own events keep their order across files.
    for w in range(4):
        assert [e["seq"] for e in events if e["worker"] == w] == list(range(10_000))
    assert all("example.com" not in json.dumps(e) for e in events[:100])


@pytest.mark.timeout(120)
def test_processes_with_compressed_archives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "auth.jsonl"
    policy = RotationPolicy(max_bytes=64 * 1024, backup_count=None, compress=True)
    run_workers(monkeypatch, path, workers=3, count=2_000, policy=policy)
    archives = list_archives(path)
    assert len(archives) >= 3
    assert all(a.name.endswith(".jsonl.gz") for a in archives)
    assert_each_event_once(read_all(path), workers=3, count=2_000)
