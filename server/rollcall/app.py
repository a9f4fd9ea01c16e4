"""create_app(config=None, **overrides): wiring only. Nothing connects until a request needs it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .config import Config, load_config
from .core.model import Directory, DirectoryError, Recipient
from .counting import Settings
from .directory.own_lists import OwnLists
from .directory.routing import RoutingDirectory
from .errors import NotConfigured, RollcallError
from .lists import ListsService
from .sendcheck import SendCheck, policy_from
from .service import CountService


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    config = config or load_config(**overrides)
    app = Flask(__name__, instance_path=None)
    app.config["ROLLCALL"] = config
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    counts = count_service(config)
    app.extensions["rollcall.count"] = counts
    app.extensions["rollcall.lists"] = ListsService(counts.store or lazy_store(config), counts)
    app.extensions["rollcall.sendcheck"] = send_check(config, counts)

    from .api import count, lists, pane, validate

    app.register_blueprint(count.bp)
    app.register_blueprint(lists.bp)
    app.register_blueprint(pane.bp)
    app.register_blueprint(validate.bp)

    @app.errorhandler(RollcallError)
    def rollcall_error(e: RollcallError) -> Any:
        return jsonify(e.to_json()), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        code = (e.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": e.description}}), e.code

    return app


def count_service(config: Config) -> CountService:
    """The count service over Rollcall's lists and Exchange, each connected on first use."""
    settings = Settings(
        concurrency=config.concurrency,
        deadline_s=config.deadline_s,
        cache_ttl_s=config.cache_ttl_s,
        max_nesting=config.max_nesting,
        internal_domains=config.internal_domains,
    )
    store = lazy_store(config)
    connections: Any = None

    def exchange_for(mailbox: str | None) -> Directory:
        nonlocal connections
        if connections is None:
            connections = ews_connections(config)
        return connections.directory(mailbox)

    def directory_for(mailbox: str | None, recipients: list[Recipient]) -> Directory:
        own = OwnLists(store, config.list_domain)
        routing = RoutingDirectory(own, lambda: _as_directory_error(exchange_for, mailbox))
        if any(own.list_name(r.name, r.address) is None for r in recipients):
            exchange_for(mailbox)  # Exchange is needed: fail the whole count early if it is down
        return routing

    def server_version() -> str | None:
        return connections.server_version() if connections is not None else None

    return CountService(directory_for, settings, config.max_entries, config.mailbox,
                        server_version, store)


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


def ews_connections(config: Config) -> Any:
    """Exchange over EWS; raises NotConfigured naming the missing setting."""
    from .config import ConfigError
    from .directory.ews import EwsConnections, EwsSettings

    try:
        config.require_ews()
    except ConfigError as e:
        raise NotConfigured(str(e)) from None
    assert config.ews_url and config.ews_username and config.ews_password
    return EwsConnections(EwsSettings(
        url=config.ews_url,
        username=config.ews_username,
        password=config.ews_password,
        auth=config.ews_auth,
        connections=config.concurrency,
        timeout_s=config.ews_timeout_s,
        build=config.ews_build,
        internal_domains=config.internal_domains,
    ))
