// A stand-in for Office.js with what addin/sendcheck.js calls, for a Web Worker (no DOM, like
// classic Outlook's JavaScript-only runtime) or for commands.html. `self.__sendcheck`:
// configure({to, cc, bcc, subject, sender, mailboxVersion, noSession, failField, keepSession,
// ssoToken}) (Office.auth.getAccessToken answers ssoToken, else fails as without an app
// registration); run(handlerName) -> {completions, firstMs, calls}: every event.completed call the handler made
// (null for a call without options) and the notification calls.
(function (scope) {
  var Succeeded = "succeeded";
  var Failed = "failed";
  var associated = {};
  var session = {};
  var calls = [];
  var state = {};

  function answer(callback, value, failed) {
    setTimeout(function () {
      callback(failed ? { status: Failed, error: { code: 9999, message: "stub failure" } }
        : { status: Succeeded, value: value });
    }, 0);
  }
  function field(name) {
    return {
      getAsync: function (callback) {
        answer(callback, state[name].map(function (r) { return Object.assign({}, r); }),
          state.failField === name);
      },
    };
  }
  var sessionData = {
    getAsync: function (key, callback) {
      // Outlook answers a key never set with an error, not with an empty value.
      answer(callback, session[key], !(key in session));
    },
    setAsync: function (key, value, callback) {
      session[key] = value;
      answer(callback, undefined, false);
    },
  };
  var item = {
    to: field("to"),
    cc: field("cc"),
    bcc: field("bcc"),
    subject: { getAsync: function (callback) { answer(callback, state.subject, false); } },
    notificationMessages: {
      replaceAsync: function (key, details, callback) {
        calls.push(["replaceAsync", key, details]);
        answer(callback, undefined, false);
      },
      removeAsync: function (key, callback) {
        calls.push(["removeAsync", key]);
        answer(callback, undefined, false);
      },
    },
  };

  function configure(config) {
    state = {
      to: config.to || [], cc: config.cc || [], bcc: config.bcc || [],
      subject: config.subject || "", sender: config.sender || "megan@contoso.com",
      version: config.mailboxVersion || "1.14", failField: config.failField || null,
      ssoToken: config.ssoToken || null,
    };
    if (!config.keepSession) session = {};
    item.sessionData = config.noSession ? undefined : sessionData;
  }

  function atLeast(version, wanted) {
    var a = version.split(".").map(Number);
    var b = wanted.split(".").map(Number);
    return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
  }

  scope.Office = {
    AsyncResultStatus: { Succeeded: Succeeded, Failed: Failed },
    MailboxEnums: {
      SendModeOverride: { PromptUser: "promptUser" },
      ItemNotificationMessageType: { InformationalMessage: "informationalMessage" },
    },
    context: {
      requirements: {
        isSetSupported: function (name, version) {
          return name === "Mailbox" && atLeast(state.version, version);
        },
      },
      mailbox: {
        item: item,
        userProfile: { get emailAddress() { return state.sender; } },
      },
    },
    actions: { associate: function (name, handler) { associated[name] = handler; } },
    auth: {
      getAccessToken: function () {
        // No app registration in most tests: single sign-on fails as Outlook's does (13xxx).
        return state.ssoToken ? Promise.resolve(state.ssoToken)
          : Promise.reject({ code: 13000, message: "stub: single sign-on unavailable" });
      },
    },
  };

  // Waits for the first completion, then long enough to see a second one if there were any.
  function run(name, settleMs) {
    calls = [];
    var completions = [];
    var started = Date.now();
    var first = null;
    associated[name]({
      completed: function (options) {
        if (first === null) first = Date.now() - started;
        completions.push(options === undefined ? null : options);
      },
    });
    return new Promise(function (resolve) {
      (function poll() {
        var now = Date.now() - started;
        if ((first !== null && now - first >= (settleMs || 400)) || now > 9000) {
          resolve({ completions: completions, firstMs: first, calls: calls.slice() });
        } else {
          setTimeout(poll, 25);
        }
      })();
    });
  }

  scope.__sendcheck = { configure: configure, run: run, associated: associated };
})(self);
