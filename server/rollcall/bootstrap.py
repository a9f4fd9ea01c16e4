"""The one place that builds Rollcall: `bootstrap(config)` -> Services.

The Flask app, the command line, the benchmarks and (next) the send worker all start here, so
the wiring is written once. Only this module picks adapters: the organisation's directory (EWS,
or Microsoft Graph with ROLLCALL_DIRECTORY=graph), the list store, the identity provider. Tests
swap a part by passing it in (`bootstrap(config, organisation=..., store=...)`), as
cosmicpython's bootstrap does. Nothing connects here: each part connects on first use. Flask is
not imported, so counting from the command line does not load it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .config import Config, ConfigError, load_config
from .counting.cache import ExpansionCache, ResolutionCache
from .counting.flight import Chained, Flights, LocalFlights
from .counting.service import CountService
from .directory.organisation import Organisation
from .directory.own_lists import OwnLists
from .directory.routing import Router
from .lists import ListsService
from .sendcheck import SendCheck
from .sending.bounces import BounceIntake
from .sending.control import SmtpControls
from .sending.diagnostics import RelayDiagnostics
from .sending.service import SendService
from .serverinfo import ServerInfo

if TYPE_CHECKING:
    from .identity import TokenValidator
    from .identity.on_behalf_of import OnBehalfOf
    from .sending.worker import SendWorker
    from .store.repository import ListStore


DEFAULT_PUBLIC_URL = "https://localhost:3000"  # where unsubscribe links point by default


@dataclass(frozen=True, slots=True)
class PaneAuth:
    """What GET /api/auth/config tells the pane: MSAL's client id, scope and authority, and the
    development issuer's token URL where one is served (the demo, the tests)."""

    client_id: str | None
    scope: str | None
    authority: str | None
    dev_token_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"client_id": self.client_id, "scope": self.scope, "authority": self.authority,
                "dev_token_url": self.dev_token_url}


@dataclass(slots=True)
class Services:
    """Rollcall, built: what the API routes, the command line and workers call."""

    config: Config
    store: Callable[[], ListStore]  # opened (created, migrated) on first use
    organisation: Organisation  # the organisation's directory
    counts: CountService
    send_check: SendCheck
    lists: ListsService
    sends: SendService
    controls: SmtpControls
    bounces: BounceIntake
    diagnostics: RelayDiagnostics
    server_info: ServerInfo
    identity: TokenValidator | None  # None: no issuer configured, the API answers 503
    on_behalf_of: OnBehalfOf | None  # EWS over oauth, Graph over obo: callers' tokens traded
    pane_auth: PaneAuth
    shared: Callable[[], dict[str, Any]]  # the shared cache's state: in memory, or Redis's

    def health(self) -> dict[str, Any]:
        """GET /healthz's answer: the database (needed) and Redis (a cache: down is slower,
        not broken), asked now."""
        try:
            database: dict[str, Any] = {"ok": True, **_database_health(self.store)}
        except Exception as e:  # noqa: BLE001 - a health check reports, never raises
            database = {"ok": False, "error": type(e).__name__}
        shared = self.shared()
        return {"ok": bool(database["ok"]), "database": {"ok": database["ok"],
                                                         "backend": database.get("backend"),
                                                         "error": database.get("error")},
                "redis": {k: shared.get(k) for k in ("backend", "ok", "down_since")}}


