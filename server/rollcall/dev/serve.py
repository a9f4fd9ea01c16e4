"""`rollcall serve`: the development HTTPS server (production: gunicorn, real certificates)."""

from __future__ import annotations

import sys
from pathlib import Path

from werkzeug.serving import make_server

from rollcall.app import create_app
from rollcall.config import Config

from . import certs as devcert
from .app import dev_app
from .issuer import DevIssuer, require_loopback


def serve(config: Config, host: str, port: int, banner: str = "",
          dev_issuer: DevIssuer | None = None) -> int:
    """Serve the pane, the add-in files and the API on https://host:port until Ctrl-C."""
    if dev_issuer is not None:
        require_loopback(host)  # anyone reaching the dev issuer could sign in as anybody
    else:
        config.require_oidc()  # an API that cannot tell who asks must not start at all
        config.require_ews()  # nor one that cannot reach Exchange
    cert, key = server_certificate(Path(config.store.instance_path) / "certs", host)
    app = create_app(config) if dev_issuer is None else dev_app(config, dev_issuer)
    try:  # bind first, so "listening" is only said once it is true
        server = make_server(host, port, app, threaded=True,
                             ssl_context=(str(cert), str(key)))
    except (OSError, SystemExit) as e:
        why = e.strerror if isinstance(e, OSError) else "the address is in use"
        print(f"rollcall: cannot listen on {host}:{port}: {why} (try --port)", file=sys.stderr)
        return 2
    print(f"Rollcall listening on https://{host}:{port}/", flush=True)
    if banner:
        print(banner, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def server_certificate(folder: Path, host: str) -> tuple[Path, Path]:
    """The development certificate for `host` (made with its CA on first use, saying how to
    trust that CA)."""
    cert, key, created = devcert.ensure(folder, (host, "localhost", "127.0.0.1"))
    if created:
        print(devcert.trust_instructions(folder / devcert.CA_NAME), flush=True)
    return cert, key


