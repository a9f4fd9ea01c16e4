// The list tree: an ARIA tree (role=tree/treeitem/group) with a roving tabindex and the arrow keys
// of the WAI-ARIA tree pattern. Children are built when a list is first opened and shown a page at
// a time, so a tree with thousands of lists costs only what the sender opens.

import { el, plural, svg } from "./dom.js";

export const PAGE = 50;

const KIND = {
  public_dl: "list",
  dynamic_dl: "dynamic list",
  group: "Microsoft 365 group",
  contact_group: "contact group",
  rollcall_list: "Rollcall list",
};
const STATUS = {
  truncated: "partly expanded",
  failed: "not expanded",
  cycle: "loop",
};

export function anyCached(nodes) {
  return nodes.some((n) => n.cached || n.status === "cached" || anyCached(n.children || []));
}

export function renderTree(container, nodes) {
  container.replaceChildren();
  appendPage(container, nodes, 0, 1);
  const first = container.querySelector('[role="treeitem"]');
  if (first) first.tabIndex = 0;
  if (!container.dataset.wired) {
    container.dataset.wired = "1";
    container.addEventListener("keydown", (e) => onKey(container, e));
    container.addEventListener("click", (e) => onClick(container, e));
  }
}

function appendPage(group, nodes, start, level) {
  const end = Math.min(start + PAGE, nodes.length);
  for (let i = start; i < end; i++) group.append(treeItem(nodes[i], level, i + 1, nodes.length));
  if (end < nodes.length) {
    const rest = nodes.length - end;
    const more = el("li", {
      role: "treeitem", tabindex: -1, class: "more", "aria-level": level,
      text: `Show ${plural(Math.min(PAGE, rest), "more list")} `
        + `(${rest.toLocaleString("en-US")} left)`,
    });
    more._more = () => {
      more.remove();
      appendPage(group, nodes, end, level);
    };
    group.append(more);
  }
}

function treeItem(node, level, position, size) {
  const children = node.children || [];
  // A list Exchange counts but Rollcall could not list (a dynamic list over Graph): Exchange's
  // number is said in words beside what was listed, never as the list's count.
  const estimated = node.estimate !== undefined && node.estimate !== null;
  const status = estimated
    ? `Exchange counts about ${node.estimate.toLocaleString("en-US")}`
    : STATUS[node.status] || null; // "cached" is said once, under the total
  const where = node.address ? node.address : KIND[node.kind] || "";
  const item = el("li", {
    role: "treeitem", tabindex: -1, "aria-level": level, "aria-setsize": size,
    "aria-posinset": position, "aria-expanded": children.length ? "false" : null,
    class: `node status-${node.status}`,
  });
  const label = el("div", { class: "node-row" },
    el("span", { class: "chevron", "aria-hidden": "true" }, children.length
      ? svg("svg", { viewBox: "0 0 16 16", width: 12, height: 12 },
        svg("path", { d: "M6 3.5 10.5 8 6 12.5", fill: "none", stroke: "currentColor",
          "stroke-width": 1.5, "stroke-linecap": "round", "stroke-linejoin": "round" }))
      : null),
    el("span", { class: "node-text" },
      el("span", { class: "node-name", text: node.name || node.address || "(no name)" }),
      el("span", { class: "node-where", text: where })),
    status ? el("span", { class: `tag tag-${node.status}`, text: status }) : null,
    el("span", {
      class: "count",
      text: node.unique_members.toLocaleString("en-US"),
      title: `${plural(node.unique_members, "unique person", "unique people")}; `
        + `${plural(node.direct_members, "direct member")}`,
    }));
  item.append(label);
  item._node = node;
  return item;
}

function groupOf(item) {
  return item.querySelector(':scope > ul[role="group"]');
}

export function setExpanded(item, open) {
  if (!item.hasAttribute("aria-expanded")) return;
  let group = groupOf(item);
  if (open && !group) {
    group = el("ul", { role: "group" });
    appendPage(group, item._node.children, 0, Number(item.getAttribute("aria-level")) + 1);
    item.append(group);
  }
  item.setAttribute("aria-expanded", open ? "true" : "false");
  if (group) group.hidden = !open;
}

function visibleItems(container) {
  return [...container.querySelectorAll('[role="treeitem"]')]
    .filter((item) => !item.parentElement.closest('ul[role="group"][hidden]'));
}

function focus(container, item) {
  if (!item) return;
  for (const other of container.querySelectorAll('[role="treeitem"][tabindex="0"]')) {
    other.tabIndex = -1;
  }
  item.tabIndex = 0;
  item.focus();
}

function activate(container, item) {
  if (item._more) {
    const previous = item.previousElementSibling;
    item._more();
    focus(container, previous?.nextElementSibling || previous);
    return;
  }
  setExpanded(item, item.getAttribute("aria-expanded") !== "true");
}

function onClick(container, e) {
  const item = e.target.closest('[role="treeitem"]');
  if (!item || !container.contains(item)) return;
  e.stopPropagation();
  focus(container, item);
  activate(container, item);
}

function onKey(container, e) {
  const item = e.target.closest('[role="treeitem"]');
  if (!item) return;
  const items = visibleItems(container);
  const index = items.indexOf(item);
  const expanded = item.getAttribute("aria-expanded");
  const parent = item.parentElement.closest('[role="treeitem"]');
  switch (e.key) {
    case "ArrowDown": focus(container, items[index + 1]); break;
    case "ArrowUp": focus(container, items[index - 1]); break;
    case "Home": focus(container, items[0]); break;
    case "End": focus(container, items[items.length - 1]); break;
    case "ArrowRight":
      if (expanded === "false") setExpanded(item, true);
      else if (expanded === "true") {
        focus(container, groupOf(item)?.querySelector('[role="treeitem"]'));
      }
      break;
    case "ArrowLeft":
      if (expanded === "true") setExpanded(item, false);
      else focus(container, parent);
      break;
    case "Enter":
    case " ":
      activate(container, item);
      break;
    default:
      return;
  }
  e.preventDefault();
}
