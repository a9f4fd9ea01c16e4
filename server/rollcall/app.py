"""create_app(config=None, **overrides): wiring only. Nothing connects until a request needs it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .config import Config, load_config
from .core.model import Directory, DirectoryError, Recipient
from .counting import Settings
from .directory.own_lists import OwnLists
from .directory.routing import RoutingDirectory
from .errors import NotConfigured, RollcallError
from .lists import ListsService
from .ratelimit import RateLimiter
from .sendcheck import SendCheck, policy_from
from .service import CountService

if TYPE_CHECKING:
    from .identity import TokenValidator
    from .identity.dev_issuer import DevIssuer
    from .identity.on_behalf_of import OnBehalfOf

LIMITED = ("count", "validate", "warmup")  # the routes that make Exchange work, per caller


def create_app(config: Config | None = None, *, dev_issuer: DevIssuer | None = None,
               **overrides: Any) -> Flask:
    """The WSGI app; `dev_issuer` (the demo and the tests only) serves and trusts its tokens."""
    config = config or load_config(**overrides)
    app = Flask(__name__, instance_path=None)
    app.config["ROLLCALL"] = config
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    obo = on_behalf_of(config)
    exchange = LazyExchange(config, obo)
    counts = count_service(config, exchange)
    app.extensions["rollcall.count"] = counts
    assert counts.store is not None
    app.extensions["rollcall.lists"] = ListsService(counts.store, counts)
    app.extensions["rollcall.sendcheck"] = send_check(config, counts)
    validator = token_validator(config)
    app.extensions["rollcall.identity"] = validator
    app.extensions["rollcall.obo"] = obo  # the API gate hands it callers' tokens
    app.extensions["rollcall.ratelimits"] = {
        what: RateLimiter(config.rate_limit_per_minute, config.rate_limit_burst)
        for what in LIMITED}
    app.extensions["rollcall.status"] = status_report(config, exchange, counts, validator)
    app.extensions["rollcall.pane_auth"] = pane_auth(config, dev_issuer)

    from .api import admin, auth, count, lists, me, openapi, pane, validate

    for blueprint in (count.bp, lists.bp, pane.bp, validate.bp, me.bp, admin.bp, openapi.bp):
        app.register_blueprint(blueprint)
    if dev_issuer is not None:
        from .api import dev_issuer as dev_issuer_api

        app.extensions["rollcall.dev_issuer"] = dev_issuer
        app.extensions["rollcall.dev_user"] = config.mailbox  # who the pane is by default
        app.register_blueprint(dev_issuer_api.bp)
    app.before_request(auth.authenticate)
    app.after_request(lambda response: auth.security_headers(response, config.public_url))

    @app.errorhandler(RollcallError)
    def rollcall_error(e: RollcallError) -> Any:
        return jsonify(e.to_json()), e.status, e.headers

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        # Flask has logged an unhandled error's traceback for the operator already; the caller
        # gets its generic description, never internals.
        code = (e.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": e.description}}), e.code

    return app


def token_validator(config: Config) -> TokenValidator | None:
    """The validator for the configured issuer; None (the API answers 503) without one."""
    if not config.oidc_issuer or not config.oidc_audience:
        return None
    from .identity import KeySet, OidcSettings, TokenValidator
    from .identity.keys import http_fetch

    keys = KeySet(config.oidc_issuer, config.oidc_jwks_url, fetch=http_fetch(config.oidc_ca_file))
    return TokenValidator(OidcSettings(config.oidc_issuer, config.oidc_audience,
                                       config.oidc_jwks_url, config.admin_group), keys)


def on_behalf_of(config: Config) -> OnBehalfOf | None:
    """With ROLLCALL_EWS_AUTH=oauth: the exchange of callers' tokens for Exchange ones."""
    if config.ews_auth != "oauth" or config.ews_missing():
        return None  # a count then says which setting is missing (ews_connections)
    from .identity.on_behalf_of import OboSettings, OnBehalfOf, ews_scope

    assert config.ews_url and config.oidc_issuer and config.oidc_client_id
    assert config.oidc_client_secret
    return OnBehalfOf(OboSettings(
        issuer=config.oidc_issuer, client_id=config.oidc_client_id,
        client_secret=config.oidc_client_secret,
        scope=config.ews_oauth_scope or ews_scope(config.ews_url),
        ca_file=config.oidc_ca_file))


def pane_auth(config: Config, dev_issuer: DevIssuer | None) -> dict[str, Any]:
    """What GET /api/auth/config tells the pane: MSAL's client id and scope, the dev issuer."""
    from .identity.on_behalf_of import msal_authority

    api = next((a for a in config.oidc_audience if a.startswith("api://")), None)
    tenant, entra = msal_authority(config.oidc_issuer or "")
    authority = tenant if entra else None
    return {"client_id": config.oidc_client_id, "scope": f"{api}/access_as_user" if api else None,
            "authority": authority,
            "dev_token_url": "dev-issuer/token" if dev_issuer is not None else None}


