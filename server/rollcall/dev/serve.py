"""`rollcall serve`: the development HTTPS server (production: gunicorn, real certificates)."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

from werkzeug.serving import WSGIRequestHandler, make_server

from rollcall.app import create_app
from rollcall.bootstrap import start_bounce_poller, start_send_worker
from rollcall.config import Config

from . import certs as devcert
from .app import dev_app
from .issuer import DevIssuer, require_loopback


def serve(config: Config, host: str, port: int, banner: str = "",
          dev_issuer: DevIssuer | None = None,
          started: Callable[[Any], None] | None = None) -> int:
    """Serve the pane, the add-in files and the API on https://host:port until Ctrl-C."""
    if dev_issuer is not None:
        require_loopback(host)  # anyone reaching the dev issuer could sign in as anybody
    else:
        config.require_oidc()  # an API that cannot tell who asks must not start at all
        config.require_ews()  # nor one that cannot reach Exchange
    instance = Path(config.store.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys and the database: owner-only
    cert, key = server_certificate(instance / "certs", host)
    app = create_app(config) if dev_issuer is None else dev_app(config, dev_issuer)
    try:  # bind first, so "listening" is only said once it is true
        server = make_server(host, port, app, threaded=True,
                             request_handler=RedactingRequestHandler,
                             ssl_context=(str(cert), str(key)))
    except (OSError, SystemExit) as e:
        why = e.strerror if isinstance(e, OSError) else "the address is in use"
        print(f"rollcall: cannot listen on {host}:{port}: {why} (try --port)", file=sys.stderr)
        return 2
    print(f"Rollcall listening on https://{host}:{port}/", flush=True)
    if started is not None:  # the demo hands the app's services to its bounce listener
        started(app)
    stop_worker = start_send_worker(app.extensions["rollcall"])
    if stop_worker is not None:
        print("Tracked sends go out from this process (ROLLCALL_WORKER=off turns that off)",
              flush=True)
    stop_poller = start_bounce_poller(app.extensions["rollcall"])
    if stop_poller is not None:
        print("The bounce mailbox is read from this process", flush=True)
    if banner:
        print(banner, flush=True)
    serve_until_interrupted(server, stop_worker, stop_poller)
    return 0


def serve_until_interrupted(server: Any, *stops: Callable[[], object] | None) -> None:
    """Serve until Ctrl-C, then stop what runs beside the server (None: nothing started)."""
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for stop in stops:
            if stop is not None:
                stop()


def server_certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """The development certificate for `host` (made with its CA on first use, saying how to
    trust that CA)."""
    cert, key, created = devcert.ensure(folder, (host, "localhost", "127.0.0.1"))
    if created:
        print(devcert.trust_instructions(folder / devcert.CA_NAME), flush=True)
    return cert, key


# Query parameters that carry credentials in OAuth and OpenID flows (an authorization `code`, an
# `access_token` or `id_token` in an implicit-flow redirect), or that are named like a secret.
_SECRET_NAME = re.compile(r"^(?:code|.*token.*|.*secret.*|.*password.*|assertion|key|sig|"
                          r"signature)$", re.IGNORECASE)
_PARAMETER = re.compile(r"(?<=[?&;])([^=&;\s#]+)=([^&;\s#]*)")


def redact(line: str) -> str:
    """`line` with the values of credential-like query parameters replaced by [redacted]."""

    def hide(found: re.Match[str]) -> str:
        name = found.group(1)
        return f"{name}=[redacted]" if _SECRET_NAME.match(unquote_plus(name)) else found.group()

    return _PARAMETER.sub(hide, line)


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's handler, whose access and error lines never show a credential from a query
    string: Rollcall takes tokens only in headers, but a client may still put one in a URL."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Redacted while still percent-encoded: werkzeug decodes the path for its line.
        raw = getattr(self, "path", None)
        if raw is not None:
            self.path = redact(raw)
        try:
            super().log_request(code, size)
        finally:
            if raw is not None:
                self.path = raw

    def log(self, type: str, message: str, *args: Any) -> None:
        # Error lines ("Bad request version ...") quote the raw request line.
        super().log(type, "%s", redact(message % args if args else message))
