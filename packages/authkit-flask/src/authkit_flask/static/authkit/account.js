// /account: the profile, a password change, the email address (a new verification
// link, a change confirmed from the new address), TOTP enrolment (QR code drawn on
// the server as SVG, the secret as text, recovery codes shown once) or removal,
// and deleting the account.
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
import { api, enrolmentOnly, requireUser, signOut } from "./session.js";

const $ = (id) => document.getElementById(id);
const account = $("account");
const passwordForm = $("password-form");
const setupForm = $("setup-form");
const enableForm = $("enable-form");
const disableForm = $("disable-form");
const emailForm = $("email-form");
const verifyRequestForm = $("verify-request-form");
const deleteForm = $("delete-form");
const panels = { off: $("mfa-off"), enrol: $("mfa-enrol"), codes: $("mfa-codes"), on: $("mfa-on") };

function showPanel(name) {
  for (const [key, panel] of Object.entries(panels)) panel.hidden = key !== name;
}

function flash(element, message) {
  element.textContent = message;
  element.hidden = !message;
}

function formatDate(value) {
  return value ? new Date(value).toLocaleDateString(undefined, { dateStyle: "long" }) : "—";
}

function showUser(user) {
  const values = {
    username: user.username,
    email: user.email,
    roles: user.roles.join(", ") || "—",
    created_at: formatDate(user.created_at),
    mfa_enabled: user.mfa_enabled ? "On" : "Off",
    email_verified: user.email_verified ? "Yes" : "Not yet",
  };
  for (const element of document.querySelectorAll("[data-user]")) {
    element.textContent = values[element.dataset.user] ?? "";
  }
  for (const input of document.querySelectorAll("[data-user-value]")) {
    input.value = user[input.dataset.userValue] ?? "";
  }
  showPanel(user.mfa_enabled ? "on" : "off");
  $("verify-request").hidden = Boolean(user.email_verified);
}

async function load() {
  const result = await api("/auth/me");
  account.removeAttribute("aria-busy");
  if (!result.ok) {
    flash($("mfa-done"), problemMessage(result));
    return;
  }
  showUser(result.data);
}

function handleThrottle(form, button, result) {
  showFormError(form, problemMessage(result));
  holdButton(button, retryAfter(result));
}

passwordForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(passwordForm);
  flash($("password-done"), "");
  if (!checkRequired(passwordForm)) return;
  const fields = passwordForm.elements;
  if (fields.new_password.value !== fields.confirm_password.value) {
    showFieldErrors(passwordForm, "confirm_password", ["The two new passwords differ."]);
    showFormError(passwordForm, "Correct the highlighted fields.");
    fields.confirm_password.focus();
    return;
  }
  const button = $("password-submit");
  const result = await busy(button, () =>
    api("/auth/password", {
      method: "POST",
      body: { current_password: fields.current_password.value, new_password: fields.new_password.value },
    }),
  );
  if (result.ok) {
    passwordForm.reset();
    flash($("password-done"), "Password changed. Your other sign-ins have been signed out.");
  } else if (result.data?.code === "invalid_credentials") {
    showFieldErrors(passwordForm, "current_password", ["The current password is incorrect."]);
    showFormError(passwordForm, "Correct the highlighted fields.");
    fields.current_password.focus();
  } else if (result.data?.code === "too_many_attempts") {
    handleThrottle(passwordForm, button, result);
  } else {
    showProblem(passwordForm, result, { passwordField: "new_password" });
  }
});

verifyRequestForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(verifyRequestForm);
  flash($("email-done"), "");
  const button = $("verify-request-submit");
  const result = await busy(button, () => api("/auth/email/verify/request", { method: "POST" }));
  if (result.ok) {
    flash($("email-done"), "A new verification link is on its way to your email address.");
  } else if (result.data?.code === "too_many_attempts") {
    handleThrottle(verifyRequestForm, button, result);
  } else {
    showProblem(verifyRequestForm, result);
  }
});

emailForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(emailForm);
  flash($("email-done"), "");
  if (!checkRequired(emailForm)) return;
  const fields = emailForm.elements;
  const newEmail = fields.new_email.value.trim();
  const button = $("email-submit");
  const result = await busy(button, () =>
    api("/auth/email/change", {
      method: "POST",
      body: { password: fields.password.value, new_email: newEmail },
    }),
  );
  const code = result.data?.code;
  if (result.ok) {
    emailForm.reset();
    flash(
      $("email-done"),
      `We sent a confirmation link to ${newEmail}. Your email changes once you open it.`,
    );
  } else if (code === "invalid_credentials") {
    showFieldErrors(emailForm, "password", ["The password is incorrect."]);
    showFormError(emailForm, "Correct the highlighted fields.");
    fields.password.focus();
  } else if (code === "conflict") {
    showFieldErrors(emailForm, "new_email", ["This email address is already in use."]);
    showFormError(emailForm, "Correct the highlighted fields.");
    fields.new_email.focus();
  } else if (code === "too_many_attempts") {
    handleThrottle(emailForm, button, result);
  } else {
    showProblem(emailForm, result);
  }
});

deleteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(deleteForm);
  if (!checkRequired(deleteForm)) return;
  const fields = deleteForm.elements;
  if (fields.confirm.value.trim() !== "DELETE") {
    showFieldErrors(deleteForm, "confirm", ["Type DELETE, in capitals, to confirm."]);
    showFormError(deleteForm, "Correct the highlighted fields.");
    fields.confirm.focus();
    return;
  }
  const button = $("delete-submit");
  const result = await busy(button, () =>
    api("/auth/me", { method: "DELETE", body: { password: fields.password.value } }),
  );
  const code = result.data?.code;
  if (result.ok) {
    deleteForm.reset();
    await signOut();
    location.assign("/login?reason=account-deleted");
  } else if (code === "invalid_credentials") {
    showFieldErrors(deleteForm, "password", ["The password is incorrect."]);
    showFormError(deleteForm, "Correct the highlighted fields.");
    fields.password.focus();
  } else if (code === "too_many_attempts") {
    handleThrottle(deleteForm, button, result);
  } else {
    showProblem(deleteForm, result);
  }
});

function groupSecret(secret) {
  return secret.replace(/(.{4})/g, "$1 ").trim();
}

setupForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(setupForm);
  if (!checkRequired(setupForm)) return;
  const button = $("setup-submit");
  // Re-authentication: the password goes with the request (the API may require it).
  const password = setupForm.elements.password.value;
  const result = await busy(button, () =>
    api("/auth/mfa/totp/setup", { method: "POST", body: { password } }),
  );
  if (!result.ok) {
    if (result.data?.code === "invalid_credentials") {
      showFieldErrors(setupForm, "password", ["The password is incorrect."]);
      showFormError(setupForm, "Correct the highlighted fields.");
      setupForm.elements.password.focus();
    } else if (result.data?.code === "conflict") {
      await load();
    } else if (result.data?.code === "too_many_attempts") {
      handleThrottle(setupForm, button, result);
    } else {
      showProblem(setupForm, result);
    }
    return;
  }
  setupForm.reset();
  const { secret, otpauth_uri: uri } = result.data;
  $("totp-secret").textContent = groupSecret(secret);
  const qr = await api("/auth/browser/totp-qr", { method: "POST", body: { otpauth_uri: uri } });
  const image = $("totp-qr");
  if (qr.ok) {
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(qr.data.svg)}`;
    image.hidden = false;
  } else {
    image.hidden = true;
  }
  showPanel("enrol");
  enableForm.elements.otp.focus();
});

$("enable-cancel").addEventListener("click", () => {
  clearErrors(enableForm);
  enableForm.reset();
  $("totp-secret").textContent = "";
  showPanel("off");
});

enableForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(enableForm);
  if (!checkRequired(enableForm)) return;
  const button = $("enable-submit");
  const otp = enableForm.elements.otp.value.replace(/\s+/g, "");
  const result = await busy(button, () =>
    api("/auth/mfa/totp/enable", { method: "POST", body: { otp } }),
  );
  if (!result.ok) {
    if (result.data?.code === "invalid_otp") {
      showFieldErrors(enableForm, "otp", [problemMessage(result)]);
      showFormError(enableForm, "The code was not accepted.");
      enableForm.elements.otp.select();
    } else if (result.data?.code === "too_many_attempts") {
      handleThrottle(enableForm, button, result);
    } else {
      showProblem(enableForm, result);
    }
    return;
  }
  enableForm.reset();
  $("totp-secret").textContent = "";
  $("totp-qr").removeAttribute("src");
  const codes = result.data.recovery_codes;
  const list = $("recovery-codes");
  list.replaceChildren(
    ...codes.map((code) => {
      const item = document.createElement("li");
      const text = document.createElement("code");
      text.textContent = code;
      item.append(text);
      return item;
    }),
  );
  $("codes-download").href = `data:text/plain;charset=utf-8,${encodeURIComponent(codes.join("\n") + "\n")}`;
  document.querySelector("[data-user='mfa_enabled']").textContent = "On";
  showPanel("codes");
  flash($("mfa-done"), "Two-factor authentication is on.");
  $("codes-heading").setAttribute("tabindex", "-1");
  $("codes-heading").focus();
});

$("codes-saved").addEventListener("click", async () => {
  // A session that began without a code ends once the account has a second
  // factor: sign in again, with one.
  $("recovery-codes").replaceChildren();
  await signOut();
  location.assign(`/login?reason=mfa-enabled&next=${encodeURIComponent("/account")}`);
});

disableForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors(disableForm);
  const otp = disableForm.elements.otp.value.replace(/\s+/g, "");
  const recovery = disableForm.elements.recovery_code.value.trim();
  if (!otp && !recovery) {
    showFieldErrors(disableForm, "otp", ["Enter a code from your app, or a recovery code."]);
    showFormError(disableForm, "Fill in the highlighted fields.");
    disableForm.elements.otp.focus();
    return;
  }
  const button = $("disable-submit");
  const body = recovery ? { recovery_code: recovery } : { otp };
  const result = await busy(button, () =>
    api("/auth/mfa/totp/disable", { method: "POST", body }),
  );
  if (result.ok) {
    disableForm.reset();
    flash($("mfa-done"), "Two-factor authentication is off.");
    await load();
  } else if (result.data?.code === "invalid_otp") {
    showFieldErrors(disableForm, recovery ? "recovery_code" : "otp", [problemMessage(result)]);
    showFormError(disableForm, "The code was not accepted.");
  } else if (result.data?.code === "too_many_attempts") {
    handleThrottle(disableForm, button, result);
  } else {
    showProblem(disableForm, result);
  }
});

requireUser().then((user) => {
  if (!user) return;
  $("enrolment-notice").hidden = !enrolmentOnly();
  load();
});
