// The reconciliation picture: entries − duplicates − undeliverable = total, against expected, as a
// small waterfall in inline SVG (no charting library). A sentence under it says the same in words.
// The SVG is drawn at the figure's own width in CSS pixels (one user unit is one pixel), so its
// text keeps the pane's 11px at any pane width; it is drawn again when the pane is resized.

import { el, svg } from "./dom.js";

const FALLBACK_WIDTH = 300; // until the figure has a width of its own (hidden, or no layout yet)
const MIN_WIDTH = 200;
const ROW = 22;
const LABEL = 92;
const NUMBER = 44;

const drawn = new WeakMap(); // figure -> {report, width}
const resized = typeof ResizeObserver === "function"
  ? new ResizeObserver((changes) => {
    for (const { target } of changes) {
      const last = drawn.get(target);
      if (last && widthOf(target) !== last.width) draw(target, last.report);
    }
  })
  : null;

export function renderChart(figure, report) {
  draw(figure, report);
  resized?.observe(figure);
}

function widthOf(figure) {
  const width = Math.floor(figure.getBoundingClientRect().width);
  return width > 0 ? Math.max(MIN_WIDTH, width) : FALLBACK_WIDTH;
}

function draw(figure, report) {
  const width = widthOf(figure);
  drawn.set(figure, { report, width });
  const { entries, duplicates, undeliverable, total, expected } = report;
  const unknown = report.not_looked_up || 0;
  const rows = [
    { label: "Entries", from: 0, to: entries, value: entries, kind: "entries" },
    { label: "− Duplicates", from: entries - duplicates, to: entries, value: -duplicates,
      kind: "minus" },
  ];
  if (unknown) {
    // Entries Exchange did not answer for: unknown, never shown as undeliverable.
    rows.push({ label: "− Not looked up", from: total + undeliverable,
      to: total + undeliverable + unknown, value: -unknown, kind: "minus" });
  }
  rows.push(
    { label: "− Undeliverable", from: total, to: total + undeliverable, value: -undeliverable,
      kind: "minus" },
    { label: "= Total", from: 0, to: total, value: total, kind: "total" },
  );
  if (expected !== null && expected !== undefined) {
    rows.push({ label: fromHistory(report) ? "Last count" : "Expected", from: 0, to: expected,
      value: expected, kind: "expected" });
  }
  const max = Math.max(1, ...rows.map((r) => r.to));
  const span = width - LABEL - NUMBER;
  const x = (n) => LABEL + (n / max) * span;
  const height = rows.length * ROW + 4;
  const picture = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-labelledby": "chart-caption", class: "waterfall",
  });
  rows.forEach((row, i) => {
    const y = i * ROW + 4;
    picture.append(svg("text", { x: 0, y: y + 13, class: "chart-label", text: row.label }));
    const w = Math.max(row.to - row.from > 0 ? 2 : 0, x(row.to) - x(row.from));
    picture.append(svg("rect", {
      x: x(row.from), y, width: w, height: ROW - 8, rx: 2, class: `bar bar-${row.kind}`,
    }));
    picture.append(svg("text", {
      x: width, y: y + 13, "text-anchor": "end", class: "chart-value",
      text: (row.value < 0 ? "−" : "") + Math.abs(row.value).toLocaleString("en-US"),
    }));
  });
  if (expected !== null && expected !== undefined) {
    // A guide at the expected value makes the gap to the total visible at a glance.
    picture.append(svg("line", {
      x1: x(expected), x2: x(expected), y1: 2, y2: height - 2, class: "expected-line",
    }));
  }
  const caption = el("figcaption", { id: "chart-caption", text: sentence(report) });
  figure.replaceChildren(picture, caption);
}

// The server may fill `expected` with the previous count of the same recipients when the sender
// gave none; it says so in `expected_source`.
export function fromHistory(report) {
  return report.expected_source === "previous_count";
}

export function sentence(report) {
  const { entries, duplicates, undeliverable, total, expected, difference } = report;
  const n = (v) => v.toLocaleString("en-US");
  // An incomplete count is a lower bound: what was read so far.
  const least = report.complete === false ? "at least " : "";
  const unknown = report.not_looked_up || 0;
  let text = `${n(entries)} entries − ${n(duplicates)} duplicates − `
    + (unknown ? `${n(unknown)} not looked up − ` : "")
    + `${n(undeliverable)} undeliverable = ${least}${n(total)} unique recipients`;
  if (expected !== null && expected !== undefined) {
    text += `; ${fromHistory(report) ? "last count" : "expected"} ${n(expected)}`;
    if (difference) text += ` (${n(Math.abs(difference))} ${difference > 0 ? "more" : "fewer"})`;
    else text += fromHistory(report) ? " (the same)" : " (exactly as expected)";
  }
  return text + ".";
}
