// The admin console's user table: search and filters, server-side pages (only
// one page is ever fetched, so 100,000 users cost what 100 do), row selection
// with bulk activate / deactivate, and a per-row edit dialog.
import { clearErrors, problemMessage, showFormError, showProblem } from "./forms.js";
import { dateTime, debounce, element, plural } from "./format.js";
import { api } from "./session.js";

const $ = (id) => document.getElementById(id);

function conflictMessage(result) {
  if (result.data?.reason === "last_admin") {
    return "That would leave no active admin, so nothing was changed.";
  }
  return problemMessage(result);
}

export class UsersPanel {
  constructor({ onError } = {}) {
    this.onError = onError ?? (() => {});
    this.query = { q: "", is_active: "", role: "", page: 1, page_size: 20 };
    this.items = [];
    this.meta = null;
    this.selected = new Map(); // id -> username, kept across pages until cleared
    this.sequence = 0;
    this.controller = null;
    this.rendered = false;
    this.editing = null;
    this.highlight = new Set();
    this.reloadSoon = debounce(() => this.load(), 250);
    this.#wire();
  }

  #wire() {
    const filters = $("user-filters");
    const refilter = () => {
      this.query.q = filters.elements.q.value.trim();
      this.query.is_active = filters.elements.is_active.value;
      this.query.role = filters.elements.role.value.trim().toLowerCase();
      this.query.page_size = Number(filters.elements.page_size.value) || 20;
      this.query.page = 1;
      this.load();
    };
    const typed = debounce(refilter, 300);
    filters.elements.q.addEventListener("input", typed);
    filters.elements.role.addEventListener("input", typed);
    filters.elements.is_active.addEventListener("change", refilter);
    filters.elements.page_size.addEventListener("change", refilter);
    filters.addEventListener("submit", (event) => {
      event.preventDefault();
      refilter();
    });

    const go = (page) => {
      this.query.page = page;
      this.load();
    };
    $("page-first").addEventListener("click", () => go(1));
    $("page-prev").addEventListener("click", () => go(Math.max(1, this.query.page - 1)));
    $("page-next").addEventListener("click", () => go(this.query.page + 1));
    $("page-last").addEventListener("click", () => go(Math.max(1, this.meta?.pages ?? 1)));

