// Who the pane says is asking: an access token for Rollcall's API. In Outlook, Office single
// sign-on (Office.auth.getAccessToken); where a deployment loads msal-browser, nested app
// authentication; in a plain browser tab, the development issuer that only `rollcall demo` runs.
// Tokens live in memory for this page only: never in localStorage, never in a log line.

export class SignInError extends Error {
  constructor(reason, message) {
    super(message || "Sign-in failed");
    this.kind = "not_signed_in";
    this.reason = reason;
  }
}

const EARLY_MS = 60_000; // ask again a minute before expiry: clocks differ, requests take time
let cached = null; // { token, expiresAt }
let pending = null; // the sign-in under way: the pane's first calls share it
let config = null;
let naaApp = null; // the MSAL application, once nested app authentication is used

export async function accessToken({ fresh = false } = {}) {
  if (!fresh && cached && cached.expiresAt - EARLY_MS > Date.now()) return cached.token;
  if (!fresh && pending) return pending;
  cached = null;
  const attempt = obtain(fresh).then((token) => {
    cached = { token, expiresAt: expiry(token) };
    return token;
  }).finally(() => {
    if (pending === attempt) pending = null;
  });
  pending = attempt;
  return attempt;
}

export function forgetToken() {
  cached = null;
  pending = null;
}

async function obtain(fresh) {
  const office = globalThis.Office;
  let ssoError = null;
  if (office?.context?.mailbox && office.auth?.getAccessToken) {
    try {
      return await office.auth.getAccessToken({
        allowSignInPrompt: true, allowConsentPrompt: true, forMSGraphAccess: false,
      });
    } catch (e) {
      // 13xxx codes: not signed in, consent missing, SSO unsupported here. NAA may still work.
      ssoError = new SignInError(`sso_${e?.code ?? "failed"}`, e?.message);
    }
  }
  const settings = await authConfig();
  if (globalThis.msal?.createNestablePublicClientApplication && settings.client_id) {
    return nestedAppAuth(settings, fresh);
  }
  if (settings.dev_token_url) {
    return devToken(settings.dev_token_url);
  }
  throw ssoError || new SignInError("no_method", "This page has no way to sign you in");
}

async function authConfig() {
  if (config) return config;
  const response = await fetch("api/auth/config", { headers: { Accept: "application/json" } })
    .catch(() => null);
  if (!response?.ok) throw new SignInError("no_config", "Rollcall's sign-in settings are missing");
  config = await response.json();
  return config;
}

async function nestedAppAuth(settings, fresh) {
  // One MSAL application per page: it keeps the account and its tokens between requests.
  naaApp ??= globalThis.msal.createNestablePublicClientApplication({
    auth: { clientId: settings.client_id, authority: settings.authority || undefined },
  });
  const app = await naaApp.catch((e) => {
    naaApp = null; // a failed start is tried again on the next sign-in
    throw e;
  });
  const request = { scopes: [settings.scope] };
  try {
    if (!fresh) return (await app.acquireTokenSilent(request)).accessToken;
  } catch {
    // No cached account or an expired refresh token: the popup below asks the person.
  }
  try {
    return (await app.acquireTokenPopup(request)).accessToken;
  } catch (e) {
    throw new SignInError("naa_failed", e?.message);
  }
}

async function devToken(url) {
  // ?as=alex@contoso.com signs in as another of the demo organisation's people.
  const username = new URLSearchParams(globalThis.location?.search || "").get("as") || undefined;
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ username }),
  }).catch(() => null);
  const body = response?.ok ? await response.json().catch(() => null) : null;
  if (!body?.access_token) throw new SignInError("dev_issuer", "The demo sign-in failed");
  return body.access_token;
}

function expiry(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const exp = JSON.parse(atob(part)).exp;
    if (Number.isFinite(exp)) return exp * 1000;
  } catch {
    // Not a JWT we can read: the server still decides; keep it briefly.
  }
  return Date.now() + 5 * 60_000;
}