def bootstrap(config: Config | None = None, *, organisation: Organisation | None = None,
              store: Callable[[], ListStore] | None = None, **overrides: Any) -> Services:
    """Services for `config` (else the environment's, with `overrides`); `organisation` and
    `store` replace the configured adapters (tests)."""
    config = config or load_config(**overrides)
    obo = on_behalf_of(config)
    if organisation is None:
        organisation = (graph_organisation(config, obo) if config.directory.kind == "graph"
                        else ews_organisation(config, obo))
    store = store or lazy_store(config)
    own = OwnLists(store, config.store.list_domain)
    cache, resolutions, flights, shared = shared_state(config)
    counts = CountService(Router(own, organisation).for_count, config.count,
                          organisation.version, store, own.expected,
                          service_account=config.ews.username,
                          history_days=config.store.history_days,
                          bounced=hard_bounces(store),
                          cache=cache, resolutions=resolutions, flights=flights)
    validator = token_validator(config)
    controls = SmtpControls(config.sending, lambda: store().engine)
    return Services(
        config=config,
        store=store,
        organisation=organisation,
        counts=counts,
        send_check=SendCheck(counts, config.policy, store),
        lists=ListsService(store, counts),
        sends=SendService(counts, config.policy, config.sending, lambda: store().engine,
                          config.server.public_url or DEFAULT_PUBLIC_URL,
                          lambda: tracking_key(config)),
        controls=controls,
        bounces=BounceIntake(config.sending, lambda: store().engine),
        diagnostics=RelayDiagnostics(config.sending, lambda: store().engine,
                                     lambda: smtp_token(config), config.count.mailbox),
        server_info=ServerInfo(organisation, lambda: _database_health(store), counts.cache,
                               config.count.cache_ttl_s, validator, config.identity.issuer,
                               counts.internal_domains, config.count.internal_domains,
                               smtp=controls.status, shared=shared),
        identity=validator,
        on_behalf_of=obo,
        pane_auth=pane_auth(config),
        shared=shared,
    )


def shared_state(config: Config) -> tuple[ExpansionCache, ResolutionCache, Flights,
                                          Callable[[], dict[str, Any]]]:
    """The expansion and resolution caches and the single flight: through Redis when
    ROLLCALL_REDIS_URL is set (every process shares them), else this process's own; and a
    function saying which, and whether Redis answers."""
    ttl = config.shared.resolve_ttl_s
    if not config.shared.redis_url:
        return (ExpansionCache(), ResolutionCache(ttl), LocalFlights(),
                lambda: {"backend": "memory", "ok": True, "error": None, "down_since": None})
    from .shared.caches import SharedExpansionCache, SharedResolutionCache
    from .shared.flights import RedisFlights
    from .shared.redis_link import RedisLink

    link = RedisLink(config.shared.redis_url)
    scope = config.directory.kind  # EWS's and Graph's answers never mix
    return (SharedExpansionCache(link, config.count.cache_ttl_s, scope),
            SharedResolutionCache(link, ttl, scope),
            Chained(LocalFlights(), RedisFlights(link)), link.state)


def hard_bounces(store: Callable[[], ListStore]) -> Callable[[Any], list[str]]:
    """Of some addresses, those a hard bounce put on the suppression list (the count's `bounced`
    finding). The list is kept in memory and read again only when its version changes (any
    process may add to it): one small query per count instead of one over every address, a
    warm send check's largest database cost."""
    kept: list[tuple[Any, frozenset[str]]] = []
    lock = threading.Lock()

    def bounced(people: Any) -> list[str]:
        from .store.outbox import Outbox

        outbox = Outbox(store().engine)
        version = outbox.suppressions_version()
        with lock:
            if not kept or kept[0][0] != version:
                kept[:] = [(version, outbox.all_hard_bounced())]
            suppressed = kept[0][1]
        return sorted({p.lower() for p in people} & suppressed) if suppressed else []

    return bounced


