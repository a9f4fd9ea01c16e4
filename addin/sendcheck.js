// Rollcall's send check: the handlers the manifest's LaunchEvents name. One self-contained classic
// script, because classic Outlook on Windows runs it in a JavaScript-only runtime (no DOM, no
// modules, no Office.onReady). For now it lets every message go: the real check (warn before a
// message reaches more people than the sender expects) arrives with the pre-send issue.

/* global Office */

function onMessageSendHandler(event) {
  // Until the check exists, a message must never be held: SoftBlock would stop the send.
  event.completed({ allowEvent: true });
}

function onMessageRecipientsChangedHandler(event) {
  // Later this warms the count so the send check only reads a ready answer.
  event.completed({ allowEvent: true });
}

if (typeof Office !== "undefined" && Office.actions && Office.actions.associate) {
  Office.actions.associate("onMessageSendHandler", onMessageSendHandler);
  Office.actions.associate("onMessageRecipientsChangedHandler", onMessageRecipientsChangedHandler);
}
