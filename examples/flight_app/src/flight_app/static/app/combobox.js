// Airport autocomplete: the WAI-ARIA 1.2 combobox pattern ("list autocomplete
// with manual selection"). The input keeps focus; the options are a listbox it
// controls; the active option is named by aria-activedescendant; the number of
// suggestions is announced through a polite status region.
//
// Keys: ArrowDown / ArrowUp move through the suggestions (ArrowDown opens them),
// Enter picks the active one, Escape closes the list (a second Escape clears the
// field), Tab leaves as usual. Requests are debounced and a newer one cancels the
// older, so suggestions never arrive out of order.

const DEBOUNCE_MS = 200;
const MIN_CHARS = 2;
const LIMIT = 8;

function label(airport) {
  return `${airport.city || airport.name} (${airport.iata})`;
}

export class AirportCombobox {
  /** `input` is the [role=combobox]; `status` a shared role=status region. */
  constructor(input, status) {
    this.input = input;
    this.listbox = document.getElementById(input.getAttribute("aria-controls"));
    this.status = status;
    this.options = [];
    this.active = -1;
    this.timer = 0;
    this.controller = null;
    this.selected = null; // the airport picked, while the text still shows it
    input.addEventListener("input", () => this.#typed());
    input.addEventListener("keydown", (event) => this.#key(event));
    input.addEventListener("blur", () => setTimeout(() => this.close(), 120));
    this.listbox.addEventListener("mousedown", (event) => event.preventDefault());
    this.listbox.addEventListener("click", (event) => {
      const option = event.target.closest("[role='option']");
      if (option) this.pick(Number(option.dataset.index));
    });
    // Typed before this module ran (a slow load): suggest for it now.
    if (document.activeElement === input && input.value.trim().length >= MIN_CHARS) this.#typed();
  }

  /** The IATA code to search with: the picked airport's, or a typed code. */
  get code() {
    if (this.selected && this.input.value === label(this.selected)) return this.selected.iata;
    const typed = this.input.value.trim();
    const match = typed.match(/\(([A-Za-z]{3})\)\s*$/) ?? typed.match(/^([A-Za-z]{3})$/);
    return match ? match[1].toUpperCase() : typed;
  }

  set(airport) {
    this.selected = airport;
    this.input.value = airport ? label(airport) : "";
  }

  #typed() {
    this.selected = null;
    clearTimeout(this.timer);
    const query = this.input.value.trim();
    if (query.length < MIN_CHARS) {
      this.controller?.abort();
      this.close();
      return;
    }
    this.timer = setTimeout(() => this.#fetch(query), DEBOUNCE_MS);
  }

  async #fetch(query) {
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    let items;
    try {
      const response = await fetch(`/api/airports?q=${encodeURIComponent(query)}&limit=${LIMIT}`, {
        signal: controller.signal,
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(String(response.status));
      items = (await response.json()).items;
    } catch (error) {
      if (error?.name === "AbortError") return;
      this.close();
      this.status.textContent = "Airport suggestions are not available right now.";
      return;
    }
    if (controller !== this.controller || document.activeElement !== this.input) return;
    this.#render(items);
  }

  #render(items) {
    this.options = items;
    this.active = -1;
    this.input.removeAttribute("aria-activedescendant");
    const id = this.listbox.id;
    this.listbox.replaceChildren(
      ...items.map((airport, index) => {
        const option = document.createElement("li");
        option.id = `${id}-${index}`;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.dataset.index = String(index);
        const main = document.createElement("span");
        main.className = "option-main";
        main.textContent = label(airport);
        const detail = document.createElement("span");
        detail.className = "option-detail";
        detail.textContent = `${airport.name}, ${airport.country}`;
        option.append(main, " ", detail);
        return option;
      }),
    );
    if (items.length) {
      this.listbox.hidden = false;
      this.input.setAttribute("aria-expanded", "true");
      const count = items.length === 1 ? "1 airport" : `${items.length} airports`;
      this.status.textContent = `${count} found. Use the up and down arrow keys to choose.`;
    } else {
      this.close();
      this.status.textContent = "No airport matches.";
    }
  }

  #move(to) {
    if (!this.options.length) return;
    const count = this.options.length;
    this.active = (to + count) % count;
    for (const option of this.listbox.children) {
      const on = Number(option.dataset.index) === this.active;
      option.setAttribute("aria-selected", String(on));
      if (on) option.scrollIntoView({ block: "nearest" });
    }
    this.input.setAttribute("aria-activedescendant", `${this.listbox.id}-${this.active}`);
  }

  pick(index) {
    const airport = this.options[index];
    if (!airport) return;
    this.set(airport);
    this.close();
    this.status.textContent = `${label(airport)}, ${airport.name}, selected.`;
    this.input.dispatchEvent(new CustomEvent("airport-picked", { detail: airport, bubbles: true }));
  }

  close() {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.active = -1;
  }

  get open() {
    return !this.listbox.hidden;
  }

  #key(event) {
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        if (!this.open && this.options.length) {
          this.listbox.hidden = false;
          this.input.setAttribute("aria-expanded", "true");
        }
        this.#move(this.active + 1);
        break;
      case "ArrowUp":
        event.preventDefault();
        if (this.open) this.#move(this.active - 1);
        break;
      case "Enter":
        if (this.open && this.active >= 0) {
          event.preventDefault();
          this.pick(this.active);
        }
        break;
      case "Escape":
        if (this.open) {
          event.preventDefault();
          this.close();
        } else if (this.input.value) {
          event.preventDefault();
          this.set(null);
        }
        break;
      default:
        break;
    }
  }
}