def send_worker(services: Services, name: str | None = None) -> SendWorker | None:
    """The worker that drains the outbox through the configured relays; None without one."""
    sending = services.config.sending
    if not sending.relays():
        return None
    from .sending.message import Dkim
    from .sending.retry import RetryPolicy
    from .sending.smtp import Session, relay, tls_context
    from .sending.worker import Limits, SendWorker
    from .store.outbox import Outbox

    relays = [relay(name, settings) for name, settings in sending.relays()]
    tls = tls_context(sending.smtp_ca_file)
    oauth = smtp_token(services.config) if sending.smtp_auth == "oauth" else None

    def session(r: Any) -> Session:
        return Session(r, timeout_s=sending.smtp_timeout_s, helo=sending.helo_name, tls=tls,
                       oauth_token=oauth)

    dkim = None
    if sending.dkim_domain and sending.dkim_selector and sending.dkim_key_file:
        dkim = Dkim.from_files(sending.dkim_domain, sending.dkim_selector, sending.dkim_key_file)
    return SendWorker(
        Outbox(services.store().engine), relays,
        Limits(sending.rate_per_minute, sending.rate_per_hour, sending.lease_s,
               sending.connections),
        session, retry=RetryPolicy(schedule_s=sending.retry_s, expire_s=sending.expire_s),
        bounce_template=sending.bounce_address,
        tracking_key=tracking_key(services.config), dkim=dkim, name=name,
        bounce_check=services.bounces.guard.check)


def bounce_poller(services: Services) -> Any:
    """The bounce mailbox's poller (ROLLCALL_BOUNCE_MAILBOX, read over EWS as the service
    account); None without one."""
    mailbox = services.config.sending.bounce_mailbox
    if not mailbox:
        return None
    from .directory.ews.bounce_mailbox import EwsBounceMailbox
    from .sending.bounce_poller import BouncePoller

    try:
        reader = EwsBounceMailbox(services.config.ews, mailbox)
    except ValueError as e:
        raise ConfigError(f"ROLLCALL_BOUNCE_MAILBOX: {e}") from None
    return BouncePoller(services.bounces, reader)


def start_bounce_poller(services: Services) -> Callable[[], None] | None:
    """`rollcall serve`'s bounce mailbox reader (with the in-process worker, when
    ROLLCALL_BOUNCE_MAILBOX is set) on a daemon thread; returns its stop."""
    if not services.config.sending.worker:
        return None
    from .sending.bounce_poller import start

    return start(lambda: bounce_poller(services), services.config.sending.bounce_poll_s)


def start_send_worker(services: Services) -> Callable[[], None] | None:
    """`rollcall serve`'s in-process worker (ROLLCALL_WORKER, on by default) on a daemon
    thread; returns its stop, or None when there is no relay or it is off."""
    if not services.config.sending.worker:
        return None
    worker = send_worker(services)
    if worker is None:
        return None
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), name="send-worker", daemon=True)
    thread.start()

    def stopped() -> None:
        stop.set()
        thread.join(timeout=10)

    return stopped


def tracking_key(config: Config) -> bytes:
    """The key that signs tracking and unsubscribe links: ROLLCALL_TRACKING_KEY_FILE (the same
    file on every machine), else made on first use in the instance folder."""
    from .sending.keys import given_key, instance_key

    if config.sending.tracking_key_file:
        return given_key(config.sending.tracking_key_file)
    return instance_key(config.store.instance_path, "tracking.key")


def smtp_token(config: Config) -> Callable[[], str]:
    """XOAUTH2's access token for Exchange Online SMTP AUTH: msal client credentials."""
    from .identity.client_credentials import SmtpOAuthError, client_credentials

    identity = config.identity
    try:
        return client_credentials(identity.issuer, identity.client_id, identity.client_secret,
                                  config.sending.smtp_oauth_scope, identity.ca_file)
    except SmtpOAuthError as e:
        raise ConfigError(str(e)) from None


def ews_organisation(config: Config, obo: OnBehalfOf | None = None) -> Organisation:
    """Exchange over EWS as the organisation's directory; what it lacks is said on first use."""
    from .directory.ews.organisation import EwsOrganisation

    try:
        config.require_ews()
        problem = None
    except ConfigError as e:
        problem = str(e)
    # One request never outlives the count that waits for it: a thread held past the deadline
    # only holds a place in the shared pool (counting/workers.py).
    ews = replace(config.ews, timeout_s=min(config.ews.timeout_s, config.count.deadline_s))
    return EwsOrganisation(ews, missing=config.ews_missing(), problem=problem,
                           connections=config.count.max_concurrency,
                           internal_domains=config.count.internal_domains,
                           tokens=obo.token if obo is not None else None)


