// Form helpers shared by the pages: errors next to their field, a form-level
// alert, the wait a 429 asks for, and plain-language messages for problem codes.
//
// Markup each helper expects (see templates/authkit/_macros.html): an input with
// a `name` equal to the API's field name, and a list `#<input id>-error` that
// the input names in aria-describedby.

const MESSAGES = {
  invalid_credentials: "The username or password is incorrect.",
  account_disabled: "This account is disabled. Contact an administrator.",
  email_unverified:
    "Verify your email address first: open the link we sent to it. The link in the latest message works. " +
    "If it has expired, use “Forgot password?”: resetting your password from that email also verifies it.",
  invalid_otp: "That code is not valid. Codes can be used only once; wait for the next one.",
  invalid_token: "Your session has ended. Sign in again.",
  token_reused: "Your session has ended. Sign in again.",
  forbidden: "You do not have permission to do this.",
  mfa_enrolment_required: "Set up two-factor authentication on your account page first.",
  registration_closed: "Registration is closed.",
  conflict: "That username or email is already taken.",
  service_unavailable: "The service is busy or unavailable. Try again in a moment.",
  payload_too_large: "That is too much data to send.",
  internal_error: "Something went wrong on our side. Try again.",
};

/** A sentence for the user from an API result (problem details, or a network failure). */
export function problemMessage(result, fallback = "Something went wrong. Try again.") {
  if (!result || result.status === 0) return "Cannot reach the server. Check your connection.";
  const code = result.data?.code;
  if (code === "too_many_attempts") return retryMessage(retryAfter(result));
  return MESSAGES[code] ?? result.data?.detail ?? fallback;
}

/** Whole seconds to wait, from `retry_after` (or the Retry-After header). */
export function retryAfter(result) {
  const fromBody = Number(result?.data?.retry_after);
  if (Number.isFinite(fromBody) && fromBody > 0) return Math.ceil(fromBody);
  const fromHeader = Number(result?.headers?.get?.("Retry-After"));
  return Number.isFinite(fromHeader) && fromHeader > 0 ? Math.ceil(fromHeader) : 1;
}

export function retryMessage(seconds) {
  const at = new Date(Date.now() + seconds * 1000).toLocaleTimeString([], {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  const wait = seconds === 1 ? "1 second" : `${seconds} seconds`;
  return `Too many attempts. Try again in ${wait} (at ${at}).`;
}

function errorList(input) {
  return input ? document.getElementById(`${input.id}-error`) : null;
}

function fieldFor(form, name) {
  const item = form.elements.namedItem(name);
  return item instanceof HTMLElement ? item : null;
}

/** Remove every error shown in `form` (field lists, aria-invalid, the form alert). */
export function clearErrors(form) {
  for (const input of form.querySelectorAll("[aria-invalid='true']")) {
    input.removeAttribute("aria-invalid");
  }
  for (const list of form.querySelectorAll(".field-errors")) {
    list.replaceChildren();
    list.hidden = true;
  }
  const alert = form.querySelector("[data-form-error]");
  if (alert) alert.textContent = "";
}

/** Show `messages` under the field called `name`; true if the field exists. */
export function showFieldErrors(form, name, messages) {
  const input = fieldFor(form, name);
  const list = errorList(input);
  if (!input || !list) return false;
  for (const message of messages) {
    const item = document.createElement("li");
    item.textContent = message;
    list.append(item);
  }
  list.hidden = false;
  input.setAttribute("aria-invalid", "true");
  return true;
}

/** The form-level alert (a role="alert" region, so screen readers hear it). */
export function showFormError(form, message) {
  const alert = form.querySelector("[data-form-error]");
  if (alert) alert.textContent = message;
}

/**
 * Show a failed API result in `form`: field errors next to their fields (every
 * `weak_password` rule at once, under `passwordField`), anything else in the form
 * alert. Focuses the first invalid field. Returns the form-level message, if any.
 */
export function showProblem(form, result, { passwordField = "password" } = {}) {
  const code = result.data?.code;
  const errors = Array.isArray(result.data?.errors) ? result.data.errors : [];
  let placed = false;
  if (code === "weak_password") {
    placed = showFieldErrors(
      form,
      passwordField,
      errors.map((error) => error.message),
    );
  } else if (code === "validation_error") {
    const byField = new Map();
    for (const error of errors) {
      const loc = Array.isArray(error.loc) ? error.loc : [];
      const name = String(loc[0] === "body" || loc[0] === "query" ? loc[1] : loc[0]);
      byField.set(name, [...(byField.get(name) ?? []), error.msg]);
    }
    for (const [name, messages] of byField) placed = showFieldErrors(form, name, messages) || placed;
  }
  const message = placed ? "Correct the highlighted fields." : problemMessage(result);
  showFormError(form, message);
  form.querySelector("[aria-invalid='true']")?.focus();
  return message;
}

/** Mark every empty required, visible field; true if all are filled in. */
export function checkRequired(form, messages = {}) {
  let ok = true;
  for (const input of form.querySelectorAll("input[required], select[required]")) {
    if (input.closest("[hidden]") || input.disabled) continue;
    if (!input.value.trim()) {
      const label = form.querySelector(`label[for='${input.id}']`)?.textContent?.trim() ?? "This";
      showFieldErrors(form, input.name, [messages[input.name] ?? `${label} is required.`]);
      ok = false;
    }
  }
  if (!ok) {
    showFormError(form, "Fill in the highlighted fields.");
    form.querySelector("[aria-invalid='true']")?.focus();
  }
  return ok;
}

/**
 * Disable `button` for `seconds` (a 429), counting down in its label, then
 * restore it. Returns a function that stops the countdown early.
 */
export function holdButton(button, seconds) {
  const label = button.textContent;
  let left = seconds;
  button.disabled = true;
  const tick = () => {
    if (left <= 0) {
      clearInterval(interval);
      button.disabled = false;
      button.textContent = label;
      return;
    }
    button.textContent = `${label} (${left} s)`;
    left -= 1;
  };
  const interval = setInterval(tick, 1000);
  tick();
  return () => {
    left = 0;
    tick();
  };
}

/** Toggle a submit button's busy state while a request runs. */
export async function busy(button, task) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await task();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
