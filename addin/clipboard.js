// Copying text for support: the Clipboard API where the frame allows it (Outlook's frames may
// not), else a hidden textarea selected and copied the old way. The focus comes back to where
// it was either way.

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Not granted here: the fallback below.
  }
  const back = document.activeElement;
  const area = document.createElement("textarea");
  area.value = text;
  area.readOnly = true;
  area.className = "copy-offscreen";
  area.setAttribute("aria-hidden", "true");
  area.tabIndex = -1;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = Boolean(document.execCommand && document.execCommand("copy"));
  } catch {
    copied = false;
  }
  area.remove();
  if (back instanceof HTMLElement) back.focus();
  return copied;
}
