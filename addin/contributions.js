// Where the people come from: each entry typed in (or, for a single list, each list inside it)
// with its people and how many only it brings, so a difference from the expected count reads
// as "which lists make it", not as arithmetic.

import { el, plural, show } from "./dom.js";

const SHOWN = 8; // the biggest parts; the rest are summed in one line

export function renderContributions(box, report) {
  const parts = report.contributions || [];
  if (parts.length < 2) {
    show(box, false); // one part is the whole count: the total already says it
    return;
  }
  const n = (v) => v.toLocaleString("en-US");
  const ranked = [...parts].sort((a, b) => b.only - a.only || b.people - a.people);
  // A part not fully expanded has lower bounds, and none at all when nothing was read.
  const bound = (c, v) => (c.complete === false ? (c.people ? `≥ ${n(v)}` : "not read") : n(v));
  const rows = ranked.slice(0, SHOWN).map((c) => el("tr", { "data-part": c.name },
    el("th", { scope: "row" }, el("bdi", { text: partName(c) })),
    el("td", { class: "num", text: bound(c, c.people) }),
    el("td", { class: "num", text: bound(c, c.only) })));
  const rest = ranked.slice(SHOWN);
  if (rest.length) {
    rows.push(el("tr", {},
      el("th", { scope: "row", text: `${plural(rest.length, "other part")}` }),
      el("td", { class: "num", text: n(rest.reduce((t, c) => t + c.people, 0)) }),
      el("td", { class: "num", text: n(rest.reduce((t, c) => t + c.only, 0)) })));
  }
  const onlySum = parts.reduce((t, c) => t + c.only, 0);
  const sharedPeople = report.total - onlySum; // reached by two parts or more, counted once
  const lines = [
    el("tr", {}, el("th", { scope: "row", text: "In more than one of these" }),
      el("td", { class: "num", text: "" }), el("td", { class: "num", text: n(sharedPeople) })),
    el("tr", { class: "sum" }, el("th", { scope: "row", text: "Unique people" }),
      el("td", { class: "num", text: "" }),
      el("td", { class: "num", text: (report.complete ? "" : "≥ ") + n(report.total) })),
  ];
  if (report.expected !== null && report.expected !== undefined) {
    const d = report.total - report.expected;
    const label = report.expected_source === "previous_count" ? "Last count" : "Expected";
    lines.push(el("tr", {}, el("th", { scope: "row", text: label }),
      el("td", { class: "num", text: "" }), el("td", { class: "num", text: n(report.expected) })),
    el("tr", { class: "gap" }, el("th", { scope: "row", text: "Difference" }),
      el("td", { class: "num", text: "" }),
      el("td", { class: "num", text: d > 0 ? `+${n(d)}` : d < 0 ? `−${n(-d)}` : "0" })));
  }
  box.replaceChildren(
    el("h3", { text: "Where the people come from" }),
    el("table", { class: "parts" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col", text: "" }),
        el("th", { scope: "col", class: "num", text: "People" }),
        el("th", { scope: "col", class: "num", text: "Only here" }))),
      el("tbody", {}, rows, lines)));
  show(box);
}

function partName(c) {
  if (c.kind === "direct") return `Listed directly in ${c.name}`;
  return c.path && c.path.length > 1 ? c.path.join(" › ") : c.name;
}
