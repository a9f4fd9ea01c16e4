"""The links inside sent messages, answered without sign-in: one-click unsubscribe (RFC 8058:
GET shows a button, POST unsubscribes, both idempotent), the open pixel and click redirects."""

from __future__ import annotations

import base64
import html
from typing import Any

from flask import Blueprint, Response, redirect, request

from .context import services

bp = Blueprint("public_links", __name__)
PIXEL = base64.b64decode(b"R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_TOKEN_CHARS = frozenset("0123456789abcdef")


@bp.route("/u/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> Any:
    if not _plausible(token):
        return _page("This unsubscribe link is not valid", "Check that the whole link was "
                     "copied from the message.", 404)
    sends = services().sends
    if request.method == "POST":
        address = sends.unsubscribe(token)
        if address is None:
            return _page("This unsubscribe link is not valid", "It does not match a message "
                         "Rollcall sent.", 404)
        return _page("You are unsubscribed", f"{address} will not get these messages again.")
    # GET must not unsubscribe: link scanners and previews open every link in a message.
    return _page("Unsubscribe?", "Stop receiving these messages.", 200, form=True)


@bp.get("/t/o/<token>.gif")
def opened(token: str) -> Any:
    services().sends.track("open", token, request.headers.get("User-Agent", ""),
                           request.remote_addr or "", request.method == "HEAD")
    return Response(PIXEL, mimetype="image/gif", headers={"Cache-Control": "no-store"})


@bp.get("/t/c/<token>")
def clicked(token: str) -> Any:
    url = services().sends.track("click", token, request.headers.get("User-Agent", ""),
                                 request.remote_addr or "", request.method == "HEAD")
    if url is None:
        return _page("This link is not valid", "It does not match a message Rollcall sent.",
                     404)
    return redirect(url, code=302)


def _plausible(token: str) -> bool:
    return 8 <= len(token) <= 64 and set(token) <= _TOKEN_CHARS


def _page(title: str, text: str, status: int = 200, form: bool = False) -> Response:
    button = ('<form method="post"><button type="submit">Unsubscribe</button></form>'
              if form else "")
    body = (f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(title)}"
            f"</title><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>{button}</html>")
    return Response(body, status=status, mimetype="text/html")
