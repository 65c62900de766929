// The flight search page (/): airport autocomplete, dates, one-way or return,
// adults; results in tabs (Outbound, Return, All) or stacked, the chosen view kept
// in localStorage; stale cached results are flagged, and a 503 offers a retry.
import {
  checkRequired,
  clearErrors,
  holdButton,
  problemMessage,
  retryAfter,
  showFieldErrors,
  showFormError,
  showProblem,
} from "../authkit/forms.js";
import { api, currentUser } from "../authkit/session.js";
import { setupTabs } from "../authkit/tabs.js";
import { AirportCombobox } from "./combobox.js";
import { renderResults } from "./results.js";

const VIEW_KEY = "flight_app.results_view";
const $ = (id) => document.getElementById(id);
const form = $("search-form");
const submit = $("search-submit");
const status = $("airport-status");
const results = $("results");
const problem = $("search-problem");
const problemText = $("search-problem-text");
const retry = $("search-retry");
const returnInput = form.elements.namedItem("return");
const departInput = form.elements.namedItem("depart");
const origin = new AirportCombobox($("origin"), status);
const destination = new AirportCombobox($("destination"), status);
const panels = {
  outbound: $("panel-outbound"),
  return: $("panel-return"),
  all: $("panel-all"),
  stacked: $("panel-stacked"),
};
let lastQuery = null;
let stopHold = null;

function isoDate(date) {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60000);
  return local.toISOString().slice(0, 10);
}

function addDays(days) {
  const date = new Date();
  date.setDate(date.getDate() + days);
  return isoDate(date);
}

function oneWay() {
  return form.elements.trip.value === "oneway";
}

function syncTrip() {
  const field = returnInput.closest(".field");
  returnInput.disabled = oneWay();
  field.classList.toggle("disabled", oneWay());
}

function showProblemBox(message, { retryable = false, link = null } = {}) {
  problemText.replaceChildren(message);
  if (link) problemText.append(" ", link);
  retry.hidden = !retryable;
  problem.hidden = false;
}

function signInLink() {
  const link = document.createElement("a");
  link.href = `/login?next=${encodeURIComponent("/")}`;
  link.textContent = "Sign in";
  return link;
}

function query() {
  const params = new URLSearchParams({
    origin: origin.code,
    destination: destination.code,
    depart: departInput.value,
    adults: form.elements.adults.value || "1",
  });
  if (!oneWay() && returnInput.value) params.set("return", returnInput.value);
  return params;
}

function summarise(answer, counts) {
  const { meta } = answer;
  const people = Number(meta.adults) === 1 ? "1 adult" : `${meta.adults} adults`;
  const back = meta.return ? ` and ${counts.return} return` : "";
  $("results-summary").textContent =
    `${counts.outbound} outbound${back} flights, ${meta.origin} → ${meta.destination}, ${people}.`;
  const stale = $("stale-notice");
  if (meta.stale) {
    const when = meta.fetched_at ? new Date(meta.fetched_at).toLocaleString() : "earlier";
    stale.textContent =
      `These results were saved ${when} and may be out of date: the flight provider is not ` +
      "answering right now. Prices and seats may have changed.";
    stale.hidden = false;
  } else {
    stale.hidden = true;
  }
  results.dataset.stale = String(Boolean(meta.stale));
  results.dataset.source = meta.source ?? "";
}

async function search(params) {
  lastQuery = params;
  problem.hidden = true;
  stopHold?.();
  results.setAttribute("aria-busy", "true");
  submit.disabled = true;
  submit.textContent = "Searching…";
  let result;
  try {
    result = await api(`/api/flights/search?${params}`);
  } finally {
    submit.disabled = false;
    submit.textContent = "Search flights";
    results.removeAttribute("aria-busy");
  }
  if (result.ok) {
    const counts = renderResults(result.data, panels);
    $("count-outbound").textContent = String(counts.outbound);
    $("count-return").textContent = String(counts.return);
    $("count-all").textContent = String(counts.all);
    summarise(result.data, counts);
    results.hidden = false;
    return;
  }
  const code = result.data?.code;
  if (result.status === 503) {
    const seconds = retryAfter(result);
    showProblemBox(
      `Flight search is temporarily unavailable. Please try again in ${seconds === 1 ? "1 second" : `${seconds} seconds`}.`,
      { retryable: true },
    );
    stopHold = holdButton(retry, seconds);
  } else if (result.status === 401) {
    showProblemBox("Sign in to search flights.", { link: signInLink() });
  } else if (code === "validation_error") {
    showProblem(form, result);
  } else {
    showProblemBox(problemMessage(result), { retryable: result.status === 0 || result.status >= 500 });
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  clearErrors(form);
  if (!checkRequired(form)) return;
  if (!currentUser()) {
    showProblemBox("Sign in to search flights.", { link: signInLink() });
    return;
  }
  if (origin.code && origin.code === destination.code) {
    showFieldErrors(form, "destination", ["Choose a destination other than the origin."]);
    showFormError(form, "Correct the highlighted fields.");
    $("destination").focus();
    return;
  }
  search(query());
});

retry.addEventListener("click", () => {
  if (lastQuery) search(lastQuery);
});

$("swap").addEventListener("click", () => {
  const from = { selected: origin.selected, text: origin.input.value };
  origin.selected = destination.selected;
  origin.input.value = destination.input.value;
  destination.selected = from.selected;
  destination.input.value = from.text;
});

for (const radio of form.elements.trip) radio.addEventListener("change", syncTrip);
departInput.addEventListener("change", () => {
  returnInput.min = departInput.value || addDays(0);
  if (returnInput.value && returnInput.value < departInput.value) returnInput.value = departInput.value;
});

departInput.min = addDays(0);
returnInput.min = addDays(0);
if (!departInput.value) departInput.value = addDays(14);
if (!returnInput.value) returnInput.value = addDays(21);
form.elements.adults.min = "1";
form.elements.adults.max = "9";
syncTrip();
setupTabs($("view-tabs"), { storageKey: VIEW_KEY, initial: "tab-outbound" });
