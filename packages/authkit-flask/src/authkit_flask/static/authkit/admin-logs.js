// The admin console's log viewer: the audit (auth) or system log from
// /admin/logs, oldest first, and "follow" mode, which re-reads the tail every
// two seconds and keeps the newest line in view.
import { problemMessage } from "./forms.js";
import { dateTime, element, plural } from "./format.js";
import { api } from "./session.js";

const $ = (id) => document.getElementById(id);
const FOLLOW_MS = 2000;
const ENVELOPE = new Set(["ts", "event", "outcome", "level", "logger", "message"]);

function details(item) {
  if (item.parse_error) return String(item.raw ?? "");
  const rest = Object.entries(item).filter(([key]) => !ENVELOPE.has(key));
  return rest.map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`).join("  ");
}

export class LogsPanel {
  constructor() {
    this.form = $("log-controls");
    this.timer = 0;
    this.visible = false;
    this.sequence = 0;
    this.form.addEventListener("change", () => this.#changed());
    this.form.addEventListener("submit", (event) => event.preventDefault());
    $("log-refresh").addEventListener("click", () => this.load());
    document.addEventListener("visibilitychange", () => this.#schedule());
  }

  get source() {
    return this.form.elements.source.value || "auth";
  }

  get following() {
    return this.form.elements.follow.checked;
  }

  show(visible) {
    this.visible = visible;
    if (visible) this.load();
    else this.#schedule();
  }

  #changed() {
    $("log-caption").textContent = this.source === "auth" ? "Audit log" : "System log";
    this.load();
  }

  #schedule() {
    clearTimeout(this.timer);
    if (this.visible && this.following && !document.hidden) {
      this.timer = setTimeout(() => this.load(), FOLLOW_MS);
    }
  }

  async load() {
    clearTimeout(this.timer);
    const sequence = ++this.sequence;
    const limit = this.form.elements.limit.value;
    const result = await api(`/admin/logs?source=${encodeURIComponent(this.source)}&limit=${limit}`);
    if (sequence !== this.sequence) return;
    if (!result.ok) {
      $("log-status").textContent = problemMessage(result);
      this.#schedule();
      return;
    }
    this.#render(result.data.items);
    const when = new Date().toLocaleTimeString();
    const mode = this.following ? " Following." : "";
    $("log-status").textContent = `${plural(result.data.meta.returned, "line")}, read at ${when}.${mode}`;
    this.#schedule();
  }

  #render(items) {
    const wrap = $("log-wrap");
    const atBottom = wrap.scrollTop + wrap.clientHeight >= wrap.scrollHeight - 8;
    const rows = items.map((item) => {
      const what = item.parse_error ? "unreadable line" : (item.event ?? item.message ?? "");
      const how = item.outcome ?? item.level ?? (item.logger ? "" : "");
      const row = element("tr", {}, [
        element("td", { className: "nowrap", text: dateTime(item.ts, { seconds: true }) }),
        element("td", { text: what }),
        element("td", { text: [how, item.logger].filter(Boolean).join(" · ") }),
        element("td", { className: "details", text: details(item) }),
      ]);
      if (item.outcome && item.outcome !== "success") row.classList.add("warn");
      if (item.level === "ERROR" || item.level === "CRITICAL" || item.parse_error) row.classList.add("bad");
      return row;
    });
    if (!rows.length) {
      rows.push(element("tr", { className: "empty" }, [element("td", { text: "The log is empty.", attrs: { colspan: "4" } })]));
    }
    $("log-body").replaceChildren(...rows);
    if (this.following || atBottom) wrap.scrollTop = wrap.scrollHeight;
  }
}
