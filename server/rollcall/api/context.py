"""The Services this app was built with (bootstrap.py), for the blueprints."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app

if TYPE_CHECKING:
    from rollcall.bootstrap import Services


def services() -> Services:
    """Rollcall's services for the app handling this request."""
    found: Services = current_app.extensions["rollcall"]
    return found
