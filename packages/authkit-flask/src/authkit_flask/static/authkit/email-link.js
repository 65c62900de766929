// /verify-email#token=... and /confirm-email#token=...: one button that spends the
// link's token. The endpoint and the kind of link come from the button's data.
import { busy, holdButton, problemMessage, retryAfter } from "./forms.js";
import { BAD_LINK, NO_TOKEN, showLinkProblem, takeToken } from "./link-token.js";
import { api, currentUser, refresh } from "./session.js";

const button = document.getElementById("link-submit");
const actions = document.getElementById("link-actions");
const intro = document.getElementById("link-intro");
const done = document.getElementById("link-done");
const { endpoint, kind } = button.dataset;
const token = takeToken();

const DONE = {
  verify: (user) => `Thank you: ${user.email} is verified.`,
  change: (user) => `Done: your account's email address is now ${user.email}.`,
};

function fail(message) {
  actions.hidden = true;
  intro.hidden = true;
  showLinkProblem(message);
}

if (!token) {
  fail(NO_TOKEN);
} else {
  actions.hidden = false;
  button.focus();
}

button.addEventListener("click", async () => {
  const result = await busy(button, () => api(endpoint, { method: "POST", body: { token } }));
  const code = result.data?.code;
  if (result.ok) {
    actions.hidden = true;
    intro.hidden = true;
    done.textContent = DONE[kind](result.data);
    done.hidden = false;
    // A signed-in page elsewhere shows the old address: refresh the session's user.
    if (currentUser()) await refresh();
  } else if (code === "invalid_token") {
    fail(BAD_LINK[kind]);
  } else if (code === "conflict") {
    fail("That address is now used by another account, so it cannot be yours as well.");
  } else if (code === "too_many_attempts") {
    showLinkProblem(problemMessage(result));
    holdButton(button, retryAfter(result));
  } else {
    showLinkProblem(problemMessage(result));
  }
});
