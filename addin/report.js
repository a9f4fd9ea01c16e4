// "Copy support report": the count and its explanation as plain text for a ticket.

import { fromHistory, sentence } from "./chart.js";
import { describe } from "./recipients.js";

const MAX_TREE_LINES = 200; // a ticket needs the shape of the tree, not every one of 5,000 lists

export function supportReport({ report, recipients, subject, now = new Date() }) {
  const lines = [
    "Rollcall support report",
    `Time: ${now.toISOString()}`,
    `Subject: ${subject || "(no subject)"}`,
    `Mailbox: ${report.mailbox || "(default)"}`,
    `Exchange version: ${report.exchange_version || "(unknown)"}`,
    `Current count: ${report.complete ? "" : "at least "}${report.total} unique recipients`
      + (report.complete ? " (complete)" : " (INCOMPLETE: some lists were not fully expanded)")
      + (report.not_found ? `; ${report.not_found} entries not found` : ""),
    `Expected count: ${report.expected ?? "(not given)"}`
      + (fromHistory(report) ? " (the previous count; the sender gave none)" : "")
      + (report.expected != null ? `, difference ${signed(report.difference)}` : ""),
    `Reconciliation: ${sentence(report)}`,
    `Lists: ${report.lists}, nested ${report.max_depth} deep; `
      + `${report.requests} directory requests in ${report.elapsed_ms} ms`
      + (report.resource_units != null
        ? ` (Microsoft Graph: ${report.http_requests} HTTP requests, `
          + `${report.resource_units} resource units)` : ""),
    ...(report.contributions?.length > 1 ? ["Where the people come from (people / only here):",
      ...report.contributions.map((c) => `  ${c.path?.length ? c.path.join(" > ") : c.name}`
        + `${c.kind === "direct" ? " (listed directly)" : ""}: ${c.people} / ${c.only}`)] : []),
    "",
    `Recipients entered (${recipients.length}):`,
    ...recipients.map((r) => `  ${describe(r)}`),
    "",
    "List tree (unique members):",
  ];
  const tree = [];
  for (const node of report.tree) treeLines(node, 1, tree);
  lines.push(...(tree.length ? tree.slice(0, MAX_TREE_LINES) : ["  (no lists)"]));
  if (tree.length > MAX_TREE_LINES) lines.push(`  … and ${tree.length - MAX_TREE_LINES} more`);
  lines.push("", `Findings (${report.findings.length}):`);
  if (!report.findings.length) lines.push("  (none)");
  for (const f of report.findings) {
    lines.push(`  [${f.severity}${f.action ? `, send: ${f.action}` : ""}] ${f.code}: ${f.message}`);
    if (f.path?.length) lines.push(`      path: ${f.path.join(" > ")}`);
  }
  if (report.pending?.length) lines.push("", `Not reached: ${report.pending.join(", ")}`);
  return lines.join("\n") + "\n";
}

function treeLines(node, level, out) {
  const where = node.address ? ` <${node.address}>` : "";
  const status = node.status === "expanded" ? "" : ` [${node.status}]`;
  out.push(`${"  ".repeat(level)}${node.name}${where}: ${node.unique_members}${status}`);
  for (const child of node.children || []) treeLines(child, level + 1, out);
}

function signed(n) {
  return n > 0 ? `+${n}` : String(n);
}
