// Applies the saved colour theme before the first paint. A classic, blocking
// script loaded in <head> before the stylesheet: it must run before anything is
// drawn, which a module (deferred) or an inline script (refused by the CSP) cannot.
(function () {
  var theme = "system";
  try {
    theme = window.localStorage.getItem("authkit.theme") || "system";
  } catch (e) {
    // storage disabled: follow the system
  }
  if (theme !== "light" && theme !== "dark") theme = "system";
  document.documentElement.setAttribute("data-theme", theme);
})();
