"""gunicorn configuration for ``flight-app serve``.

Values come from the app's settings (the CLI exports its flags as ``FLIGHT_APP_*``
first). Threads serve concurrent requests inside each worker; on SIGTERM gunicorn
stops accepting, lets in-flight requests finish within ``graceful_timeout``, then
exits.
"""

from __future__ import annotations

import os
from typing import Any

from flight_app.settings import load_settings

_settings = load_settings()

bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = None  # the adapter writes one JSON access line per request, with trace_id
errorlog = "-"
loglevel = "info"
proc_name = "flight-app"


def when_ready(server: Any) -> None:
    print(f"flight-app is serving at http://{bind}", flush=True)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live-gauge files so scrapes stay correct."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
