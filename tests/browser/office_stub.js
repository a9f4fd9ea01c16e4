// A stand-in for Office.js with only what the pane calls. The test sets window.__officeConfig
// (an init script) before the page loads: {mode: "outlook" | "browser", to, cc, bcc, subject,
// failField, sso}. `sso` adds Office.auth.getAccessToken in Outlook mode: {token} answers that
// token, {fail: 13001} fails with that code. window.__office lets the test change recipients
// and raise RecipientsChanged, and counts SSO calls.
(function () {
  const config = window.__officeConfig || { mode: "browser" };
  const handlers = [];
  const associated = {};
  const state = {
    to: config.to || [], cc: config.cc || [], bcc: config.bcc || [],
    subject: config.subject || "", failField: config.failField || null,
  };
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
    subject: { getAsync: (cb) => answer(cb, state.subject, false) },
    addHandlerAsync(type, handler, cb) {
      if (type === "olkRecipientsChanged") handlers.push(handler);
      answer(cb, undefined, type !== "olkRecipientsChanged");
    },
  };
  const outlook = config.mode === "outlook";
  window.Office = {
    AsyncResultStatus: { Succeeded, Failed },
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
    fireRecipientsChanged(fields) {
      for (const h of handlers) h({ type: "olkRecipientsChanged", changedRecipientFields: fields || {} });
    },
    handlerCount: () => handlers.length,
    ssoCalls: () => sso.calls,
  };
})();
