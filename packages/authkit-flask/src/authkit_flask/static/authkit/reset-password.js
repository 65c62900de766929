// /reset-password#token=...: a new password for the account the mail was sent to.
// Every weak_password rule broken is listed under the field at once.
import {
  busy,
  checkRequired,
  clearErrors,
  holdButton,
  problemMessage,
  retryAfter,
  showFieldErrors,
  showFormError,
  showProblem,
} from "./forms.js";
import { BAD_LINK, NO_TOKEN, showLinkProblem, takeToken } from "./link-token.js";
import { api, currentUser, signOut } from "./session.js";

const form = document.getElementById("reset-form");
const submit = document.getElementById("reset-submit");
const done = document.getElementById("reset-done");
const token = takeToken();

if (!token) {
  showLinkProblem(NO_TOKEN);
} else {
  form.hidden = false;
  form.elements.new_password.focus();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!checkRequired(form)) return;
  const fields = form.elements;
  if (fields.new_password.value !== fields.confirm_password.value) {
    showFieldErrors(form, "confirm_password", ["The two passwords differ."]);
    showFormError(form, "Correct the highlighted fields.");
    fields.confirm_password.focus();
    return;
  }
  const response = await busy(submit, () =>
    api("/auth/password/reset", {
      method: "POST",
      body: { token, new_password: fields.new_password.value },
    }),
  );
  const code = response.data?.code;
  if (response.ok) {
    form.reset();
    form.hidden = true;
    done.hidden = false;
    // Every session of the account was revoked; if this browser had one, drop it.
    if (currentUser()) await signOut();
    done.querySelector("a")?.focus();
  } else if (code === "invalid_token") {
    form.hidden = true;
    showLinkProblem(BAD_LINK.reset);
  } else if (code === "too_many_attempts") {
    showFormError(form, problemMessage(response));
    holdButton(submit, retryAfter(response));
  } else {
    showProblem(form, response, { passwordField: "new_password" });
  }
});
