// Rollcall's send check: the handlers the manifest's LaunchEvents name. One self-contained classic
// script: classic Outlook on Windows runs it in a JavaScript-only runtime (no DOM, no modules, no
// Office.onReady); Outlook on the web and new Outlook load it from commands.html.
//
// OnMessageRecipientsChanged asks the server to start counting (a warm-up), so that OnMessageSend
// mostly reads lists already in Rollcall's cache. OnMessageSend asks for a verdict and calls
// event.completed exactly once on every path, within TIMEOUT_MS. When Rollcall cannot answer
// (down, slow, broken) the message goes: our outage must never stop an organisation's mail. The
// compose window says so once, in a notification bar.

/* global Office */

// The server writes its own origin here when it serves this file, because the JavaScript-only
// runtime has no page address for relative URLs. Served some other way, the script asks Office
// (Mailbox 1.14) and then its own location.
var ROLLCALL_ORIGIN = "__ROLLCALL_ORIGIN__";
var TIMEOUT_MS = 3500; // Outlook says "taking longer than expected" at 5 s, loading included
var PANE_BUTTON = "Rollcall.CountButton"; // the manifest's task pane button
var REVIEW_LABEL = "Review in Rollcall"; // Outlook allows at most 20 characters
var MAX_MESSAGE = 500; // Outlook's limit for errorMessage
var NOTICE_KEY = "rollcallUnavailable";
var NOTICE = "Rollcall can't check recipients right now, so this message will be sent "
  + "without its check.";
var MESSAGE_ID_KEY = "rollcallMessageId";
var NOTICED_KEY = "rollcallNoticed";
var WARNED_KEY = "rollcallWarned";
var SEND_AGAIN = " To send it anyway, choose Send again.";
var DEV_TOKEN_PATH = "/dev-issuer/token"; // only `rollcall demo` serves it, on loopback
var token = null; // this runtime's access token for Rollcall; never logged, never stored

function rollcallOrigin() {
  if (/^https?:\/\/[^/]+$/.test(ROLLCALL_ORIGIN)) return ROLLCALL_ORIGIN;
  var places = [];
  try {
    places.push(Office.context.urls.javascriptRuntimeUrl);
  } catch (e) {
    // Before Mailbox 1.14 Office does not say where this file came from.
  }
  if (typeof self !== "undefined" && self.location) places.push(self.location.href);
  for (var i = 0; i < places.length; i++) {
    var match = /^(https?:\/\/[^/]+)/.exec(places[i] || "");
    if (match) return match[1];
  }
  return "";
}

function currentItem() {
  return Office.context.mailbox.item;
}

function supports(version) {
  try {
    return Boolean(Office.context.requirements.isSetSupported("Mailbox", version));
  } catch (e) {
    return false;
  }
}

// An Office callback API as a promise; Outlook reports failures in asyncResult.status.
function officeCall(start) {
  return new Promise(function (resolve, reject) {
    start(function (result) {
      if (result && result.status === Office.AsyncResultStatus.Succeeded) resolve(result.value);
      else reject(new Error((result && result.error && result.error.message) || "Outlook failed"));
    });
  });
}

function readRecipients(item) {
  var fields = ["to", "cc", "bcc"].filter(function (name) {
    return item[name] && item[name].getAsync;
  });
  return Promise.all(fields.map(function (name) {
    return officeCall(function (done) { item[name].getAsync(done); });
  })).then(function (lists) {
    var out = [];
    lists.forEach(function (list) {
      (list || []).forEach(function (r) {
        out.push({ displayName: r.displayName || "", emailAddress: r.emailAddress || "" });
      });
    });
    return out;
  });
}

function readSubject(item) {
  if (!item.subject || !item.subject.getAsync) return Promise.resolve("");
  return officeCall(function (done) { item.subject.getAsync(done); })
    .then(function (subject) { return subject || ""; }, function () { return ""; });
}

function sessionGet(item, key) {
  var data = item.sessionData;
  if (!data || !data.getAsync) return Promise.resolve(null);
  return officeCall(function (done) { data.getAsync(key, done); })
    .then(function (value) { return value || null; }, function () { return null; });
}

function sessionSet(item, key, value) {
  var data = item.sessionData;
  if (!data || !data.setAsync) return Promise.resolve(false);
  return officeCall(function (done) { data.setAsync(key, value, done); })
    .then(function () { return true; }, function () { return false; });
}

// One id per message being written: checking it again (Don't send, then Send) then replaces its
// place in the sender's hourly window instead of adding to it.
function messageId(item) {
  return sessionGet(item, MESSAGE_ID_KEY).then(function (id) {
    if (id) return id;
    var fresh = "m-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
    return sessionSet(item, MESSAGE_ID_KEY, fresh)
      .then(function (saved) { return saved ? fresh : undefined; });
  });
}

// Rollcall acts as the person the access token names, so the body never says who sends. Office
// single sign-on gives the token here once the app registration exists (no prompts: this runtime
// has no window); `rollcall demo` serves a development issuer instead. Without either the request
// goes without one, Rollcall answers 401, and the message goes like on any other failure.
function accessToken(fresh) {
  if (token && !fresh) return Promise.resolve(token);
  token = null;
  var sso = Office.auth && Office.auth.getAccessToken
    ? Office.auth.getAccessToken({ allowSignInPrompt: false, allowConsentPrompt: false,
      forMSGraphAccess: false })
    : Promise.reject(new Error("no single sign-on here"));
  return Promise.resolve(sso).catch(developmentToken).then(function (value) {
    token = value || null;
    return token;
  }, function () { return null; });
}

