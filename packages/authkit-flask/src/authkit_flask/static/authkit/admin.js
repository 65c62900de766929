// /admin: for admins only. The page itself is the same for everyone; the API
// refuses its data to anyone else, and the page says so.
import { LogsPanel } from "./admin-logs.js";
import { UsersPanel } from "./admin-users.js";
import { problemMessage } from "./forms.js";
import { dateTime, element } from "./format.js";
import { LiveUpdates } from "./live.js";
import { api, enrolmentOnly, hasRole, onChange, requireUser } from "./session.js";
import { setupTabs } from "./tabs.js";

const $ = (id) => document.getElementById(id);
const root = $("admin-app");
const ACTIVITY_LIMIT = 200;
const RELOAD_EVENTS = new Set(["register", "login", "mfa.enable", "mfa.disable", "password.change"]);

function refuse(message) {
  root.hidden = true;
  const box = $("admin-refused");
  box.replaceChildren(message);
  box.hidden = false;
}

function refuseWithLink(text, href, label) {
  const link = element("a", { text: label, attrs: { href } });
  const box = $("admin-refused");
  root.hidden = true;
  box.replaceChildren(`${text} `, link);
  box.hidden = false;
}

class Activity {
  constructor() {
    this.list = $("activity");
    this.seen = new Set();
  }

  key(event) {
    return [event.ts, event.event, event.trace_id, event.actor, event.outcome].join("|");
  }

  item(event) {
    const summary = `${event.event ?? "event"} — ${event.outcome ?? ""}`;
    const extra = Object.entries(event)
      .filter(([key]) => !["ts", "event", "outcome", "trace_id"].includes(key))
      .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(" · ");
    const node = element("li", { className: event.outcome === "success" ? "" : "warn" }, [
      element("time", { text: dateTime(event.ts, { seconds: true }), attrs: { datetime: event.ts ?? "" } }),
      element("strong", { text: summary }),
      element("span", { className: "muted details", text: extra }),
    ]);
    return node;
  }

  add(event, { atTop = true } = {}) {
    const key = this.key(event);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const node = this.item(event);
    if (atTop) this.list.prepend(node);
    else this.list.append(node);
    while (this.list.children.length > ACTIVITY_LIMIT) this.list.lastElementChild.remove();
  }

  async backfill() {
    const result = await api(`/admin/logs?source=auth&limit=50`);
    if (!result.ok) return;
    // Oldest first from the API; newest on top here.
    for (const event of result.data.items) if (!event.parse_error) this.add(event);
  }
}

async function main() {
  const user = await requireUser();
  if (!user) return;
  if (enrolmentOnly()) {
    refuseWithLink("Set up two-factor authentication first:", "/account", "go to your account");
    return;
  }
  if (!hasRole("admin")) {
    refuse("This page is for administrators only.");
    return;
  }
  root.hidden = false;

  let live = null;
  const users = new UsersPanel({ onError: (result) => refuseIfGone(result) });
  const activity = new Activity();
  const logs = root.dataset.logs === "1" ? new LogsPanel() : null;
  setupTabs($("admin-tabs"), {
    storageKey: "authkit.admin.tab",
    initial: "tab-users",
    onSelect: (id) => logs?.show(id === "tab-logs"),
  });
  users.load();
  // With live updates, each `ready` backfills (the first one too).
  if (logs && root.dataset.live !== "1") activity.backfill();

  function refuseIfGone(result) {
    if (result.status === 401 || result.status === 403) {
      live?.stop("access refused");
      refuse(problemMessage(result));
    } else {
      $("users-status").textContent = problemMessage(result);
    }
  }

  let reconnected = false;
  if (root.dataset.live === "1") {
    const status = $("live-status");
    live = new LiveUpdates({
      onState(state, detail) {
        status.dataset.state = state;
        status.textContent = {
          connecting: "Live updates: connecting…",
          live: "Live updates: on",
          waiting: `Live updates: reconnecting in ${detail} s…`,
          stopped: `Live updates: off (${detail})`,
        }[state];
      },
      onReady() {
        // Events are not replayed: catch up on what a reconnect missed.
        if (reconnected) users.changed();
        reconnected = true;
        if (logs) activity.backfill();
      },
      onMessage(message) {
        const event = message.data ?? {};
        if (message.type === "user_change") {
          users.changed(Array.isArray(event.target_ids) ? event.target_ids : []);
        } else if (message.type === "audit") {
          activity.add(event);
          if (RELOAD_EVENTS.has(event.event) && event.outcome === "success") users.changed();
        }
      },
    });
    live.start();
  }
  onChange((current) => {
    if (!current) {
      live?.stop("signed out");
      refuseWithLink("You are signed out.", "/login?next=/admin", "Sign in");
    }
  });
}

main();
