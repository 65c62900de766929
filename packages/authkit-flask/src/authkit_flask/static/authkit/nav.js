// Every page's header: the theme switch, and the links that depend on who is
// signed in (elements marked data-auth="anon" | "user" | "admin").
import { currentUser, onChange, ready, signOut } from "./session.js";
import { wireThemeSelects } from "./theme.js";

function show(user) {
  const isAdmin = Boolean(user?.roles?.includes("admin"));
  for (const element of document.querySelectorAll("[data-auth]")) {
    const when = element.dataset.auth;
    element.hidden = when === "anon" ? Boolean(user) : when === "admin" ? !isAdmin : !user;
  }
  for (const element of document.querySelectorAll("[data-auth-username]")) {
    element.textContent = user ? user.username : "";
  }
}

wireThemeSelects();
for (const button of document.querySelectorAll("[data-action='sign-out']")) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await signOut();
    } finally {
      location.assign(document.body.dataset.authkitHome || "/");
    }
  });
}
onChange(show);
ready.then(() => show(currentUser()));
