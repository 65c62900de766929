"""``GET /admin/ws``: the admin live-update WebSocket (flask-sock, gunicorn gthread).

Authentication, in either of two ways (browsers cannot set headers on a WebSocket):

* ``?access_token=<jwt>``: checked *before* the upgrade, so a bad token gets the
  same HTTP answer as any endpoint (401 ``invalid_token``, 403 ``forbidden`` for a
  non-admin) and never costs a socket or a thread. The query string is never
  logged: the access log records the path only.
* ``{"access_token": "<jwt>"}`` as the first message, within
  ``first_message_timeout`` seconds: a refusal then closes the socket with 1008
  (policy violation) and a reason.

Once open, the socket gets ``{"type": "ready", "data": {...}}`` and then every
audit event as ``{"type": "audit", "data": event}`` (plus ``user_change`` for
``admin.user*`` events). It is closed with 1008 when the access token expires
(checked before every send and by a timer), when the user is deactivated or loses
the admin role (re-checked every ``recheck_seconds`` and at once on every
``user_change``); with 1013 (try again later) when the client fell behind and was
dropped or the worker is at capacity; with 1001 when the worker shuts down.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import struct
import threading
import time
from typing import Final

from flask import Blueprint, Flask, Response, request
from flask_sock import Sock
from simple_websocket import ConnectionClosed, Server

from authkit import AuthkitError, Principal
from authkit.errors import Forbidden, InvalidRequest, InvalidToken
from authkit.live import OVERFLOW, SHUTDOWN, HubFull, Subscription, SubscriptionClosed
from authkit.roles import ADMIN
from authkit_flask._blueprints.auth import client_address
from authkit_flask._live import LiveUpdates, Outgoing
from authkit_flask._problem import problem
from authkit_flask._responses import rfc3339
from authkit_flask._schemas import decode_json
from authkit_flask._state import get_state, request_state

_log = logging.getLogger("authkit_flask.live")

WS_PATH: Final = "/admin/ws"

CLOSE_GOING_AWAY: Final = 1001
CLOSE_POLICY_VIOLATION: Final = 1008
CLOSE_TRY_AGAIN_LATER: Final = 1013

_MAX_MESSAGE_BYTES: Final = 16 * 1024
_MAX_TOKEN_CHARS: Final = 8192


def register_admin_ws(app: Flask, live: LiveUpdates) -> None:
    """Add ``/admin/ws`` to ``app``, served from ``live``."""
    options = app.config.setdefault("SOCK_SERVER_OPTIONS", {})
    options.setdefault("ping_interval", live.ping_interval)
    options.setdefault("max_message_size", _MAX_MESSAGE_BYTES)
    sock = Sock()
    blueprint = Blueprint("authkit_admin_ws", __name__)

    @blueprint.before_request
    def refuse_before_upgrade() -> Response | None:
        if request.path != WS_PATH:
            return None
        if live.stopped or live.full:
            return problem(
                "service_unavailable",
                "Too many live connections on this server; retry shortly.",
                status=503,
                headers={"Retry-After": "5"},
            )
        token = request.args.get("access_token")
        if token is not None:
            request_state().principal = _admin_principal(token)  # raises 401 / 403
            request_state().live_token = token
        elif live.reserve_pending(client_address()):
            request_state().live_pending = True
        else:
            return problem(
                "service_unavailable",
                "Too many live connections on this server; retry shortly.",
                status=503,
                headers={"Retry-After": "5"},
            )
        return None

    @blueprint.teardown_request
    def release_pending_place(_exc: BaseException | None) -> None:
        # Also when the upgrade never happened (not a WebSocket request, an error).
        state = request_state()
        if state.live_pending:
            state.live_pending = False
            live.release_pending(client_address())

    @sock.route(WS_PATH, bp=blueprint)  # type: ignore[untyped-decorator]  # flask-sock ships no types
    def admin_ws(ws: Server) -> None:
        # OSError: the peer vanished or stopped reading (send timeout); nothing to tell it.
        with contextlib.suppress(OSError):
            _serve(ws, live)

    app.register_blueprint(blueprint)


def _admin_principal(token: str) -> Principal:
    """The token's principal if it is valid and its user an active admin, else raise."""
    if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
        raise InvalidToken("A bearer access token is required.")
    principal = get_state().kit.auth.authenticate_access_token(token)
    if ADMIN not in principal.user.roles:
        raise Forbidden()
    return principal


def _refusal(token: str) -> str | None:
    """Why ``token`` may no longer watch, or None while it may."""
    try:
        _admin_principal(token)
    except Forbidden:
        return "admin role required"
    except AuthkitError:
        return "access token no longer valid"
    return None


