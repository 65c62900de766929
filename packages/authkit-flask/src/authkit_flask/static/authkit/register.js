// /register: every password-policy violation at once, next to the password field;
// then a sign-in with the same credentials.
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
import { api, enrolmentOnly, nextPath, ready, signIn } from "./session.js";

const form = document.getElementById("register-form");
const submit = document.getElementById("register-submit");
const home = document.body.dataset.authkitHome || "/";

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!checkRequired(form)) return;
  const body = {
    username: form.elements.username.value.trim(),
    email: form.elements.email.value.trim(),
    password: form.elements.password.value,
  };
  const result = await busy(submit, () => api("/auth/register", { method: "POST", body }));
  if (result.ok) {
    const signedIn = await signIn({ username: body.username, password: body.password });
    if (signedIn.ok) location.assign(enrolmentOnly() ? "/account" : nextPath(home));
    else if (signedIn.data?.code === "email_unverified") location.assign("/login?reason=check-email");
    else location.assign("/login");
    return;
  }
  const code = result.data?.code;
  if (code === "conflict") {
    showFieldErrors(form, "username", ["This username or email is already taken."]);
    showFieldErrors(form, "email", ["This username or email is already taken."]);
    showFormError(form, problemMessage(result));
    form.elements.username.focus();
  } else if (code === "too_many_attempts") {
    showFormError(form, problemMessage(result));
    holdButton(submit, retryAfter(result));
  } else {
    showProblem(form, result);
  }
});

ready.then((user) => {
  if (user) location.assign(nextPath(home));
});
