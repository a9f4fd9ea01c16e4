// The few Office.js calls the pane makes, as promises. Every callback checks asyncResult.status:
// Outlook reports failures there rather than by throwing.

export class OfficeError extends Error {}

function officeAsync(call) {
  return new Promise((resolve, reject) => {
    call((result) => {
      if (result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
      else reject(new OfficeError(result.error?.message || "Outlook did not answer"));
    });
  });
}

// Resolves with the mailbox item when running inside Outlook, or null in a plain browser tab
// (Office.js missing, or onReady with host null and no mailbox).
export async function outlookItem() {
  if (typeof Office === "undefined" || typeof Office.onReady !== "function") return null;
  const info = await Office.onReady();
  if (!info || !info.host) return null;
  const item = Office.context?.mailbox?.item;
  return item && item.to ? item : null;
}

export async function readRecipients(item) {
  const fields = ["to", "cc", "bcc"].filter((f) => item[f] && item[f].getAsync);
  const lists = await Promise.all(fields.map((f) => officeAsync((cb) => item[f].getAsync(cb))));
  return lists.flat().map((r) => ({
    displayName: r.displayName || "",
    emailAddress: r.emailAddress || "",
  }));
}

export async function readSubject(item) {
  if (!item?.subject?.getAsync) return typeof item?.subject === "string" ? item.subject : "";
  try {
    return (await officeAsync((cb) => item.subject.getAsync(cb))) || "";
  } catch {
    return ""; // the report reads "(no subject)": a missing subject must not block copying it
  }
}

export function onRecipientsChanged(item, handler) {
  if (!item.addHandlerAsync) return Promise.resolve(false);
  return officeAsync((cb) => item.addHandlerAsync(Office.EventType.RecipientsChanged, handler, cb))
    .then(() => true, () => false);
}
