"""create_app(config=None, **overrides): wiring only. Nothing connects until a request needs it."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .config import Config, load_config
from .core.model import Directory
from .counting import Settings
from .errors import NotConfigured, RollcallError
from .service import CountService


def create_app(config: Config | None = None, **overrides: Any) -> Flask:
    config = config or load_config(**overrides)
    app = Flask(__name__, instance_path=None)
    app.config["ROLLCALL"] = config
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.extensions["rollcall.count"] = count_service(config)

    from .api import count

    app.register_blueprint(count.bp)

    @app.errorhandler(RollcallError)
    def rollcall_error(e: RollcallError) -> Any:
        return jsonify(e.to_json()), e.status

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        code = (e.name or "error").lower().replace(" ", "_")
        return jsonify({"error": {"code": code, "message": e.description}}), e.code

    return app


def count_service(config: Config) -> CountService:
    """The count service over the configured directory (EWS), connected on first use."""
    settings = Settings(
        concurrency=config.concurrency,
        deadline_s=config.deadline_s,
        cache_ttl_s=config.cache_ttl_s,
        max_nesting=config.max_nesting,
        internal_domains=config.internal_domains,
    )
    connections = None

    def directory_for(mailbox: str | None) -> Directory:
        nonlocal connections
        if connections is None:
            connections = ews_connections(config)
        return connections.directory(mailbox)

    def server_version() -> str | None:
        return connections.server_version() if connections is not None else None

    return CountService(directory_for, settings, config.max_entries, config.mailbox,
                        server_version)


def ews_connections(config: Config) -> Any:
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