def graph_organisation(config: Config, obo: OnBehalfOf | None = None) -> Organisation:
    """Exchange Online through Microsoft Graph; what it lacks is said on first use."""
    from .directory.graph.organisation import GraphOrganisation

    try:
        config.require_graph()
        problem = None
    except ConfigError as e:
        problem = str(e)
    graph = replace(config.graph,
                    timeout_s=min(config.graph.timeout_s, config.count.deadline_s))
    return GraphOrganisation(graph, missing=config.graph_missing(), problem=problem,
                             connections=config.count.max_concurrency,
                             internal_domains=config.count.internal_domains,
                             mailbox=config.count.mailbox,
                             user_tokens=obo)


def token_validator(config: Config) -> TokenValidator | None:
    """The validator for the configured issuer; None (the API answers 503) without one."""
    oidc = config.identity.oidc()
    if oidc is None:
        return None
    from .identity import KeySet, TokenValidator
    from .identity.keys import http_fetch

    keys = KeySet(oidc.issuer, oidc.jwks_url, fetch=http_fetch(config.identity.ca_file),
                  refresh_s=oidc.keys_refresh_s)
    return TokenValidator(oidc, keys)


def on_behalf_of(config: Config) -> OnBehalfOf | None:
    """With ROLLCALL_EWS_AUTH=oauth, or Graph with ROLLCALL_GRAPH_AUTH=obo: the exchange of
    callers' tokens for the directory's."""
    if config.directory.kind == "graph":
        return graph_on_behalf_of(config)
    if config.ews.auth != "oauth" or config.ews_missing():
        return None  # a count then says which setting is missing (EwsOrganisation)
    from .identity.on_behalf_of import OboSettings, OnBehalfOf, ews_scope

    identity = config.identity
    assert config.ews.url and identity.issuer and identity.client_id and identity.client_secret
    return OnBehalfOf(OboSettings(
        issuer=identity.issuer, client_id=identity.client_id,
        client_secret=identity.client_secret,
        scope=config.ews.oauth_scope or ews_scope(config.ews.url),
        ca_file=identity.ca_file))


def graph_on_behalf_of(config: Config) -> OnBehalfOf | None:
    """Callers' tokens traded for Graph ones at Graph's authority (ROLLCALL_GRAPH_AUTH=obo)."""
    graph = config.graph
    if graph.auth != "obo" or config.graph_missing():
        return None  # a count then says which setting is missing (GraphOrganisation)
    from .directory.graph.tokens import scope
    from .identity.on_behalf_of import OboSettings, OnBehalfOf

    assert graph.client_id and graph.client_secret
    return OnBehalfOf(OboSettings(
        issuer=graph.entra_authority, client_id=graph.client_id,
        client_secret=graph.client_secret, scope=scope(graph.url), ca_file=graph.ca_file,
        service="Microsoft Graph", setting="ROLLCALL_GRAPH_AUTH=obo"))


def pane_auth(config: Config) -> PaneAuth:
    """MSAL's settings for the pane, from the identity settings."""
    from .identity.on_behalf_of import msal_authority

    api = next((a for a in config.identity.audience if a.startswith("api://")), None)
    tenant, entra = msal_authority(config.identity.issuer or "")
    return PaneAuth(client_id=config.identity.client_id,
                    scope=f"{api}/access_as_user" if api else None,
                    authority=tenant if entra else None)


def lazy_store(config: Config) -> Callable[[], ListStore]:
    """Opens (and on first use creates and migrates) the list store when first asked."""
    opened: list[ListStore] = []
    lock = threading.Lock()  # the send check's warm-ups may ask first, from their own threads

    def get() -> ListStore:
        with lock:
            if not opened:
                from .store.db import open_store

                opened.append(open_store(config.store.database_url, config.store.instance_path))
        return opened[0]

    return get


def _database_health(store: Callable[[], ListStore]) -> dict[str, Any]:
    from .store.health import health

    return health(store().engine)
