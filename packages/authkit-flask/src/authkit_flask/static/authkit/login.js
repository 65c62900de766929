// /login: username (or email) and password, then a code when the account has TOTP.
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

const form = document.getElementById("login-form");
const submit = document.getElementById("login-submit");
const credentials = document.getElementById("credentials");
const mfaStep = document.getElementById("mfa-step");
const otpEntry = document.getElementById("otp-entry");
const recoveryEntry = document.getElementById("recovery-entry");
const toggleRecovery = document.getElementById("toggle-recovery");
const notice = document.getElementById("login-notice");
const home = document.body.dataset.authkitHome || "/";

const NOTICES = {
  "mfa-enabled": "Two-factor authentication is on. Sign in again with a code from your app.",
  "session-ended": "Your session has ended. Sign in again.",
  "password-reset": "Your password was changed. Sign in with the new one.",
  "account-deleted": "Your account was deleted. Goodbye!",
  "check-email":
    "Your account was created. Open the link we sent to your email address to verify it, then sign in.",
};

// The same words whether or not an account uses the address: the answer must not
// tell anyone which addresses have accounts.
const FORGOT_SENT =
  "If an account uses this address, a link to choose a new password is on its way. " +
  "It works once and expires soon; check your spam folder if it does not arrive.";

function say(message) {
  notice.textContent = message;
  notice.hidden = !message;
}

function usingRecovery() {
  return !recoveryEntry.hidden;
}

function showMfaStep() {
  credentials.hidden = true;
  mfaStep.hidden = false;
  say("This account uses two-factor authentication.");
  (usingRecovery() ? form.elements.recovery_code : form.elements.otp).focus();
}

function proceed() {
  location.assign(enrolmentOnly() ? "/account" : nextPath(home));
}

toggleRecovery.addEventListener("click", () => {
  const recovery = !usingRecovery();
  recoveryEntry.hidden = !recovery;
  otpEntry.hidden = recovery;
  toggleRecovery.textContent = recovery
    ? "Use a code from your authenticator app instead"
    : "Use a recovery code instead";
  (recovery ? form.elements.recovery_code : form.elements.otp).focus();
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!checkRequired(form)) return;
  const body = { username: form.elements.username.value.trim(), password: form.elements.password.value };
  if (!mfaStep.hidden) {
    if (usingRecovery()) body.recovery_code = form.elements.recovery_code.value.trim();
    else body.otp = form.elements.otp.value.replace(/\s+/g, "");
  }
  const result = await busy(submit, () => signIn(body));
  if (result.ok) {
    proceed();
    return;
  }
  const code = result.data?.code;
  if (code === "mfa_required") {
    showMfaStep();
  } else if (code === "invalid_otp") {
    const field = usingRecovery() ? "recovery_code" : "otp";
    showFieldErrors(form, field, [problemMessage(result)]);
    showFormError(form, "The code was not accepted.");
    form.elements[field].select();
    form.elements[field].focus();
  } else if (code === "too_many_attempts") {
    const seconds = retryAfter(result);
    showFormError(form, problemMessage(result));
    holdButton(submit, seconds);
  } else if (code === "invalid_credentials" && !mfaStep.hidden) {
    // The password was refused after all (changed meanwhile): start over.
    mfaStep.hidden = true;
    credentials.hidden = false;
    say("");
    showProblem(form, result);
  } else {
    showProblem(form, result);
  }
});

const forgotToggle = document.getElementById("forgot-toggle");
const forgotSection = document.getElementById("forgot-section");
const forgotForm = document.getElementById("forgot-form");
const forgotSubmit = document.getElementById("forgot-submit");
const forgotDone = document.getElementById("forgot-done");

function showForgot(open) {
  forgotSection.hidden = !open;
  forgotToggle.setAttribute("aria-expanded", String(open));
  if (!open) return;
  const typed = form.elements.username.value.trim();
  if (typed.includes("@") && !forgotForm.elements.email.value) forgotForm.elements.email.value = typed;
  forgotForm.elements.email.focus();
}

forgotToggle.addEventListener("click", () => showForgot(forgotSection.hidden));

forgotForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(forgotForm);
  forgotDone.hidden = true;
  if (!checkRequired(forgotForm)) return;
  const email = forgotForm.elements.email.value.trim();
  const result = await busy(forgotSubmit, () =>
    api("/auth/password/forgot", { method: "POST", body: { email } }),
  );
  if (result.ok) {
    forgotDone.textContent = FORGOT_SENT;
    forgotDone.hidden = false;
  } else if (result.data?.code === "too_many_attempts") {
    showFormError(forgotForm, problemMessage(result));
    holdButton(forgotSubmit, retryAfter(result));
  } else {
    showProblem(forgotForm, result);
  }
});

if (location.hash === "#forgot") showForgot(true);

const reason = new URLSearchParams(location.search).get("reason");
if (reason && NOTICES[reason]) say(NOTICES[reason]);
ready.then((user) => {
  if (user) proceed();
});