def status_report(config: Config, exchange: LazyExchange, counts: CountService,
                  validator: TokenValidator | None) -> Callable[[str], dict[str, Any]]:
    """GET /api/admin/status's document for the admin asking, each part gathered when asked
    (over OAuth, Exchange is probed with the admin's own token)."""
    from .status import exchange_status, server_status
    from .store.health import health

    def identity() -> dict[str, Any]:
        keys = validator.keys.status() if validator else {"keys": 0, "age_s": None, "source": ""}
        return {"issuer": config.oidc_issuer or "", **keys}

    def report(mailbox: str) -> dict[str, Any]:
        return server_status(
            exchange=lambda: exchange_status(config.ews_missing(),
                                             lambda: exchange.probe(mailbox),
                                             auth=config.ews_auth),
            database=lambda: health(lazy_store_engine(counts)),
            cache=lambda: {"entries": len(counts.cache), "ttl_s": config.cache_ttl_s},
            identity=identity)

    return report


def lazy_store_engine(counts: CountService) -> Any:
    """The list store's engine (opening the store if this is its first use)."""
    assert counts.store is not None
    return counts.store().engine


class LazyExchange:
    """Exchange over EWS, connected on first need and shared by counts and the status view."""

    def __init__(self, config: Config, obo: OnBehalfOf | None = None) -> None:
        self.config = config
        self.obo = obo
        self._connections: Any = None
        self._lock = threading.Lock()

    def connections(self) -> Any:
        with self._lock:
            if self._connections is None:
                self._connections = ews_connections(self.config, self.obo)
            return self._connections

    def directory(self, mailbox: str | None) -> Directory:
        directory: Directory = self.connections().directory(mailbox)
        return directory

    def server_version(self) -> str | None:
        return self._connections.server_version() if self._connections is not None else None

    def probe(self, mailbox: str | None = None) -> str | None:
        """One ResolveNames now, as the service account (over OAuth: as `mailbox`, the person
        asking); raises what EWS raised."""
        acting = mailbox if self.config.ews_auth == "oauth" else None
        name = acting or self.config.ews_username or ""
        self.connections().directory(acting).resolve(name, name)
        return self.server_version()


def count_service(config: Config, exchange: LazyExchange | None = None) -> CountService:
    """The count service over Rollcall's lists and Exchange, each connected on first use."""
    settings = Settings(
        concurrency=config.concurrency,
        deadline_s=config.deadline_s,
        cache_ttl_s=config.cache_ttl_s,
        max_nesting=config.max_nesting,
        internal_domains=config.internal_domains,
    )
    store = lazy_store(config)
    own = OwnLists(store, config.list_domain)
    link = exchange or LazyExchange(config, on_behalf_of(config))

    def directory_for(mailbox: str | None, recipients: list[Recipient]) -> Directory:
        if any(own.list_name(r.name, r.address) is None for r in recipients):
            ews = link.directory(mailbox)  # needed: fail the whole count now if it is down
            return RoutingDirectory(own, lambda: ews)
        return RoutingDirectory(own, lambda: _as_directory_error(link.directory, mailbox))

    return CountService(directory_for, settings, config.max_entries, config.mailbox,
                        link.server_version, store, own.expected)


def send_check(config: Config, counts: CountService | None = None) -> SendCheck:
    """The send check with the configured policy, over `counts` (or a new count service)."""
    counts = counts or count_service(config)
    return SendCheck(counts, policy_from(config), config.validate_deadline_s, counts.store)


def lazy_store(config: Config) -> Callable[[], Any]:
    """Opens (and on first use creates and migrates) the list store when first asked."""
    opened: list[Any] = []
    lock = threading.Lock()  # the send check's warm-ups may ask first, from their own threads

    def get() -> Any:
        with lock:
            if not opened:
                from .store.db import open_store

                opened.append(open_store(config.database_url, config.instance_path))
        return opened[0]

    return get


def _as_directory_error(factory: Callable[[str | None], Directory],
                        mailbox: str | None) -> Directory:
    """Exchange built inside a count: its setup errors become the port's errors."""
    try:
        return factory(mailbox)
    except NotConfigured as e:
        raise DirectoryError("not_configured", e.message) from None


def ews_connections(config: Config, obo: OnBehalfOf | None = None) -> Any:
    """Exchange over EWS; raises NotConfigured naming the missing setting."""
    from .config import ConfigError
    from .directory.ews import EwsConnections, EwsSettings

    try:
        config.require_ews()
    except ConfigError as e:
        raise NotConfigured(str(e)) from None
    assert config.ews_url
    return EwsConnections(EwsSettings(
        url=config.ews_url,
        username=config.ews_username or "",
        password=config.ews_password or "",
        auth=config.ews_auth,
        connections=config.concurrency,
        timeout_s=config.ews_timeout_s,
        build=config.ews_build,
        internal_domains=config.internal_domains,
        ca_file=config.ews_ca_file,
    ), tokens=obo.token if obo is not None else None)
