"""The app the demo and the tests serve: Rollcall's own, plus the development issuer beside it."""

from __future__ import annotations

import dataclasses

from flask import Flask

from rollcall.app import create_app
from rollcall.bootstrap import bootstrap
from rollcall.config import Config

from . import issuer_api
from .issuer import DevIssuer


def dev_app(config: Config, issuer: DevIssuer) -> Flask:
    """create_app() with the development issuer served at /dev-issuer and offered to the pane;
    its tokens are trusted only through the settings `config` gives (dev_identity)."""
    services = bootstrap(config)
    services.pane_auth = dataclasses.replace(services.pane_auth,
                                             dev_token_url="dev-issuer/token")
    app = create_app(services=services)
    app.extensions["rollcall.dev_issuer"] = issuer
    app.extensions["rollcall.dev_user"] = services.config.count.mailbox  # the pane's default person
    app.register_blueprint(issuer_api.bp)
    return app
