"""`rollcall serve` and `rollcall demo`: the development HTTPS server (production: gunicorn)."""

from __future__ import annotations

import sys
from pathlib import Path

from werkzeug.serving import run_simple

from . import devcert
from .app import create_app
from .config import Config, load_config


def serve(config: Config, host: str, port: int, banner: str = "") -> int:
    """Serve the pane, the add-in files and the API on https://host:port until Ctrl-C."""
    folder = Path(config.instance_path) / "certs"
    cert, key, created = devcert.ensure(folder, (host, "localhost", "127.0.0.1"))
    if created:
        print(devcert.trust_instructions(folder / devcert.CA_NAME), flush=True)
    app = create_app(config)
    print(f"Rollcall listening on https://{host}:{port}/", flush=True)
    if banner:
        print(banner, flush=True)
    try:
        run_simple(host, port, app, ssl_context=(str(cert), str(key)), threaded=True)
    except OSError as e:
        print(f"rollcall: cannot listen on {host}:{port}: {e.strerror}", file=sys.stderr)
        return 2
    return 0


def demo(host: str, port: int, ews_port: int) -> int:
    """The EWS simulator's demo organisation in this process, and Rollcall counting against it."""
    from ews_simulator import Simulator, load
    from ews_simulator.demo import DEMO_PASSWORD, demo_document

    sim = Simulator(load(demo_document()), port=ews_port).start()
    print(f"EWS simulator (demo organisation) listening on {sim.url}", flush=True)
    config = load_config(
        ews_url=sim.url,
        ews_username="svc-rollcall@contoso.com",
        ews_password=DEMO_PASSWORD,
        mailbox="megan@contoso.com",
        internal_domains=("contoso.com",),
    )
    banner = (
        f"\nOpen https://{host}:{port}/ and paste allstaff@contoso.com (or 'Comms Champions',\n"
        "leadership@contoso.com, partners@contoso.com) to count as megan@contoso.com.\n"
        "From a shell, while this runs:\n"
        f"  ROLLCALL_EWS_URL={sim.url} ROLLCALL_EWS_USERNAME=svc-rollcall@contoso.com \\\n"
        f"  ROLLCALL_EWS_PASSWORD='{DEMO_PASSWORD}' ROLLCALL_MAILBOX=megan@contoso.com \\\n"
        "  .venv/bin/rollcall count allstaff@contoso.com 'Comms Champions'\n"
        "Sideload manifest.xml in Outlook (trust the certificate above first):\n"
        "  Outlook on the web / new Outlook: new message > Apps > Add apps (or Get Add-ins) >\n"
        "    My add-ins > Add a custom add-in > Add from File... > manifest.xml\n"
        "  Classic Outlook (Windows/Mac): File > Manage Add-ins (or Get Add-ins) > My add-ins >\n"
        "    Add a custom add-in > Add from File... > manifest.xml; then restart Outlook.\n"
        "  Then on a new message: Get Recipient Count (on the ribbon, or under Apps).\n"
        "Ctrl-C stops."
    )
    try:
        return serve(config, host, port, banner)
    finally:
        sim.stop()
