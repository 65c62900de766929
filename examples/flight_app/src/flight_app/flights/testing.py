"""A scripted stand-in for the Duffel API on 127.0.0.1, for tests and local trials.

``StandIn`` is a ``ThreadingHTTPServer`` on a free loopback port that answers
``POST /air/offer_requests`` from a script of :class:`Step` s: a JSON body with a
status and headers, offers made for the slice that was asked (:func:`offers_for`),
a slow answer, a hang, or raw bytes. It records every request with its arrival
time, so a test can say how often, and when, the upstream was really called::

    with StandIn() as duffel:
        duffel.will(Step(status=500), OK)   # a 500, then offers for every request
        search = create_flight_search(provider="duffel", duffel_url=duffel.url,
                                      duffel_token="duffel_test_x")

Shipped in the package (like ``authkit.storage.testing``) so the unit tests, the
end-to-end tests and anyone trying the app offline share one stand-in.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

HANG_SECONDS = 10.0
"""The longest a hanging step holds its connection (``release`` ends it sooner)."""


@dataclass(frozen=True, kw_only=True)
class Step:
    """One scripted answer.

    ``body`` (JSON) or ``respond(request_body)`` (JSON made for the request) or
    ``raw`` bytes, sent with ``status`` and ``headers`` after ``delay`` seconds; or,
    with ``hang``, no answer at all until the stand-in is released.
    """

    status: int = 201
    body: object = None
    respond: Callable[[Any], object] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    raw: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class Seen:
    """A request as it arrived; ``at`` is ``time.monotonic()`` on arrival."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    at: float


def errors_body(code: str, title: str) -> dict[str, Any]:
    """Duffel's error envelope."""
    return {"errors": [{"code": code, "title": title, "message": f"{title}."}]}


def offers_for(request_body: Any) -> dict[str, Any]:
    """Two offers for the one slice of an offer request, in each airport's local time.

    Departures at 09:15 and 18:40 on the asked date, arrivals the next morning, so
    any pair of airports gives a valid flight whatever their offsets.
    """
    query = request_body["data"]["slices"][0]
    day = date.fromisoformat(query["departure_date"])
    offers = []
    for n, departs in enumerate(("09:15", "18:40"), start=1):
        segment = {
            "origin": {"iata_code": query["origin"], "time_zone": "UTC"},
            "destination": {"iata_code": query["destination"], "time_zone": "UTC"},
            "departing_at": f"{day.isoformat()}T{departs}:00",
            "arriving_at": f"{(day + timedelta(days=1)).isoformat()}T0{n}:05:00",
            "marketing_carrier": {"iata_code": "ZZ", "name": "Stand-in Air"},
            "marketing_carrier_flight_number": f"{100 + n}",
        }
        offers.append(
            {
                "id": f"off_{query['origin']}{query['destination']}{day:%m%d}_{n}",
                "total_amount": f"{100 * n}.50",
                "total_currency": "EUR",
                "slices": [{"segments": [segment]}],
            }
        )
    return {"data": {"offers": offers}}


OK = Step(respond=offers_for)
"""Offers for whatever was asked."""


class StandIn:
    """A scripted Duffel on 127.0.0.1; the last step repeats once the others are used.

    Use it as a context manager, or ``start()`` / ``close()``.
    """

    def __init__(self) -> None:
        self.script: list[Step] = []
        self.seen: list[Seen] = []
        self.release = threading.Event()
        self._lock = threading.Condition()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw_body = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw_body or b"null")
                except ValueError:
                    body = None
                step = stand_in._next(
                    Seen(
                        method="POST",
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        at=time.monotonic(),
                    )
                )
                if step.hang:
                    stand_in.release.wait(HANG_SECONDS)
                    return
                if step.delay and stand_in.release.wait(step.delay):
                    return
                if step.raw is not None:
                    payload = step.raw
                elif step.respond is not None:
                    payload = json.dumps(step.respond(body)).encode()
                else:
                    payload = json.dumps(step.body).encode()
                try:
                    self.send_response(step.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in step.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (its timeout): nobody to answer

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="duffel-stand-in",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """The base URL of the stand-in, to use as ``FLIGHT_APP_DUFFEL_URL``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> StandIn:
        """Start serving in a background thread; returns the stand-in."""
        self.thread.start()
        return self

    def close(self) -> None:
        """Release every hanging or slow answer, stop serving, free the port."""
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def will(self, *steps: Step) -> None:
        """Answer the next requests with ``steps`` (replacing what was scripted)."""
        with self._lock:
            self.script = list(steps)

    def _next(self, seen: Seen) -> Step:
        with self._lock:
            self.seen.append(seen)
            self._lock.notify_all()
            if not self.script:
                return Step(status=500, body=errors_body("no_script", "No scripted answer"))
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    @property
    def calls(self) -> int:
        """How many requests arrived so far."""
        with self._lock:
            return len(self.seen)

    def arrivals(self, since: int = 0) -> list[float]:
        """Arrival times (``time.monotonic()``) of the requests from number ``since`` on."""
        with self._lock:
            return [seen.at for seen in self.seen[since:]]

    def wait_for_calls(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` requests have arrived in all; false on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: len(self.seen) >= count, timeout)


__all__ = ["OK", "Seen", "StandIn", "Step", "errors_body", "offers_for"]
