"""The headers every answer carries: CORS for the pane's own origin, HSTS, no caching of API
answers, and the pane's content security policy. One after_request function sets them all."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response, request

from .context import services
from .pane import content_security_policy, frame_ancestors

HSTS = "max-age=31536000"  # a year, as browsers' preload lists expect; no includeSubDomains
CORS_METHODS = "GET, POST, DELETE, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type, Accept"
# Routes outside the pane's blueprint that serve its files (this one shadows the pane's route).
PANE_ENDPOINTS = frozenset({"validate.sendcheck_js"})


def is_own_origin(origin: str, public_url: str | None) -> bool:
    """Whether an Origin header is the pane's own: ROLLCALL_PUBLIC_URL, else this request's host.

    Without a public URL only the host is compared: behind a TLS-terminating proxy the request
    arrives as http while the pane's origin is https.
    """
    # Outlook's classic runtime has been seen sending the origin with a trailing slash.
    given = urlsplit(origin.strip().rstrip("/").lower())
    if given.path or given.query or given.scheme not in ("https", "http"):
        return False
    if public_url:
        return f"{given.scheme}://{given.netloc}" == public_url  # config made it an origin
    return given.netloc == request.host.lower()


def security_headers(response: Response) -> Response:
    """after_request for every answer: CORS for the pane's own origin only and no caching of API
    answers, HSTS over TLS, and the pane's CSP on the pane's files (sendcheck.js included)."""
    origin = request.headers.get("Origin")
    if origin and request.path.startswith("/api/"):
        if is_own_origin(origin, services().config.server.public_url):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        response.vary.add("Origin")
    if request.is_secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        response.headers["Strict-Transport-Security"] = HSTS
    if request.path.startswith("/api/"):
        # Answers name people and lists: no shared cache or back/forward cache may keep them.
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
    if request.blueprint == "pane" or request.endpoint in PANE_ENDPOINTS:
        response.headers["Content-Security-Policy"] = content_security_policy(frame_ancestors())
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response
