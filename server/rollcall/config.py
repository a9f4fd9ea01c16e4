"""Settings: defaults < a config file (ROLLCALL_CONFIG, TOML) < ROLLCALL_* environment variables.

Every setting is in SETTINGS below, which README.md's configuration table mirrors, and lands in
one section of Config (ews, graph, count, policy, identity, store, server, ...): the settings
object of the
component that uses it, where its default is written. A bad value raises ConfigError naming the
variable, so a startup error says what to fix.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .api.settings import ServerSettings
from .core.policy import Policy
from .counting.settings import Settings as CountSettings
from .directory.ews.settings import EwsSettings
from .directory.graph.settings import DirectorySettings, GraphSettings
from .identity.settings import KEYS_REREAD_S, IdentitySettings
from .manifest import GUID, origin
from .sending.settings import SendSettings
from .sending.smtp import parse_relay_url
from .shared.settings import SharedSettings
from .store.settings import StoreSettings


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the environment variable."""


def _int(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return parse


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise ValueError("must be more than 0")
    return value


def _domains(text: str) -> tuple[str, ...]:
    return tuple(d.strip().lower().lstrip("@") for d in text.split(",") if d.strip())


def _addresses(text: str) -> tuple[str, ...]:
    import ipaddress

    found = []
    for word in _words(text):
        try:
            found.append(str(ipaddress.ip_address(word)))
        except ValueError:
            raise ValueError(f"{word!r} is not an IP address") from None
    return tuple(found)


def _dns_server(text: str) -> str:
    from .sending.dns_checks import resolver

    resolver(text.strip())  # ValueError names the problem
    return text.strip()


def _url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be a full URL like https://host/path")
    return text.strip()


def _words(text: str) -> tuple[str, ...]:
    return tuple(w for w in text.replace(",", " ").split() if w)


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text.lower() not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return text.lower()

    return parse


def _under(limit: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = _positive_float(text)
        if value >= limit:
            raise ValueError(f"must be under {limit:g}: the send check gives up on Rollcall then")
        return value

    return parse


def _percent(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 100:
        raise ValueError("must be a percentage from 0 to 100")
    return value


_action = _choice("block", "warn", "off")
# The send check's own timeout in addin/sendcheck.js (TIMEOUT_MS): Outlook grows impatient at 5 s.
SENDCHECK_TIMEOUT_S = 3.5


def _key_url(text: str) -> str:
    if not text.startswith(("https://", "file://")):
        raise ValueError("must be an https:// URL or a file:// path")
    return text


def _readable_file(text: str) -> str:
    path = Path(text.strip())
    try:
        with path.open("rb"):
            pass
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    return str(path)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError("must be a number of seconds, like 120") from None
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be 0 or more seconds")
    return value


def _redis_url(text: str) -> str:
    parts = urlsplit(text.strip())
    if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
        raise ValueError("must be a Redis URL like redis://127.0.0.1:6379/0 (rediss:// for TLS)")
    return text.strip()


def _key_file(text: str) -> str:
    path = _readable_file(text)
    if Path(path).stat().st_size < 32:
        raise ValueError("holds fewer than 32 bytes: make one with head -c 32 /dev/urandom")
    return path


def _guid(text: str) -> str:
    if not GUID.match(text.strip()):
        raise ValueError("must be the app registration's client id (a GUID)")
    return text.strip().lower()


def _tenant(text: str) -> str:
    if not GUID.match(text.strip()):
        raise ValueError("must be the Entra ID tenant (directory) id, a GUID")
    return text.strip().lower()


def _flag(text: str) -> bool:
    # str(True) is what a TOML boolean arrives as.
    value = text.strip().lower()
    if value not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        raise ValueError("must be true or false")
    return value in ("true", "yes", "on", "1")


def _relay_url(text: str) -> str:
    parse_relay_url(text)
    return text.strip()


def _bounce_template(text: str) -> str:
    local, at, domain = text.strip().rpartition("@")
    if "{token}" not in local or not at or not domain or "{" in domain:
        raise ValueError("must be an address whose local part holds {token}, like "
                         "bounces+{token}@rollcall.contoso.com")
    return text.strip()


def _schedule(text: str) -> tuple[float, ...]:
    from .sending.retry import parse_schedule

    return parse_schedule(text)


def _refresh(text: str) -> float:
    value = float(text)
    if not KEYS_REREAD_S <= value <= 86400:
        raise ValueError(f"must be from {KEYS_REREAD_S:g} to 86400 seconds")
    return value


@dataclass(frozen=True, slots=True)
class Config:
    """The effective settings, one section per component; each section is the settings object
    that component takes, so every default is written once, beside the code that uses it."""

    directory: DirectorySettings = field(default_factory=DirectorySettings)
    ews: EwsSettings = field(default_factory=EwsSettings)
    graph: GraphSettings = field(default_factory=GraphSettings)
    count: CountSettings = field(default_factory=CountSettings)
    policy: Policy = field(default_factory=Policy)
    identity: IdentitySettings = field(default_factory=IdentitySettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    sending: SendSettings = field(default_factory=SendSettings)
    shared: SharedSettings = field(default_factory=SharedSettings)

    def with_settings(self, **settings: Any) -> Config:
        """This configuration with some settings replaced, named as in SETTINGS (values already
        typed, as the demo and the tests give them)."""
        changes: dict[str, dict[str, Any]] = {}
        for name, value in settings.items():
            if name not in SETTINGS:
                raise ConfigError(f"ROLLCALL_{name.upper()} is not a Rollcall setting")
            section, key = SETTINGS[name].section, SETTINGS[name].field
            changes.setdefault(section, {})[key] = value
        try:
            return replace(self, **{section: replace(getattr(self, section), **values)
                                    for section, values in changes.items()})
        except ValueError as e:
            # A section refused a combination (concurrency above its maximum, say): the same
            # plain configuration error as a value that does not parse, never a traceback.
            raise ConfigError(str(e)) from None

    def require_oidc(self) -> None:
        """Raise ConfigError naming the identity setting the API needs but does not have."""
        if not self.identity.issuer:
            raise ConfigError("ROLLCALL_OIDC_ISSUER is not set: Rollcall answers the API only "
                              "for callers its identity provider signed in (see README.md)")
        if not self.identity.audience:
            raise ConfigError("ROLLCALL_OIDC_AUDIENCE is not set: name Rollcall's API as the "
                              "tokens carry it (client id or api://HOST/CLIENT-ID)")

    def require_ews(self) -> None:
        """Raise ConfigError naming the first EWS setting a count needs but does not have."""
        missing = self.ews_missing()
        if missing:
            raise ConfigError(f"ROLLCALL_{missing[0].upper()} is not set: Rollcall needs it to "
                              "reach Exchange (see the configuration table in README.md)")
        if self.ews.auth == "oauth" and not (self.ews.url or "").lower().startswith("https://"):
            raise ConfigError("ROLLCALL_EWS_URL must be https:// with ROLLCALL_EWS_AUTH=oauth: "
                              "bearer tokens never travel over plain HTTP")

    def ews_missing(self) -> list[str]:
        """The settings Exchange needs and lacks: a service account's, or with OAuth the
        confidential client that trades callers' tokens for Exchange ones."""
        needed = ["ews_url", "ews_username", "ews_password"]
        if self.ews.auth == "oauth":
            needed = ["ews_url", "oidc_issuer", "oidc_client_id", "oidc_client_secret"]
        return [name for name in needed if not self.get(name)]

    def require_graph(self) -> None:
        """Raise ConfigError naming the first Graph setting a count needs but does not have."""
        missing = self.graph_missing()
        if missing:
            raise ConfigError(f"ROLLCALL_{missing[0].upper()} is not set: Rollcall needs it to "
                              "reach Microsoft Graph (see \"Exchange Online through Microsoft "
                              "Graph\" in README.md)")
        for name in ("graph_url", "graph_exchange_url"):
            if not str(self.get(name)).lower().startswith("https://"):
                raise ConfigError(f"ROLLCALL_{name.upper()} must be https://: bearer tokens "
                                  "never travel over plain HTTP")

    def graph_missing(self) -> list[str]:
        """The settings Graph needs and lacks: Rollcall's app registration, and with client
        credentials outside a request (the CLI, the send worker) the mailbox it acts for."""
        needed = ["graph_client_id", "graph_client_secret"]
        if not self.graph.authority:
            needed.insert(0, "graph_tenant_id")
        return [name for name in needed if not self.get(name)]

    def get(self, name: str) -> Any:
        """One setting's value by its name in SETTINGS (`ews_url`, `policy_cycle`, ...)."""
        return getattr(getattr(self, SETTINGS[name].section), SETTINGS[name].field)


@dataclass(frozen=True, slots=True)
class Setting:
    """Where one ROLLCALL_* variable lands (section and field), how it is read, what it means."""

    section: str
    field: str
    parse: Callable[[str], Any]
    help: str


def _settings(section: str, prefix: str,
              rows: dict[str, tuple[Callable[[str], Any], str]]) -> dict[str, Setting]:
    """A section's settings; the variable is ROLLCALL_ + PREFIX + FIELD, upper-cased."""
    return {prefix + name: Setting(section, name, parse, text)
            for name, (parse, text) in rows.items()}


_RULE_HELP = {
    "unresolved": "a To/Cc/Bcc entry nobody matches, or several people match",
    "per_message": "more people in one message than POLICY_PER_MESSAGE_MAX",
    "per_hour": "a sender's people in the last hour pass POLICY_PER_HOUR_MAX",
    "mismatch": "the count differs from the expected or the last count",
    "incomplete": "some lists could not be expanded",
    "deleted": "contacts whose cards were deleted still get it",
    "cycle": "lists contain each other in a loop",
    "external": "more external recipients than POLICY_EXTERNAL_MAX",
    "large_audience": "more people than POLICY_LARGE_AUDIENCE_MAX",
    "invalid_members": "list members with no usable address",
    "too_deep": "lists nested deeper than ROLLCALL_MAX_NESTING",
}

# name -> Setting; the README's table lists the same variables.
SETTINGS: dict[str, Setting] = {
    **_settings("ews", "ews_", {
        "url": (_url, "full EWS endpoint URL, https://mail.example.com/EWS/Exchange.asmx"),
        "username": (str, "service account (UPN or SMTP) that impersonates senders"),
        "password": (str, "its password; or ROLLCALL_EWS_PASSWORD_FILE naming a file"),
        "auth": (_choice("basic", "ntlm", "oauth"),
                 "basic or ntlm (a service account), or oauth (each caller's own token)"),
        "build": (str, "Exchange build, e.g. 15.1.2507.6: skips the version probe"),
        "timeout_s": (_positive_float, "seconds one EWS request may take"),
        "oauth_scope": (str, "what oauth asks for; default ORIGIN/EWS.AccessAsUser.All of the URL"),
        "ca_file": (_readable_file, "CA bundle for Exchange's HTTPS; default the system's"),
    }),
    "directory": Setting("directory", "kind", _choice("ews", "graph"),
                         "the organisation's directory: ews (Exchange's EWS) or graph "
                         "(Exchange Online through Microsoft Graph)"),
    **_settings("graph", "graph_", {
        "tenant_id": (_tenant, "Entra ID tenant of Rollcall's app registration"),
        "client_id": (str, "the app registration's application (client) id"),
        "client_secret": (str, "its secret; or ROLLCALL_GRAPH_CLIENT_SECRET_FILE naming a file"),
        "auth": (_choice("obo", "app"), "obo: each caller's token traded on behalf of them "
                 "(the server's default); app: client credentials (the CLI, the send worker)"),
        "url": (_url, "Microsoft Graph's root, default https://graph.microsoft.com"),
        "authority": (_url, "token authority; default Entra ID for the tenant; any OpenID "
                      "authority (national clouds, AD FS)"),
        "ca_file": (_readable_file, "CA bundle for Graph's and the authority's HTTPS"),
        "exchange_url": (_url, "Exchange Online admin API's root (dynamic lists' members), "
                         "default https://outlook.office365.com"),
        "timeout_s": (_positive_float, "seconds one Graph request may take"),
    }),
    **_settings("shared", "", {
        "redis_url": (_redis_url, "Redis that several processes share (expansions, resolutions, "
                      "counts in flight, rate limits): redis://host:6379/0; default none, each "
                      "process its own"),
        "resolve_ttl_s": (_seconds, "how long a resolved entry is reused for the same sender "
                          "(seconds; 0 never)"),
    }),
    **_settings("count", "", {
        "mailbox": (str, "mailbox a count acts as when the caller names none"),
        "max_nesting": (_int(1), "lists nested deeper get a nested_too_deep finding"),
        "internal_domains": (_domains, "comma-separated; recipients elsewhere are external"),
        "concurrency": (_int(1), "EWS requests in flight when a count starts"),
        "max_concurrency": (_int(1), "most EWS requests in flight per count (26 at most): "
                            "grown to while Exchange keeps up, halved when it is busy"),
        "deadline_s": (_positive_float, "a count answers by then, complete or not"),
        "cache_ttl_s": (_seconds, "how long list expansions are reused (seconds)"),
        "max_entries": (_int(1), "most recipients one count request may carry"),
    }),
    **_settings("store", "", {
        "instance_path": (str, "folder for Rollcall's own files"),
        "database_url": (str, "SQLAlchemy URL; default a SQLite file in the instance folder"),
        "list_domain": (str, "alias domain: NAME@domain means the Rollcall list NAME"),
        "history_days": (_int(1), "days a count is kept as the next one's \"last time\""),
    }),
    **_settings("server", "", {
        "frame_ancestors": (_words, "hosts allowed to frame the pane; default Outlook's own"),
        "addin_dir": (str, "folder of the pane's files; default addin/ in the checkout"),
        "public_url": (origin, "the origin the pane is served from; default the request's"),
        "rate_limit_per_minute": (_int(0), "count and validate requests per caller a minute; "
                                  "0 off"),
        "rate_limit_burst": (_int(1), "requests a caller may make at once before the limit"),
    }),
    **_settings("sending", "", {
        "smtp_url": (_relay_url, "the SMTP relay tracked sends go through: smtp://host:587 "
                     "(STARTTLS when offered; ?starttls=required insists) or smtps://host:465"),
        "smtp_username": (str, "its user, if it wants AUTH (a connector relay needs none)"),
        "smtp_password": (str, "its password; or ROLLCALL_SMTP_PASSWORD_FILE naming a file"),
        "smtp_fallback_url": (_relay_url, "a second relay, used while the first cannot be "
                              "reached or refuses Rollcall"),
        "smtp_fallback_username": (str, "the fallback relay's user"),
        "smtp_fallback_password": (str, "its password; or ROLLCALL_SMTP_FALLBACK_PASSWORD_FILE"),
        "smtp_auth": (_choice("password", "oauth"), "password, or oauth: XOAUTH2 with a "
                      "client-credentials token (Exchange Online SMTP AUTH)"),
        "smtp_ca_file": (_readable_file, "CA bundle for the relays' TLS; default the system's"),
        "smtp_timeout_s": (_positive_float, "seconds one SMTP reply may take"),
        "smtp_oauth_scope": (str, "what ROLLCALL_SMTP_AUTH=oauth asks for"),
        "helo_name": (str, "the name Rollcall gives in EHLO; default this host's"),
        "bounce_address": (_bounce_template, "VERP envelope sender, bounces+{token}@DOMAIN; "
                           "default the sender's own address"),
        "dkim_domain": (str, "DKIM signing domain (d=); with _SELECTOR and _KEY_FILE"),
        "dkim_selector": (str, "DKIM selector (s=)"),
        "dkim_key_file": (_readable_file, "PEM private key that signs"),
        "tracking": (_choice("off", "anonymous", "individual"), "opens and clicks: off, per "
                     "send (anonymous, default) or per person (individual)"),
        "tracking_key_file": (_key_file, "the key signing tracking and unsubscribe links, "
                              "the same file on every machine; default made in the instance "
                              "folder"),
        "dnsbl_zones": (_domains, "DNS blacklists the relay health check asks, comma-separated"),
        "dns_server": (_dns_server, "the DNS server health checks ask (host or host:port); "
                       "default the system's"),
        "relay_public_ips": (_addresses, "the addresses the relays' mail leaves from, when "
                             "their names resolve to private ones (blacklists, SPF)"),
        "bounce_mailbox": (str, "an Exchange mailbox whose bounce-backs Rollcall reads over EWS "
                           "and moves to its Processed folder"),
        "bounce_warn_percent": (_percent, "a send's bounce rate warns the sender and admins "
                                "from here"),
        "bounce_stop_percent": (_percent, "a send pauses itself over this bounce rate"),
        "bounce_min_sample": (_int(1), "copies tried before the stop rate applies"),
        "bounce_poll_s": (_positive_float, "how often the bounce mailbox is read"),
    }),
    **_settings("sending", "send_", {
        "connections": (_int(1), "SMTP sessions at once per worker process"),
        "retry_s": (_schedule, "waits after each temporary refusal, seconds, then hourly"),
        "expire_s": (_positive_float, "a recipient still refused after this has failed"),
        "rate_per_hour": (_int(1), "recipients an hour, per relay and per sender"),
        "rate_per_minute": (_int(1), "recipients a minute, per relay and per sender"),
        "lease_s": (_positive_float, "a claimed recipient goes back to the queue when its "
                    "worker is silent this long"),
    }),
    "worker": Setting("sending", "worker", _flag, "`rollcall serve` sends in-process (on); "
                      "off where dedicated `rollcall worker` processes run"),
    **_settings("identity", "oidc_", {
        "issuer": (str, "the identity provider's issuer; its tokens are the only ones taken"),
        "audience": (_words, "accepted token audiences: the client id, api://HOST/CLIENT-ID"),
        "jwks_url": (_key_url, "signing keys (https:// or file://); default from discovery"),
        "ca_file": (_readable_file, "CA bundle for the issuer's HTTPS; default the system's"),
        "client_id": (_guid, "the add-in's app registration (manifest, nested app auth)"),
        "client_secret": (str, "its secret, for oauth; or ROLLCALL_OIDC_CLIENT_SECRET_FILE"),
        "tenant_id": (_tenant, "Entra ID tenant every token's tid must name; default the "
                      "issuer URL's"),
        "allow_guests": (_flag, "let guest (B2B) accounts in, acting as their upn; default "
                         "false"),
        "keys_refresh_s": (_refresh, "the issuer's keys are read again this often (seconds): "
                           "a withdrawn key stops working within it"),
    }),
    **_settings("identity", "", {
        "admin_group": (str, "object id of a group whose members are admins (groups claim)"),
    }),
    "validate_deadline_s": Setting("policy", "deadline_s", _under(SENDCHECK_TIMEOUT_S),
                                   "the send check's count answers by then"),
    **_settings("policy", "policy_", {rule: (_action, text) for rule, text in _RULE_HELP.items()}),
    **_settings("policy", "policy_", {
        "per_message_max": (_int(1), "the most people one message may reach"),
        "per_hour_max": (_int(1), "the most people a sender may reach in an hour"),
        "mismatch_percent": (_percent, "a difference within this share of expected is fine"),
        "mismatch_absolute": (_int(0), "... or within this many people, if larger"),
        "external_max": (_int(0), "external recipients allowed before the rule applies"),
        "large_audience_max": (_int(1), "people in a large audience (MailTips' 25)"),
    }),
}


def load_config(environ: Mapping[str, str] | None = None, **overrides: Any) -> Config:
    """The effective configuration; `overrides` (tests, the CLI) win over everything."""
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    _no_unknown_variables(env)
    if env.get("ROLLCALL_CONFIG"):
        raw.update(_file(Path(env["ROLLCALL_CONFIG"])))
    for name in SETTINGS:
        variable = f"ROLLCALL_{name.upper()}"
        if variable in env:
            raw[name] = env[variable]
    for name in ("ews_password", "graph_client_secret", "oidc_client_secret", "smtp_password",
                 "smtp_fallback_password"):
        _secret_from_file(name, raw, env)
    values: dict[str, Any] = {}
    for name, value in raw.items():
        values[name] = _parse(name, value)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Config().with_settings(**values)


# ROLLCALL_* variables that are not settings: where the settings come from, and test tools'.
OTHER_VARIABLES = frozenset({
    "ROLLCALL_CONFIG", "ROLLCALL_EWS_PASSWORD_FILE", "ROLLCALL_OIDC_CLIENT_SECRET_FILE",
    "ROLLCALL_GRAPH_CLIENT_SECRET_FILE",
    "ROLLCALL_SMTP_PASSWORD_FILE", "ROLLCALL_SMTP_FALLBACK_PASSWORD_FILE",
    "ROLLCALL_TEST_DATABASE_URL", "ROLLCALL_SAVE_POSTFIX_DSN",
    "ROLLCALL_EWS_SCHEMA_DIR", "ROLLCALL_CHROMIUM",
})


def _secret_from_file(name: str, raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """ROLLCALL_<NAME>_FILE: a secret read from a file (a mounted secret), unless set directly."""
    variable = f"ROLLCALL_{name.upper()}_FILE"
    if name in raw or not env.get(variable):
        return
    path = Path(env[variable])
    try:
        raw[name] = path.read_text(encoding="utf-8").strip()
    except OSError as e:
        raise ConfigError(f"{variable}: cannot read {path}: {e.strerror}") from None
    if not raw[name]:
        raise ConfigError(f"{variable}: {path} is empty")


def _no_unknown_variables(env: Mapping[str, str]) -> None:
    """A misspelt setting would otherwise be ignored in silence: name it, and the likely one."""
    known = {f"ROLLCALL_{name.upper()}" for name in SETTINGS} | OTHER_VARIABLES
    for variable in sorted(env):
        if variable.startswith("ROLLCALL_") and variable not in known:
            close = difflib.get_close_matches(variable, sorted(known), n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise ConfigError(f"{variable} is not a Rollcall setting{hint} (see the "
                              "configuration table in README.md)")


def _parse(name: str, value: Any) -> Any:
    parser = SETTINGS[name].parse
    if isinstance(value, list) and parser in (_domains, _words):
        value = ",".join(value)
    try:
        return parser(str(value))
    except ValueError as e:
        raise ConfigError(f"ROLLCALL_{name.upper()}={value!r}: {e}") from None


def _file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"ROLLCALL_CONFIG: cannot read {path}: {e.strerror}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"ROLLCALL_CONFIG: {path} is not valid TOML: {e}") from None
    unknown = set(data) - set(SETTINGS)
    if unknown:
        raise ConfigError(f"ROLLCALL_CONFIG: {path} has unknown settings {sorted(unknown)}")
    return data
