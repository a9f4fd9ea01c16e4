// Recipients as the API wants them ({displayName, emailAddress}), from Outlook or from pasted text.

const LINE_BREAK = /\r\n|\r|\n/;
const EXCERPT = 40;
// First-strong isolate … pop directional isolate: whatever the pasted text holds (a right-to-left
// override, say), it cannot reorder the sentence around it, even where it is shown as plain text.
const FSI = "\u2068";
const PDI = "\u2069";

// One line's entries: split on commas and semicolons, except inside "quoted names" (where \"
// escapes a quote) and <addresses>, so `"Bowen, Megan" <megan@contoso.com>` stays one recipient.
// A quote or < still open at the end of the line is reported: the rest of that line became one
// entry.
function splitLine(line) {
  const entries = [];
  let current = "";
  let quoted = -1; // where the open quote is, or -1
  let angled = -1;
  let escaped = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (escaped) escaped = false;
    else if (quoted >= 0 && ch === "\\") escaped = true;
    else if (ch === '"' && angled < 0) quoted = quoted >= 0 ? -1 : i;
    else if (ch === "<" && quoted < 0) angled = i;
    else if (ch === ">" && quoted < 0) angled = -1;
    if (quoted < 0 && angled < 0 && (ch === "," || ch === ";")) {
      entries.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  entries.push(current);
  return { entries, quote: quoted, angle: angled };
}

function excerpt(text) {
  const chars = [...text.trim()];
  const shown = chars.length > EXCERPT ? chars.slice(0, EXCERPT - 1).join("") + "…" : text.trim();
  return FSI + shown + PDI;
}

// Pasted text as recipients, and what in it could not be read as typed. A line break always ends
// an entry, even inside an unclosed quote, so one stray " costs at most the rest of its line.
export function parsePasted(text) {
  const recipients = [];
  const problems = [];
  String(text ?? "").split(LINE_BREAK).forEach((line, i) => {
    const { entries, quote, angle } = splitLine(line);
    const rest = "so the rest of the line was taken as one entry:";
    if (quote >= 0) {
      problems.push(`Line ${i + 1} has an opening " with no closing one, ${rest} `
        + excerpt(line.slice(quote)));
    } else if (angle >= 0) {
      problems.push(`Line ${i + 1} has a < with no closing >, ${rest} `
        + excerpt(line.slice(angle)));
    }
    for (const entry of entries) {
      const recipient = entry.trim() ? parseEntry(entry.trim()) : null;
      if (recipient?.displayName || recipient?.emailAddress) recipients.push(recipient);
    }
  });
  return { recipients, problems };
}

// Entries as text, one per comma, semicolon or line (kept for callers that want the strings).
export function splitEntries(text) {
  return String(text ?? "").split(LINE_BREAK)
    .flatMap((line) => splitLine(line).entries)
    .map((s) => s.trim()).filter(Boolean);
}

const NAMED = /^(.*?)\s*<([^<>]*)>$/;
const ADDRESS = /^[^\s@<>]+@[^\s@<>]+$/;

// `Name <addr>`, a bare address, or anything else taken as a name Exchange resolves (a contact
// group from the sender's Contacts has no address Outlook would give us either).
export function parseEntry(entry) {
  const named = NAMED.exec(entry);
  if (named && ADDRESS.test(named[2].trim())) {
    const name = unquote(named[1].trim()).trim();
    const address = named[2].trim();
    return { displayName: name || address, emailAddress: address };
  }
  if (ADDRESS.test(entry)) return { displayName: entry, emailAddress: entry };
  return { displayName: unquote(entry), emailAddress: "" };
}

// `"Bowen, Megan"` -> `Bowen, Megan` (with \" for a quote inside); a quote left open (reported by
// parsePasted) is dropped rather than kept as part of the name.
function unquote(text) {
  const quoted = /^"((?:[^"\\]|\\.)*)"$/.exec(text);
  if (quoted) return quoted[1].replace(/\\(.)/g, "$1");
  if (text.startsWith('"') && !text.slice(1).includes('"')) return text.slice(1);
  return text;
}

export function parseRecipients(text) {
  return parsePasted(text).recipients;
}

export function describe(recipient) {
  const { displayName: name, emailAddress: address } = recipient;
  if (!address) return name;
  return name && name !== address ? `${name} <${address}>` : address;
}
