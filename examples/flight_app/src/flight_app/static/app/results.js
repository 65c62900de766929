// Flight results as tables: one per direction, "All" (both directions together,
// each flight labelled with its direction, sorted by departure), and the stacked
// split (outbound above return). Times are shown as the airport's local time,
// exactly as the API gives them (RFC 3339 with the local offset).

const DIRECTIONS = { outbound: "Outbound", return: "Return" };

function localParts(stamp) {
  // "2026-03-01T08:15:00+01:00" -> date "2026-03-01", time "08:15"
  return { date: stamp.slice(0, 10), time: stamp.slice(11, 16) };
}

function dayLabel(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  return new Date(Date.UTC(year, month - 1, day)).toLocaleDateString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  });
}

function dayDiff(fromDate, toDate) {
  const ms = Date.parse(`${toDate}T00:00:00Z`) - Date.parse(`${fromDate}T00:00:00Z`);
  return Math.round(ms / 86400000);
}

function duration(minutes) {
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return hours ? `${hours} h ${String(rest).padStart(2, "0")} min` : `${rest} min`;
}

function stops(count) {
  return count === 0 ? "Direct" : count === 1 ? "1 stop" : `${count} stops`;
}

function price({ amount, currency }) {
  const value = Number(amount);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(value);
  } catch {
    return `${amount} ${currency}`;
  }
}

function cell(tag, text, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  node.textContent = text;
  return node;
}

function timeCell(stamp, airport, baseDate) {
  const { date, time } = localParts(stamp);
  const node = document.createElement("td");
  const main = cell("span", time, "time");
  node.append(main, " ", cell("span", airport, "code"));
  const shift = baseDate ? dayDiff(baseDate, date) : 0;
  if (shift > 0) {
    const plus = cell("span", `+${shift}`, "day-shift");
    plus.title = `Arrives ${dayLabel(date)}`;
    node.append(" ", plus, cell("span", ` (arrives ${dayLabel(date)})`, "visually-hidden"));
  }
  const day = cell("span", dayLabel(date), "day");
  node.append(document.createElement("br"), day);
  return node;
}

function row(flight, direction, withDirection) {
  const tr = document.createElement("tr");
  tr.dataset.direction = direction;
  if (withDirection) {
    const td = document.createElement("td");
    td.append(cell("span", DIRECTIONS[direction], `badge direction ${direction}`));
    tr.append(td);
  }
  const flightCell = document.createElement("th");
  flightCell.scope = "row";
  flightCell.append(
    cell("span", flight.flight_number, "flight-number"),
    document.createElement("br"),
    cell("span", flight.carrier_name, "muted"),
  );
  const departs = localParts(flight.departs_at).date;
  tr.append(
    flightCell,
    timeCell(flight.departs_at, flight.origin),
    timeCell(flight.arrives_at, flight.destination, departs),
    cell("td", duration(flight.duration_minutes)),
    cell("td", stops(flight.stops)),
    cell("td", price(flight.price), "price"),
  );
  return tr;
}

/** A table of `entries` ([flight, direction] pairs) with a caption. */
function table(caption, entries, { withDirection = false, empty = "No flights." } = {}) {
  const node = document.createElement("table");
  node.className = "data flights";
  node.append(cell("caption", caption));
  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  const columns = ["Flight", "Departs", "Arrives", "Duration", "Stops", "Price"];
  if (withDirection) columns.unshift("Direction");
  for (const name of columns) {
    const th = cell("th", name);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = document.createElement("tbody");
  if (entries.length === 0) {
    const tr = document.createElement("tr");
    tr.className = "empty";
    const td = cell("td", empty);
    td.colSpan = columns.length;
    tr.append(td);
    body.append(tr);
  } else {
    for (const [flight, direction] of entries) body.append(row(flight, direction, withDirection));
  }
  node.append(head, body);
  const wrap = document.createElement("div");
  wrap.className = "table-wrap";
  wrap.append(node);
  return wrap;
}

function route(meta, direction) {
  return direction === "outbound"
    ? `${meta.origin} → ${meta.destination}`
    : `${meta.destination} → ${meta.origin}`;
}

/** Fill the four result panels from a search answer. */
export function renderResults(answer, panels) {
  const { outbound, inbound, meta } = answer;
  const oneWay = !meta.return;
  const returnEmpty = oneWay ? "One-way search: no return flights." : "No return flights.";
  const out = outbound.map((flight) => [flight, "outbound"]);
  const back = inbound.map((flight) => [flight, "return"]);
  const all = [...out, ...back].sort(
    ([a], [b]) => Date.parse(a.departs_at) - Date.parse(b.departs_at),
  );
  panels.outbound.replaceChildren(table(`Outbound, ${route(meta, "outbound")}`, out));
  panels.return.replaceChildren(table(`Return, ${route(meta, "return")}`, back, { empty: returnEmpty }));
  panels.all.replaceChildren(
    table("All flights, both directions, by departure", all, { withDirection: true }),
  );
  const outboundSection = document.createElement("section");
  outboundSection.className = "split outbound";
  outboundSection.setAttribute("aria-label", "Outbound flights");
  outboundSection.append(table(`Outbound, ${route(meta, "outbound")}`, out));
  const returnSection = document.createElement("section");
  returnSection.className = "split return";
  returnSection.setAttribute("aria-label", "Return flights");
  returnSection.append(table(`Return, ${route(meta, "return")}`, back, { empty: returnEmpty }));
  panels.stacked.replaceChildren(outboundSection, returnSection);
  return { outbound: out.length, return: back.length, all: all.length };
}
