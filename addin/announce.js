// What a screen reader says when a count lands: the pane's one polite live region (#announce in
// taskpane.html), so a person who pressed Count hears the number without hunting for it.

const SETTLE_MS = 100;
let pending = null;

// Says `text` once. The region is emptied first and filled a moment later: a live region
// announces changes, so the same words twice (counting again, same result) would otherwise say
// nothing the second time.
export function announce(text) {
  const region = document.getElementById("announce");
  if (!region) return;
  clearTimeout(pending);
  region.textContent = "";
  pending = setTimeout(() => {
    region.textContent = text;
  }, SETTLE_MS);
}

