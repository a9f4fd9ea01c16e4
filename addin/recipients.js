// Recipients as the API wants them ({displayName, emailAddress}), from Outlook or from pasted text.

// Splits on newlines, commas and semicolons, except inside "quoted names" and <addresses>, so
// `"Bowen, Megan" <megan@contoso.com>` stays one recipient.
export function splitEntries(text) {
  const out = [];
  let current = "";
  let quoted = false;
  let angled = false;
  for (const ch of text) {
    if (ch === '"' && !angled) quoted = !quoted;
    else if (ch === "<" && !quoted) angled = true;
    else if (ch === ">" && !quoted) angled = false;
    if (!quoted && !angled && (ch === "\n" || ch === "\r" || ch === "," || ch === ";")) {
      out.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  out.push(current);
  return out.map((s) => s.trim()).filter(Boolean);
}

const NAMED = /^(.*?)\s*<([^<>]*)>$/;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

// `Name <addr>`, a bare address, or anything else taken as a name Exchange resolves (a contact
// group from the sender's Contacts has no address Outlook would give us either).
export function parseEntry(entry) {
  const named = NAMED.exec(entry);
  if (named && ADDRESS.test(named[2].trim())) {
    const name = named[1].trim().replace(/^"(.*)"$/, "$1").trim();
    const address = named[2].trim();
    return { displayName: name || address, emailAddress: address };
  }
  if (ADDRESS.test(entry)) return { displayName: entry, emailAddress: entry };
  return { displayName: entry.replace(/^"(.*)"$/, "$1"), emailAddress: "" };
}

export function parseRecipients(text) {
  return splitEntries(text).map(parseEntry);
}

export function describe(recipient) {
  const { displayName: name, emailAddress: address } = recipient;
  if (!address) return name;
  return name && name !== address ? `${name} <${address}>` : address;
}
