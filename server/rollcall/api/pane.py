"""The task pane and the add-in's other static files (addin/), with the headers Outlook needs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from flask import Blueprint, send_from_directory
from werkzeug.exceptions import NotFound

from .context import services
from .settings import ServerSettings

bp = Blueprint("pane", __name__)

OFFICE_JS_ORIGIN = "https://appsforoffice.microsoft.com"
# Outlook on the web frames the pane from these origins (community evidence, see
# shared/notes/addin.md); desktop Outlook hosts it in a webview that frame-ancestors does not limit.
DEFAULT_FRAME_ANCESTORS = (
    "'self'",
    "https://outlook.office.com",
    "https://outlook.office365.com",
    "https://outlook.live.com",
    "https://outlook.cloud.microsoft",
)
# Only what a browser needs from addin/: tools/ (the icon generator) and anything else stay private.
_SERVED = {".html", ".js", ".css", ".png", ".svg", ".ico"}


def addin_folder(config: ServerSettings) -> Path:
    """addin/ beside server/ in a checkout; ROLLCALL_ADDIN_DIR where a package moves it."""
    configured = config.addin_dir
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "addin"


def content_security_policy(frame_ancestors: Sequence[str]) -> str:
    """The pane's CSP: its own origin plus Office.js from Microsoft's CDN, nothing inline."""
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {OFFICE_JS_ORIGIN}",
        "connect-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors " + " ".join(frame_ancestors),
    ])


def frame_ancestors() -> Sequence[str]:
    """Who may frame the pane: ROLLCALL_FRAME_ANCESTORS, else Outlook's own hosts."""
    configured = services().config.server.frame_ancestors
    return tuple(configured) if configured else DEFAULT_FRAME_ANCESTORS


def _send(name: str) -> Any:
    if Path(name).suffix.lower() not in _SERVED:
        raise NotFound()
    response = send_from_directory(addin_folder(services().config.server), name)
    # Every deploy replaces these files; revalidating keeps Outlook from running a stale pane.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/")
def index() -> Any:
    return _send("taskpane.html")


@bp.get("/<name>")
def top_level(name: str) -> Any:
    return _send(name)


@bp.get("/assets/<path:name>")
def asset(name: str) -> Any:
    return _send(f"assets/{name}")