    $("select-page").addEventListener("change", (event) => {
      for (const user of this.items) {
        if (event.target.checked) this.selected.set(user.id, user.username);
        else this.selected.delete(user.id);
      }
      this.#renderRows();
      this.#renderSelection();
    });
    $("users-body").addEventListener("change", (event) => {
      const box = event.target.closest("input[data-select]");
      if (!box) return;
      if (box.checked) this.selected.set(box.value, box.dataset.username);
      else this.selected.delete(box.value);
      this.#renderSelection();
    });
    $("users-body").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-edit]");
      if (button) this.#openEdit(button.dataset.edit);
    });
    $("selection-clear").addEventListener("click", () => {
      this.selected.clear();
      this.#renderRows();
      this.#renderSelection();
    });
    $("bulk-activate").addEventListener("click", () => this.#bulk("activate"));
    $("bulk-deactivate").addEventListener("click", () => this.#bulk("deactivate"));

    $("edit-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.#saveEdit();
    });
    $("edit-cancel").addEventListener("click", () => $("edit-dialog").close());
    $("edit-dialog").addEventListener("close", () => {
      const id = this.editing?.user.id;
      this.editing = null;
      if (id) this.#focusRow(id, "edit");
    });
  }

  #url() {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(this.query)) {
      if (value !== "" && value !== null && value !== undefined) params.set(key, String(value));
    }
    return `/auth/users?${params}`;
  }

  /** Fetch the current page; a newer call makes the older answer irrelevant. */
  async load() {
    const sequence = ++this.sequence;
    this.controller?.abort();
    this.controller = new AbortController();
    $("users-table").setAttribute("aria-busy", "true");
    let result;
    try {
      result = await api(this.#url(), { signal: this.controller.signal });
    } catch {
      return; // aborted by a newer load
    }
    if (sequence !== this.sequence) return;
    $("users-table").removeAttribute("aria-busy");
    if (!result.ok) {
      if (result.status === 422) this.#status("Those filters are not valid.");
      else this.onError(result);
      return;
    }
    this.items = result.data.items;
    this.meta = result.data.meta;
    if (this.meta.pages > 0 && this.query.page > this.meta.pages) {
      this.query.page = this.meta.pages;
      this.load();
      return;
    }
    this.#renderRows();
    this.#renderPager();
    this.#renderSelection();
    if (!this.rendered) {
      this.rendered = true;
      performance.mark("authkit:users-first-render");
    }
  }

  /** Reload soon, e.g. after a live event; `ids` are flagged as just changed. */
  changed(ids = []) {
    for (const id of ids) this.highlight.add(id);
    this.reloadSoon();
  }

  #status(message) {
    $("users-status").textContent = message;
  }

  #renderRows() {
    const body = $("users-body");
    // A live update re-renders the rows: keep the keyboard focus where it was.
    const active = document.activeElement;
    const focusedRow = body.contains(active) ? active.closest("tr")?.dataset.userId : null;
    const focusedKind = active?.matches?.("[data-edit]") ? "edit" : "select";
    if (this.items.length === 0) {
      const cell = element("td", { text: "No users match.", attrs: { colspan: "9" } });
      body.replaceChildren(element("tr", { className: "empty" }, [cell]));
    } else {
      body.replaceChildren(...this.items.map((user) => this.#row(user)));
    }
    if (focusedRow) this.#focusRow(focusedRow, focusedKind);
    const onPage = this.items.filter((user) => this.selected.has(user.id)).length;
    const all = $("select-page");
    all.checked = onPage > 0 && onPage === this.items.length;
    all.indeterminate = onPage > 0 && onPage < this.items.length;
    all.disabled = this.items.length === 0;
    if (this.highlight.size) {
      const flagged = new Set(this.highlight);
      this.highlight.clear();
      setTimeout(() => {
        for (const row of body.querySelectorAll("tr.changed")) {
          if (flagged.has(row.dataset.userId)) row.classList.remove("changed");
        }
      }, 2500);
    }
  }

  #focusRow(id, kind) {
    const selector = kind === "edit" ? "[data-edit]" : "[data-select]";
    const row = [...$("users-body").rows].find((tr) => tr.dataset.userId === id);
    row?.querySelector(selector)?.focus();
  }

  #row(user) {
    const box = element("input", {
      attrs: {
        type: "checkbox",
        value: user.id,
        "data-select": "",
        "data-username": user.username,
        "aria-label": `Select ${user.username}`,
      },
    });
    box.checked = this.selected.has(user.id);
    const roles = user.roles.map((role) => element("span", { className: "badge", text: role }));
    const status = element("span", {
      className: `badge ${user.is_active ? "ok" : "off"}`,
      text: user.is_active ? "Active" : "Inactive",
    });
    const edit = element(
      "button",
      { className: "small", attrs: { type: "button", "data-edit": user.id } },
      ["Edit", element("span", { className: "visually-hidden", text: ` ${user.username}` })],
    );
    const row = element("tr", { attrs: { "data-user-id": user.id } }, [
      element("td", { className: "select-col" }, [box]),
      element("th", { text: user.username, attrs: { scope: "row" } }),
      element("td", { text: user.email }),
      element("td", {}, roles.length ? roles : ["—"]),
      element("td", {}, [status]),
      element("td", { text: user.mfa_enabled ? "On" : "Off" }),
      element("td", { className: "nowrap", text: dateTime(user.created_at) }),
      element("td", { className: "nowrap", text: dateTime(user.last_login_at) }),
      element("td", {}, [edit]),
    ]);
    if (this.highlight.has(user.id)) row.classList.add("changed");
    return row;
  }

  #renderPager() {
    const { page, pages, total } = this.meta;
    // Over 10,000 matches PostgreSQL's total is an estimate (meta.total_exact false).
    const about = this.meta.total_exact === false ? "about " : "";
    $("page-info").textContent =
      pages > 0
        ? `Page ${page.toLocaleString()} of ${about}${pages.toLocaleString()} · ${about}${plural(total, "user")}`
        : "No users";
    $("users-caption").textContent = `Users (${about}${plural(total, "match", "matches")})`;
    $("page-first").disabled = page <= 1;
    $("page-prev").disabled = page <= 1;
    $("page-next").disabled = page >= pages;
    $("page-last").disabled = page >= pages;
  }

  #renderSelection() {
    const count = this.selected.size;
    $("selection-count").textContent = count ? `${plural(count, "user")} selected` : "No users selected";
    $("bulk-activate").disabled = count === 0;
    $("bulk-deactivate").disabled = count === 0;
    $("selection-clear").disabled = count === 0;
  }

  async #bulk(action) {
    const ids = [...this.selected.keys()];
    if (!ids.length) return;
    const buttons = [$("bulk-activate"), $("bulk-deactivate")];
    for (const button of buttons) button.disabled = true;
    const result = await api("/auth/users/bulk", { method: "POST", body: { action, ids } });
    if (result.ok) {
      const { updated, unchanged, not_found: missing } = result.data;
      const verb = action === "activate" ? "Activated" : "Deactivated";
      const parts = [`${verb} ${plural(updated.length, "user")}.`];
      if (unchanged.length) parts.push(`${plural(unchanged.length, "user")} already ${action}d.`);
      if (missing.length) parts.push(`${plural(missing.length, "user")} no longer exist.`);
      this.#status(parts.join(" "));
      this.selected.clear();
      for (const id of updated) this.highlight.add(id);
      await this.load();
    } else {
      this.#status(result.status === 409 ? conflictMessage(result) : problemMessage(result));
      this.#renderSelection();
    }
  }

  #openEdit(id) {
    const user = this.items.find((item) => item.id === id);
    if (!user) return;
    const form = $("edit-form");
    clearErrors(form);
    this.editing = { user };
    $("edit-title").textContent = `Edit ${user.username}`;
    form.elements.is_active.checked = user.is_active;
    form.elements.roles.value = user.roles.join(", ");
    $("edit-dialog").showModal();
  }

  async #saveEdit() {
    const form = $("edit-form");
    const user = this.editing?.user;
    if (!user) return;
    clearErrors(form);
    const roles = form.elements.roles.value
      .split(",")
      .map((role) => role.trim().toLowerCase())
      .filter(Boolean);
    const body = { is_active: form.elements.is_active.checked, roles };
    const result = await api(`/auth/users/${encodeURIComponent(user.id)}`, { method: "PATCH", body });
    if (result.ok) {
      $("edit-dialog").close();
      this.#status(`Saved ${result.data.username}.`);
      this.highlight.add(user.id);
      await this.load();
      this.#focusRow(user.id, "edit");
    } else if (result.status === 409) {
      showFormError(form, conflictMessage(result));
    } else {
      showProblem(form, result);
    }
  }
}
