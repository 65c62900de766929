"""gunicorn configuration for ``flight-app serve``.

Values come from the app's settings (the CLI exports its flags as ``FLIGHT_APP_*``
first). Threads serve concurrent requests inside each worker; on SIGTERM gunicorn
stops accepting, lets in-flight requests finish within ``graceful_timeout``, then
exits.
"""

from __future__ import annotations

import os
import signal
import threading
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
# SO_REUSEPORT lets the kernel spread new connections over the workers instead of
# one gthread worker accepting most of them (long-lived WebSockets make that visible).
reuse_port = True
# gunicorn's own default request line is 4094 bytes, and a query the contract
# accepts can be longer: `/auth/users?q=` takes 320 characters, which URL-encoded
# (4-byte UTF-8, 12 bytes each) is 3,840 bytes before the other parameters. Past the
# limit gunicorn answers an HTML 414 the API never documents; 8190 (gunicorn's
# maximum, and nginx's 8k header buffer) fits every query the document allows.
limit_request_line = 8190
accesslog = None  # the adapter writes one JSON access line per request, with trace_id
errorlog = "-"
loglevel = "info"
proc_name = "flight-app"


def when_ready(server: Any) -> None:
    print(f"flight-app is serving at http://{bind}", flush=True)


def post_worker_init(worker: Any) -> None:
    """On SIGTERM, also close this worker's admin WebSockets (1001) and live threads.

    gunicorn waits up to ``graceful_timeout`` for open connections, and an admin
    WebSocket stays open until told otherwise; closing them at the signal lets the
    worker stop as soon as its HTTP requests are done. Done on a helper thread so
    the signal handler returns at once.
    """
    from flight_app.live_setup import shutdown_live  # in the worker: the master stays lean

    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        threading.Thread(
            target=shutdown_live, args=(worker.wsgi,), name="flight-app-live-shutdown", daemon=True
        ).start()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


def worker_int(worker: Any) -> None:
    """SIGINT / SIGQUIT: the worker exits at once; close the admin sockets first."""
    from flight_app.live_setup import shutdown_live

    shutdown_live(worker.wsgi, timeout=0.5)


def worker_exit(server: Any, worker: Any) -> None:
    """In the stopping worker, after its last request: close what the app opened.

    The database engine (its pooled connections), the audit file, the rate-limit
    storage, the flight provider's connection pool and the live threads, then one
    ``worker stopped`` line in the system log. gunicorn calls this on every way out
    of the worker loop (graceful stop, ``max_requests``, a failed boot), and in the
    master for a worker it finds already gone; only a loaded app has anything to close.
    """
    import logging

    from flask import Flask

    from flight_app.app import close_app

    app = getattr(worker, "wsgi", None)
    if not isinstance(app, Flask):  # the master's copy of a worker, or a failed boot
        return
    failed = close_app(app)
    logging.getLogger("flight_app.worker").log(
        logging.WARNING if failed else logging.INFO,
        "worker stopped",
        extra={"pid": os.getpid(), "close_failed": failed},
    )


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live-gauge files so scrapes stay correct."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