def _serve(ws: Server, live: LiveUpdates) -> None:
    _bound_sends(ws, live.send_timeout)
    state = request_state()
    principal, token = state.principal, state.live_token
    if principal is None or token is None:
        token = _first_message_token(ws, live.first_message_timeout)
        if state.live_pending:
            state.live_pending = False
            live.release_pending(client_address())  # authenticated or not, it no longer waits
        if token is None:
            _close(ws, CLOSE_POLICY_VIOLATION, 'send {"access_token": ...} first')
            return
        try:
            principal = _admin_principal(token)
        except Forbidden:
            _close(ws, CLOSE_POLICY_VIOLATION, "admin role required")
            return
        except AuthkitError:
            _close(ws, CLOSE_POLICY_VIOLATION, "invalid access token")
            return
    try:
        subscription = live.subscribe()
    except HubFull:
        _close(ws, CLOSE_TRY_AGAIN_LATER, "too many live connections; retry shortly")
        return
    with subscription:
        _stream(ws, live, subscription, principal, token)


def _stream(
    ws: Server,
    live: LiveUpdates,
    subscription: Subscription[Outgoing],
    principal: Principal,
    token: str,
) -> None:
    clock = get_state().kit.clock
    expires_at = principal.claims.expires_at
    ws.send(
        json.dumps(
            {
                "type": "ready",
                "data": {
                    "user_id": principal.user.id,
                    "expires_at": rfc3339(expires_at),
                    "worker": os.getpid(),
                },
            }
        )
    )
    next_check = time.monotonic() + live.recheck_seconds
    while ws.connected:
        remaining = (expires_at - clock.now()).total_seconds()
        if remaining <= 0:
            _close(ws, CLOSE_POLICY_VIOLATION, "access token expired")
            return
        wait = min(remaining, max(next_check - time.monotonic(), 0.0), 1.0)
        try:
            message: Outgoing | None = subscription.get(timeout=wait)
        except SubscriptionClosed as closed:
            if closed.reason == OVERFLOW:
                _close(ws, CLOSE_TRY_AGAIN_LATER, "client too slow; reconnect")
            elif closed.reason == SHUTDOWN:
                _close(ws, CLOSE_GOING_AWAY, "server shutting down")
            return
        _discard_incoming(ws)
        due = time.monotonic() >= next_check
        if due or (message is not None and message.user_change):
            reason = _refusal(token)
            if reason is not None:
                _close(ws, CLOSE_POLICY_VIOLATION, reason)
                return
            next_check = time.monotonic() + live.recheck_seconds
        if message is not None:
            if clock.now() >= expires_at:
                _close(ws, CLOSE_POLICY_VIOLATION, "access token expired")
                return
            ws.send(message.text)


def _first_message_token(ws: Server, timeout: float) -> str | None:
    try:
        raw = ws.receive(timeout=timeout)
    except ConnectionClosed:
        return None
    if not isinstance(raw, str):
        return None
    try:
        body = decode_json(raw)
    except InvalidRequest:
        return None
    token = body.get("access_token") if isinstance(body, dict) else None
    return token if isinstance(token, str) and token else None


def _discard_incoming(ws: Server) -> None:
    """Drop what the client sends after authenticating: nothing is expected."""
    while ws.connected and ws.receive(timeout=0) is not None:
        pass


def _bound_sends(ws: Server, seconds: float) -> None:
    """A client that stops reading makes a send fail after ``seconds`` instead of hanging.

    ``SO_SNDTIMEO`` limits only sends, so the reader thread's receives (and
    pings) are unaffected; where the option is missing, pings still find dead peers.
    """
    sock = getattr(ws, "sock", None)
    if not isinstance(sock, socket.socket) or not hasattr(socket, "SO_SNDTIMEO"):
        return
    whole = int(seconds)
    timeval = struct.pack("ll", whole, int((seconds - whole) * 1_000_000))
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)


_CLOSE_HANDSHAKE_WAIT: Final = 1.0


def _close(ws: Server, code: int, reason: str) -> None:
    """Send a close frame, then let the reader thread take the client's reply.

    Waiting for simple-websocket's reader to finish the close handshake (RFC 6455
    section 7.1.1: the server closes TCP after the exchange) before the view
    returns keeps the WSGI server from reading that reply itself: werkzeug's
    development server would then block on the socket and the client would never
    see the connection end.
    """
    try:
        ws.close(reason=code, message=reason)
    except (ConnectionClosed, OSError):
        pass  # already closed: by the peer, or the connection dropped
    except Exception:  # wsproto refusing a close in the state it is in: log, finish
        _log.warning("closing an admin WebSocket failed", exc_info=True)
    reader = getattr(ws, "thread", None)
    if reader is not None and reader is not threading.current_thread():
        reader.join(_CLOSE_HANDSHAKE_WAIT)


__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_POLICY_VIOLATION",
    "CLOSE_TRY_AGAIN_LATER",
    "WS_PATH",
    "register_admin_ws",
]
