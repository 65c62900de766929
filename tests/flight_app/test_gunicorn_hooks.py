"""gunicorn's hooks in ``flight_app.gunicorn_conf`` cope with a worker that has no app yet.

Regression: Ctrl+C right after ``flight-app serve`` started reached a worker still
loading the app; ``worker_int`` read ``worker.wsgi``, which did not exist yet, so
the worker died with "Worker failed to boot" and the whole server exited 3
instead of 0 (found by tests/e2e/test_serve_tail.py, Ctrl+C to the process group).
"""

from __future__ import annotations

import importlib.util
import runpy
from types import SimpleNamespace
from typing import Any

import pytest

# run_path, not run_module: another test may already have imported the module, and
# run_module warns then (an error under filterwarnings = error).
_GUNICORN_CONF = str(importlib.util.find_spec("flight_app.gunicorn_conf").origin)  # type: ignore[union-attr]


@pytest.fixture
def conf(app_env: None) -> dict[str, Any]:
    return runpy.run_path(_GUNICORN_CONF)


def test_worker_int_on_a_worker_still_booting_does_nothing(conf: dict[str, Any]) -> None:
    conf["worker_int"](SimpleNamespace())  # no wsgi attribute: must not raise


def test_worker_int_closes_the_live_updates_of_a_loaded_worker(
    conf: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[tuple[object, float]] = []
    monkeypatch.setattr(
        "flight_app.live_setup.shutdown_live",
        lambda app, timeout=None: closed.append((app, timeout)),
    )
    app = object()
    conf["worker_int"](SimpleNamespace(wsgi=app))
    assert closed == [(app, 0.5)]


def test_worker_exit_on_a_worker_that_never_loaded_does_nothing(conf: dict[str, Any]) -> None:
    conf["worker_exit"](SimpleNamespace(), SimpleNamespace())
