// The browser session (OAuth 2.0 for Browser-Based Apps).
//
// The refresh token lives in an HttpOnly cookie that only /auth/browser/session/*
// receives: no script on the page can read it. The access token lives in this
// module's memory and nowhere else (no web storage), so a reload signs in again
// silently with one refresh. Every cookie-authenticated request carries the
// X-Authkit-CSRF header, which a cross-site page cannot add.
//
// Refresh tokens are single use: two tabs refreshing with the same cookie at once
// would look like token theft and end the session. Refreshes therefore take a Web
// Lock shared by every tab of the origin, so the second one waits and then sends
// the cookie the first one received.

const LOGIN = "/auth/browser/login";
const REFRESH = "/auth/browser/session/refresh";
const LOGOUT = "/auth/browser/session/logout";
const CSRF = { "X-Authkit-CSRF": "1" };
const LOCK = "authkit-session-refresh";
const EARLY_SECONDS = 60;
const RETRY_SECONDS = 30;

let current = null; // { accessToken, expiresAt, user, enrolmentOnly }
let timer = 0;
let inflight = null;
const listeners = new Set();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("authkit-session") : null;

function withLock(task) {
  return navigator.locks ? navigator.locks.request(LOCK, task) : task();
}

async function readJson(response) {
  if (response.status === 204) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function emit() {
  for (const listener of listeners) listener(current?.user ?? null);
}

function schedule(seconds) {
  clearTimeout(timer);
  timer = setTimeout(() => {
    refresh();
  }, Math.max(seconds, 5) * 1000);
}

function adopt(body) {
  current = {
    accessToken: body.access_token,
    expiresAt: Date.now() + body.expires_in * 1000,
    user: body.user,
    enrolmentOnly: Boolean(body.mfa_enrolment_required),
  };
  schedule(body.expires_in - EARLY_SECONDS);
  emit();
}

function drop() {
  clearTimeout(timer);
  const had = current !== null;
  current = null;
  if (had) emit();
}

async function doRefresh() {
  let response;
  try {
    response = await withLock(() =>
      fetch(REFRESH, { method: "POST", headers: CSRF, credentials: "same-origin", cache: "no-store" }),
    );
  } catch {
    // Offline or the server is restarting: keep what we have and try again soon.
    schedule(RETRY_SECONDS);
    return current?.user ?? null;
  }
  if (response.status === 200) {
    adopt(await response.json());
  } else if (response.status === 204 || response.status === 401 || response.status === 403) {
    drop(); // no session, or it ended (expired, revoked, reused)
  } else {
    schedule(RETRY_SECONDS); // 5xx: the session may well be fine
  }
  return current?.user ?? null;
}

/** Refresh the session from the cookie; concurrent callers share one request. */
export function refresh() {
  inflight ??= doRefresh().finally(() => {
    inflight = null;
  });
  return inflight;
}

/** Resolves once the page load's silent refresh is done: the user, or null. */
export const ready = refresh();

/** The signed-in user (as `/auth/me` returns it), or null. */
export function currentUser() {
  return current?.user ?? null;
}

export function hasRole(role) {
  return Boolean(current?.user?.roles?.includes(role));
}

/** True while the account must enrol TOTP before anything but the account page works. */
export function enrolmentOnly() {
  return Boolean(current?.enrolmentOnly);
}

/** Call `listener(user | null)` whenever the session starts, changes or ends. */
export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** An access token valid for at least `minSeconds` more, or null when signed out. */
export async function accessToken(minSeconds = 15) {
  await ready;
  if (current && current.expiresAt - Date.now() < minSeconds * 1000) await refresh();
  return current?.accessToken ?? null;
}

function result(response, data) {
  return { ok: response.ok, status: response.status, data, headers: response.headers };
}

/**
 * Sign in with `{username, password, otp?, recovery_code?}`; the cookie is set by
 * the server. Returns `{ok, status, data}` with the problem details on failure.
 */
export async function signIn(credentials) {
  const response = await fetch(LOGIN, {
    method: "POST",
    headers: { ...CSRF, "Content-Type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify(credentials),
  });
  const data = await readJson(response);
  if (response.ok) {
    adopt(data);
    channel?.postMessage("signed-in");
  }
  return result(response, data);
}

/** End the session: the server revokes the cookie's family and clears the cookie. */
export async function signOut() {
  try {
    await withLock(() =>
      fetch(LOGOUT, { method: "POST", headers: CSRF, credentials: "same-origin" }),
    );
  } finally {
    drop();
    channel?.postMessage("signed-out");
  }
}

/**
 * Call the JSON API with the access token. `body` is sent as JSON. A 401 on a
 * live session gets one refresh and one retry (the token may have just expired).
 * Resolves to `{ok, status, data, headers}`; `status` 0 means the network failed.
 */
export async function api(path, { method = "GET", body, signal } = {}) {
  await ready;
  const send = () => {
    const headers = { Accept: "application/json" };
    if (current) headers.Authorization = `Bearer ${current.accessToken}`;
    const init = { method, headers, signal, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init);
  };
  let response;
  try {
    response = await send();
    if (response.status === 401 && current) {
      await refresh();
      if (current) response = await send();
    }
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    return { ok: false, status: 0, data: null, headers: new Headers() };
  }
  return result(response, await readJson(response));
}

/**
 * For pages that need a signed-in user: resolves to the user, or sends the
 * browser to the sign-in page (coming back here afterwards) and resolves to null.
 */
export async function requireUser() {
  const user = await ready;
  if (!user) {
    const back = location.pathname + location.search;
    location.replace(`/login?next=${encodeURIComponent(back)}`);
    return null;
  }
  return user;
}

/** A same-site path to continue to after sign-in: `next` if it is one, else `fallback`. */
export function nextPath(fallback) {
  const next = new URLSearchParams(location.search).get("next");
  if (!next) return fallback;
  try {
    const url = new URL(next, location.origin);
    if (url.origin === location.origin && next.startsWith("/") && !next.startsWith("//")) {
      return url.pathname + url.search + url.hash;
    }
  } catch {
    // not a URL at all
  }
  return fallback;
}

channel?.addEventListener("message", (event) => {
  if (event.data === "signed-out") drop();
  else if (event.data === "signed-in" && !current) refresh();
});