function developmentToken() {
  return fetch(rollcallOrigin() + DEV_TOKEN_PATH, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: "{}",
  }).then(function (response) {
    if (!response.ok) throw new Error("no development issuer");
    return response.json();
  }).then(function (answer) { return answer.access_token; });
}

function post(path, body, signal, fresh) {
  return accessToken(fresh).then(function (bearer) {
    var headers = { "Content-Type": "application/json" };
    if (bearer) headers.Authorization = "Bearer " + bearer;
    return fetch(rollcallOrigin() + path, {
      method: "POST", headers: headers, body: JSON.stringify(body), signal: signal,
    });
  }).then(function (response) {
    // An expired token: one more try with a new one, still within the handler's time limit.
    if (response.status === 401 && !fresh) return post(path, body, signal, true);
    if (response.status === 202) return null;
    if (!response.ok) throw new Error("Rollcall answered HTTP " + response.status);
    return response.json();
  });
}

// Runs work(signal) and completes the event exactly once: with what work resolves to, or with
// `fallback` (after onFailure) when work fails or TIMEOUT_MS passes first.
function guarded(event, work, fallback, onFailure) {
  var finished = false;
  var controller = typeof AbortController === "function" ? new AbortController() : null;
  var timer = null;
  function finish(options) {
    if (finished) return;
    finished = true;
    if (timer !== null) clearTimeout(timer);
    if (options === undefined) event.completed();
    else event.completed(options);
  }
  function fail() {
    if (finished) return;
    try {
      onFailure();
    } catch (e) {
      // Saying that we failed must not keep the event from completing.
    }
    finish(fallback);
  }
  timer = setTimeout(function () {
    if (controller) controller.abort();
    fail();
  }, TIMEOUT_MS);
  new Promise(function (resolve) { resolve(work(controller ? controller.signal : undefined)); })
    .then(finish, fail);
}

function clip(text, room) {
  return text.length <= room ? text : text.slice(0, room - 1) + "…";
}

function held(message, warn) {
  var options = { allowEvent: false, errorMessage: clip(message, MAX_MESSAGE) };
  if (supports("1.14")) {
    options.cancelLabel = REVIEW_LABEL; // Don't Send becomes a button that opens the pane
    options.commandId = PANE_BUTTON;
    if (warn) {
      var modes = Office.MailboxEnums && Office.MailboxEnums.SendModeOverride;
      options.sendModeOverride = (modes && modes.PromptUser) || "promptUser";
    }
  }
  return options;
}

function verdictOptions(item, verdict) {
  var action = verdict && verdict.action;
  var message = String((verdict && verdict.message) || "");
  if (action === "block") return held(message, false);
  // "allow", or an answer this script does not understand: that is our problem, not the sender's.
  if (action !== "warn" || !message) return { allowEvent: true };
  if (supports("1.14")) return held(message, true);
  // Before Mailbox 1.14 an add-in cannot offer Send Anyway: a second Send of the same warning is
  // the sender's "send anyway". If that cannot be remembered, holding would trap the sender.
  var rules = (verdict.findings || []).map(function (f) { return f.rule; }).sort().join(",");
  return sessionGet(item, WARNED_KEY).then(function (warned) {
    if (warned === rules) return { allowEvent: true };
    return sessionSet(item, WARNED_KEY, rules).then(function (saved) {
      if (!saved) return { allowEvent: true };
      return held(clip(message, MAX_MESSAGE - SEND_AGAIN.length) + SEND_AGAIN, false);
    });
  });
}

// Says once per message that the check is off, until Rollcall answers again.
function notifyUnavailable(item) {
  var bar = item && item.notificationMessages;
  if (!bar || !bar.replaceAsync) return;
  sessionGet(item, NOTICED_KEY).then(function (noticed) {
    if (noticed) return;
    sessionSet(item, NOTICED_KEY, "1");
    bar.replaceAsync(NOTICE_KEY, {
      type: Office.MailboxEnums.ItemNotificationMessageType.InformationalMessage,
      message: NOTICE,
      icon: "Icon.16x16",
      persistent: false,
    }, function () { /* a notice Outlook cannot show changes nothing */ });
  });
}

function recovered(item) {
  var bar = item.notificationMessages;
  if (!bar || !bar.removeAsync) return;
  sessionGet(item, NOTICED_KEY).then(function (noticed) {
    if (!noticed) return;
    sessionSet(item, NOTICED_KEY, "");
    bar.removeAsync(NOTICE_KEY, function () { /* already gone */ });
  });
}

function onMessageSendHandler(event) {
  var item = null;
  guarded(event, function (signal) {
    item = currentItem();
    return Promise.all([readRecipients(item), readSubject(item), messageId(item)])
      .then(function (parts) {
        if (!parts[0].length) return { allowEvent: true };
        var body = { recipients: parts[0], subject: parts[1],
          message_id: parts[2] };
        return post("/api/validate", body, signal)
          .then(function (verdict) { return verdictOptions(item, verdict); });
      });
  }, { allowEvent: true }, function () { notifyUnavailable(item); });
}

function onMessageRecipientsChangedHandler(event) {
  var item = null;
  guarded(event, function (signal) {
    item = currentItem();
    return readRecipients(item).then(function (recipients) {
      if (!recipients.length) return undefined;
      return post("/api/validate/warmup", { recipients: recipients }, signal)
        .then(function () { recovered(item); });
    });
  }, undefined, function () { notifyUnavailable(item); });
}

if (typeof Office !== "undefined" && Office.actions && Office.actions.associate) {
  Office.actions.associate("onMessageSendHandler", onMessageSendHandler);
  Office.actions.associate("onMessageRecipientsChangedHandler", onMessageRecipientsChangedHandler);
}
