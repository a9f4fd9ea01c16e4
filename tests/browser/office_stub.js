// A stand-in for Office.js with only what the pane calls. The test sets window.__officeConfig
// (an init script) before the page loads: {mode: "outlook" | "browser", to, cc, bcc, subject,
// body, failField, sso}. `body` is the draft's HTML (item.body.getAsync); `failField` names
// one of to, cc, bcc, subject or body whose getAsync fails. `sso` adds Office.auth.getAccessToken
// in Outlook mode: {token} answers that token, {fail: 13001} fails with that code.
// window.__office lets the test change recipients and raise RecipientsChanged, change the
// subject and body, and counts SSO calls.
(function () {
  const config = window.__officeConfig || { mode: "browser" };
  const handlers = [];
  const associated = {};
  const state = {
    to: config.to || [], cc: config.cc || [], bcc: config.bcc || [],
    subject: config.subject || "", body: config.body || "",
    failField: config.failField || null,
  };
  const CoercionType = { Html: "html", Text: "text" };
  const Succeeded = "succeeded";
  const Failed = "failed";

  function answer(callback, value, failed) {
    setTimeout(() => callback(failed
      ? { status: Failed, error: { code: 9999, message: "stub failure" } }
      : { status: Succeeded, value }), 0);
  }
  function field(name) {
    return { getAsync: (cb) => answer(cb, state[name].map((r) => ({ ...r })), state.failField === name) };
  }
  const item = {
    to: field("to"), cc: field("cc"), bcc: field("bcc"),
    subject: { getAsync: (cb) => answer(cb, state.subject, state.failField === "subject") },
    // Office.js: body.getAsync(coercionType, [options], callback); Text strips the markup.
    body: {
      getAsync(coercionType, options, cb) {
        const callback = typeof options === "function" ? options : cb;
        const html = state.body;
        const value = coercionType === CoercionType.Html ? html
          : new DOMParser().parseFromString(html, "text/html").body.textContent;
        answer(callback, value, state.failField === "body");
      },
    },
    addHandlerAsync(type, handler, cb) {
      if (type === "olkRecipientsChanged") handlers.push(handler);
      answer(cb, undefined, type !== "olkRecipientsChanged");
    },
  };
  const outlook = config.mode === "outlook";
  window.Office = {
    AsyncResultStatus: { Succeeded, Failed },
    CoercionType,
    EventType: { RecipientsChanged: "olkRecipientsChanged" },
    HostType: { Outlook: "Outlook" },
    context: outlook ? { mailbox: { item } } : {},
    onReady(callback) {
      const info = outlook ? { host: "Outlook", platform: "OfficeOnline" }
        : { host: null, platform: null };
      return new Promise((resolve) => setTimeout(() => {
        if (callback) callback(info);
        resolve(info);
      }, 0));
    },
    actions: { associate(name, fn) { associated[name] = fn; } },
  };
  const sso = { calls: 0 };
  if (outlook && config.sso) {
    window.Office.auth = {
      getAccessToken() {
        sso.calls++;
        return config.sso.fail
          ? Promise.reject({ code: config.sso.fail, message: "stub SSO failure" })
          : Promise.resolve(config.sso.token);
      },
    };
  }
  window.__office = {
    associated,
    setRecipients(name, list) { state[name] = list; },
    setSubject(text) { state.subject = text; },
    setBody(html) { state.body = html; },
    fireRecipientsChanged(fields) {
      for (const h of handlers) h({ type: "olkRecipientsChanged", changedRecipientFields: fields || {} });
    },
    handlerCount: () => handlers.length,
    ssoCalls: () => sso.calls,
  };
})();
