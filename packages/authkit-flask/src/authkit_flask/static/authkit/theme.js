// The light / dark / system switch. The choice is kept in localStorage (it is no
// secret) and applied as <html data-theme="...">; theme-init.js applies it again
// on the next page before the first paint. "system" follows prefers-color-scheme
// through the stylesheet's media query, live.

export const THEME_KEY = "authkit.theme";
const THEMES = ["light", "dark", "system"];

export function savedTheme() {
  try {
    const value = localStorage.getItem(THEME_KEY);
    return THEMES.includes(value) ? value : "system";
  } catch {
    return "system";
  }
}

export function applyTheme(theme) {
  const value = THEMES.includes(theme) ? theme : "system";
  document.documentElement.setAttribute("data-theme", value);
  try {
    if (value === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, value);
  } catch {
    // storage disabled: the choice lasts for this page only
  }
  for (const select of document.querySelectorAll("[data-theme-select]")) select.value = value;
}

export function wireThemeSelects(root = document) {
  for (const select of root.querySelectorAll("[data-theme-select]")) {
    select.value = savedTheme();
    select.addEventListener("change", () => applyTheme(select.value));
  }
  // Another tab changed it.
  addEventListener("storage", (event) => {
    if (event.key === THEME_KEY || event.key === null) applyTheme(savedTheme());
  });
}
