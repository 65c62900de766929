// The single-use token of an emailed link (/reset-password#token=..., and so on).
//
// It travels in the URL fragment, which browsers never send to the server: not in
// access logs, not to proxies, not in a Referer. Taking it also removes it from
// the address bar and this history entry, so it is not left behind on the screen
// or in the history; a reload then asks for the mail's link again (still unused).

const TOKEN = /^[A-Za-z0-9._~-]{8,1024}$/;

/** The link's token, or null if the fragment has none (or something else). */
export function takeToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token && TOKEN.test(token) ? token : null;
}

export const NO_TOKEN =
  "This page needs the link from your email. Open the link in the message again " +
  "(copy all of it if your mail program split it).";

export const BAD_LINK = {
  reset:
    "This link is invalid, has expired, or was already used. Ask for a new one with " +
    "“Forgot password?” on the sign-in page.",
  verify:
    "This link is invalid, has expired, or was already used (or the account's email " +
    "changed since). Ask for a new one on your account page.",
  change:
    "This link is invalid, has expired, or was already used. Start the change again " +
    "on your account page.",
};

// Another emailed link opened in this tab changes only the fragment, which loads
// no new page: start over with it.
addEventListener("hashchange", () => {
  if (new URLSearchParams(location.hash.slice(1)).has("token")) location.reload();
});

/** Show `message` in the page's `#link-problem` alert. */
export function showLinkProblem(message) {
  const alert = document.getElementById("link-problem");
  alert.textContent = message;
  alert.hidden = false;
}
