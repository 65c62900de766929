"""gunicorn configuration for ``flight-app serve``.

Values come from the app's settings (the CLI exports its flags as ``FLIGHT_APP_*``
first). Threads serve concurrent requests inside each worker; on SIGTERM gunicorn
stops accepting, lets in-flight requests finish within ``graceful_timeout``, then
exits.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path
from typing import Any

from flight_app.settings import load_settings

_settings = load_settings()

_SUN_PATH_MAX = 103
"""Longest Unix socket path, in bytes, that every platform takes (``sun_path``
is 108 bytes on Linux, 104 on macOS and the BSDs, NUL included)."""


def control_socket_path(instance_path: Path) -> tuple[str, bool]:
    """Gunicorn's control socket (``gunicornc``) inside this instance's folder.

    gunicorn 25.1+ opens a control socket at ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or
    ``~/.gunicorn/gunicorn.ctl`` by default: one path for every instance of the
    same user on a host, so a second instance takes the first one's socket over
    and ``gunicornc`` then talks to the wrong server. ``<instance>/gunicorn.ctl``
    is this instance's own (mode 0600, in a 0700 folder). Returns the path and
    whether to switch the socket off: when the path is too long for a Unix
    socket it is off, rather than falling back to the shared default.
    """
    path = str(instance_path.resolve() / "gunicorn.ctl")
    return path, len(os.fsencode(path)) > _SUN_PATH_MAX


bind = f"{_settings.host}:{_settings.port}"
workers = _settings.workers
threads = _settings.threads
worker_class = "gthread"
timeout = 60
graceful_timeout = 20
keepalive = 5
# SO_REUSEPORT lets the kernel spread new connections over the workers instead of
# one gthread worker accepting most of them (long-lived WebSockets make that visible).
# Each worker then has a listening socket of its own, bound only once its app is
# loaded (see ``post_fork``).
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
control_socket, control_socket_disable = control_socket_path(_settings.instance_path)
control_socket_mode = 0o600


def when_ready(server: Any) -> None:
    """Say where the app serves, once the gunicorn master is ready (a gunicorn hook)."""
    print(f"flight-app is serving at http://{bind}", flush=True)


def post_fork(server: Any, worker: Any) -> None:
    """Close the worker's reuse-port sockets until its app is loaded.

    With ``reuse_port`` gunicorn binds each worker's own listening socket right after
    the fork, before the app is imported and built. The kernel then hands that
    socket its share of new connections at once, and they wait out the whole boot
    (seconds on a busy host), or are reset if the boot fails: after a worker
    crash, clients of a 2x2 deployment hung past 5 s (the fault suite's
    SIGKILL test). ``post_worker_init`` binds them when the worker can answer.
    """
    # Without SO_REUSEPORT gunicorn hands every worker the master's shared sockets.
    if worker.cfg.reuse_port and hasattr(socket, "SO_REUSEPORT") and worker.sockets:
        for listener in worker.sockets:
            listener.close()
        worker.sockets = []
        worker.bind_after_load = True


def _bind_after_load(worker: Any) -> None:
    """The sockets ``post_fork`` held back, now that the app is loaded."""
    if not getattr(worker, "bind_after_load", False):
        return
    from gunicorn import sock, util

    worker.sockets = sock.create_sockets(worker.cfg, worker.log)
    for listener in worker.sockets:
        util.close_on_exec(listener)
    worker.wait_fds = [*worker.sockets, worker.PIPE[0]]


def post_worker_init(worker: Any) -> None:
    """Bind the listening sockets, and on SIGTERM also close the admin WebSockets.

    Binding: see ``post_fork``. SIGTERM: close this worker's admin WebSockets (1001)
    and live threads.

    gunicorn waits up to ``graceful_timeout`` for open connections, and an admin
    WebSocket stays open until told otherwise; closing them at the signal lets the
    worker stop as soon as its HTTP requests are done. Done on a helper thread so
    the signal handler returns at once.
    """
    from flight_app.live_setup import shutdown_live  # in the worker: the master stays lean

    _bind_after_load(worker)
    previous = signal.getsignal(signal.SIGTERM)

    def on_term(signum: int, frame: Any) -> None:
        threading.Thread(
            target=shutdown_live, args=(worker.wsgi,), name="flight-app-live-shutdown", daemon=True
        ).start()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


def worker_int(worker: Any) -> None:
    """SIGINT / SIGQUIT: the worker exits at once; close the admin sockets first.

    A worker interrupted while still loading the app (Ctrl+C right after start) has
    no ``wsgi`` yet and nothing to close; failing here would turn a clean Ctrl+C
    into "Worker failed to boot" and a non-zero exit of the whole server.
    """
    from flight_app.live_setup import shutdown_live

    app = getattr(worker, "wsgi", None)
    if app is None:
        return
    shutdown_live(app, timeout=0.5)


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

    from authkit.audit import flush_buffered_lines
    from flight_app.app import close_app

    app = getattr(worker, "wsgi", None)
    if not isinstance(app, Flask):  # the master's copy of a worker, or a failed boot
        return
    failed = close_app(app)
    flush_buffered_lines()  # the access lines still in memory (atexit would too, later)
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
