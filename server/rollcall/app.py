"""create_app(): Flask's factory. It registers the blueprints and attaches Services (built by
bootstrap.py); nothing else, and nothing connects until a request needs it."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from .api.ratelimit import CallerLimits
from .bootstrap import Services, bootstrap
from .config import Config
from .errors import RollcallError

LIMITED = ("count", "validate", "warmup")  # the routes that make the directory work, per caller
# Imports and snapshots write thousands of rows (and a snapshot asks Exchange): a few a minute.
HEAVY = ("import", "snapshot")
HEAVY_PER_MINUTE, HEAVY_BURST = 6, 2


def create_app(config: Config | None = None, *, services: Services | None = None,
               **overrides: Any) -> Flask:
    """The WSGI app for `services` (else bootstrap(config, **overrides))."""
    services = services or bootstrap(config, **overrides)
    app = Flask(__name__, instance_path=None)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.extensions["rollcall"] = services

    from .api import (
        admin,
        auth,
        count,
        headers,
        health,
        lists,
        me,
        openapi,
        pane,
        public_links,
        request_id,
        sends,
        validate,
    )

    for blueprint in (count.bp, lists.bp, pane.bp, validate.bp, me.bp, admin.bp, openapi.bp,
                      sends.bp, public_links.bp, health.bp):
        app.register_blueprint(blueprint)
    app.before_request(request_id.start)  # first: even a refused sign-in gets an id
    app.before_request(auth.authenticate)
    app.after_request(headers.security_headers)
    app.after_request(request_id.stamp)
    # Per caller, for the routes that make the directory work (api/ratelimit.py): in this
    # process, or in ROLLCALL_REDIS_URL's Redis for every process. After the hooks above, so
    # that request_id.start stays first.
    server = services.config.server
    if server.rate_limit_per_minute:  # 0 turns every limit off
        limits = CallerLimits(app, services.config.shared.redis_url)
        for what in LIMITED:
            limits.add(what, server.rate_limit_per_minute, server.rate_limit_burst)
        for what in HEAVY:
            limits.add(what, HEAVY_PER_MINUTE, HEAVY_BURST)

    @app.errorhandler(RollcallError)
    def rollcall_error(e: RollcallError) -> Any:
        body = e.to_json()
        body["error"]["request_id"] = request_id.request_id()
        return jsonify(body), e.status, e.headers

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> Any:
        # Flask has logged an unhandled error's traceback for the operator already; the caller
        # gets its generic description, never internals.
        code = (e.name or "error").lower().replace(" ", "_")
        if (e.code or 500) >= 500:
            app.logger.error("request %s answered %s", request_id.request_id(), e.code)
        return jsonify({"error": {"code": code, "message": e.description,
                                  "request_id": request_id.request_id()}}), e.code

    return app
