// The admin live-update socket (/admin/ws): the access token goes in the first
// message (never in the URL, which proxies log), `ready` confirms it, then every
// audit event and user change arrives as {type, data}. When the socket drops it
// reconnects with exponential back-off and full jitter; a 1008 close for an
// expired token reconnects at once with a fresh one; a refusal (not an admin any
// more, signed out) stops.
import { accessToken, refresh } from "./session.js";

const BASE_DELAY = 1000;
const MAX_DELAY = 30000;

export class LiveUpdates {
  /**
   * `onMessage({type, data})` for each event; `onState(state, detail)` with state
   * one of "connecting", "live", "waiting" (detail: seconds), "stopped" (detail: why).
   * `onReady()` after each successful (re)connection: fetch what was missed.
   */
  constructor({ onMessage, onState, onReady, path = "/admin/ws" }) {
    this.onMessage = onMessage;
    this.onState = onState;
    this.onReady = onReady;
    this.url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${path}`;
    this.attempts = 0;
    this.socket = null;
    this.timer = 0;
    this.stopped = false;
    addEventListener("online", () => {
      if (!this.socket) this.#soon(0);
    });
    addEventListener("pagehide", () => this.stop("page closed"));
  }

  async start() {
    this.stopped = false;
    clearTimeout(this.timer);
    this.onState("connecting");
    const token = await accessToken(30);
    if (!token) {
      this.stop("signed out");
      return;
    }
    if (this.stopped) return;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => socket.send(JSON.stringify({ access_token: token })));
    socket.addEventListener("message", (event) => this.#receive(event));
    socket.addEventListener("close", (event) => this.#closed(socket, event));
  }

  stop(reason = "stopped") {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "bye");
    this.onState("stopped", reason);
  }

  #receive(event) {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message?.type === "ready") {
      this.attempts = 0;
      this.onState("live");
      this.onReady?.();
      return;
    }
    this.onMessage(message);
  }

  async #closed(socket, event) {
    if (socket !== this.socket || this.stopped) return;
    this.socket = null;
    if (event.code === 1008) {
      if (event.reason === "admin role required") {
        this.stop("your account is no longer an admin");
        return;
      }
      // Expired or refused token: one fresh token, then an immediate retry (once).
      const user = await refresh();
      if (!user) {
        this.stop("signed out");
        return;
      }
      this.#soon(this.attempts === 0 ? 0 : this.#delay());
      this.attempts += 1;
      return;
    }
    this.#soon(this.#delay());
    this.attempts += 1;
  }

  #delay() {
    // Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
    const cap = Math.min(MAX_DELAY, BASE_DELAY * 2 ** this.attempts);
    return Math.max(250, Math.round(Math.random() * cap));
  }

  #soon(delay) {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.onState("waiting", Math.ceil(delay / 1000));
    this.timer = setTimeout(() => this.start(), delay);
  }
}
