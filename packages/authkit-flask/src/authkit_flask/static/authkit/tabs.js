// ARIA tabs (WAI-ARIA Authoring Practices, "Tabs with automatic activation"):
// arrow keys move between tabs and show the panel at once, Home and End jump,
// only the selected tab is in the tab order.

/**
 * Wire a [role=tablist]. `onSelect(tabId)` runs after each change; `storageKey`
 * keeps the choice in localStorage; `initial` is the tab id to start with.
 * Returns `select(tabId)`.
 */
export function setupTabs(tablist, { onSelect, storageKey, initial } = {}) {
  const tabs = () => [...tablist.querySelectorAll("[role='tab']")].filter((tab) => !tab.hidden);

  function select(id, { focus = false, save = true } = {}) {
    const all = tabs();
    const chosen = all.find((tab) => tab.id === id) ?? all[0];
    for (const tab of all) {
      const on = tab === chosen;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(tab.getAttribute("aria-controls"));
      if (panel) panel.hidden = !on;
    }
    if (focus) chosen.focus();
    if (save && storageKey) {
      try {
        localStorage.setItem(storageKey, chosen.id);
      } catch {
        // storage disabled
      }
    }
    onSelect?.(chosen.id);
    return chosen.id;
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest("[role='tab']");
    if (tab && tablist.contains(tab)) select(tab.id);
  });
  tablist.addEventListener("keydown", (event) => {
    const all = tabs();
    const index = all.indexOf(document.activeElement);
    if (index < 0) return;
    const moves = {
      ArrowRight: index + 1,
      ArrowLeft: index - 1,
      Home: 0,
      End: all.length - 1,
    };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key] + all.length) % all.length;
    select(all[next].id, { focus: true });
  });

  let start = initial;
  if (storageKey) {
    try {
      start = localStorage.getItem(storageKey) || initial;
    } catch {
      // storage disabled
    }
  }
  select(start ?? tabs()[0]?.id, { save: false });
  return select;
}
