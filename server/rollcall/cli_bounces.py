"""`rollcall bounces listen|poll|list`: bounce-backs from the command line. `listen` runs the
SMTP listener for the bounce domain until stopped; `poll` reads the bounce mailbox; `list`
shows what came back and what it was matched to (those matching nobody too). Exit codes: 0
done, 1 Exchange could not be read, 2 bad usage or configuration."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import Any

EXIT_OK, EXIT_USAGE = 0, 2


def add_parsers(sub: Any) -> None:
    b = sub.add_parser("bounces", help="bounce-backs: the listener, and what came back")
    bs = b.add_subparsers(dest="bounces_command", required=True)
    listen = bs.add_parser("listen", help="take bounce-backs over SMTP for the bounce domain "
                           "(only ROLLCALL_BOUNCE_ADDRESS's addresses; it relays nothing)")
    listen.add_argument("--host", default="0.0.0.0", help="address to listen on (0.0.0.0)")
    listen.add_argument("--port", type=int, default=25, help="port (25, where MX points)")
    poll = bs.add_parser("poll", help="read the bounce mailbox (ROLLCALL_BOUNCE_MAILBOX) over "
                         "EWS until stopped, or --once")
    poll.add_argument("--once", action="store_true", help="one round, then exit")
    ls = bs.add_parser("list", help="the newest bounce-backs and what each was matched to")
    ls.add_argument("--send", type=int, metavar="ID", help="only this send's")
    ls.add_argument("--unmatched", action="store_true", help="only those matching nobody")
    ls.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, services: Any) -> int:
    if args.bounces_command == "listen":
        return _listen(services, args.host, args.port)
    if args.bounces_command == "poll":
        return _poll(services, args.once)
    from .lists import operator

    found = services.bounces.reports(operator(), args.send, args.unmatched)
    if args.json:
        print(json.dumps({"bounces": found}, indent=2))
        return EXIT_OK
    if not found:
        print("No bounce-backs" + (" matching nobody" if args.unmatched else "") + ".")
    for r in found:
        said = " ".join(x for x in (r["status"], r["diagnostic"]) if x)
        whom = (f"send {r['send_id']}, {r['address']} (by {r['matched_by']})" if r["send_id"]
                else f"matched nobody ({r['address'] or r['subject'] or 'no address'})")
        print(f"{r['received_at'][:19].replace('T', ' ')}  {r['kind']:<9} {whom}")
        if said:
            print(f"    {said}")
        for name in r["lists"] if r["fixes"] else ():
            print(f"    in Rollcall list {name}: correct it (rollcall lists add {name!r} NEW "
                  f"then rollcall lists remove {name!r} {r['address']}), remove it, or "
                  f"unsubscribe it (rollcall contacts opt-out {r['address']})")
    return EXIT_OK


def _poll(services: Any, once: bool) -> int:
    from .bootstrap import bounce_poller

    poller = bounce_poller(services)
    if poller is None:
        print("rollcall: bounces poll: set ROLLCALL_BOUNCE_MAILBOX to the mailbox bounce-backs "
              "go to", file=sys.stderr)
        return EXIT_USAGE
    if once:
        print(f"{poller.once()} bounce-backs read from {poller.mailbox.mailbox}")
        return EXIT_OK
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"Reading {poller.mailbox.mailbox} every "
          f"{services.config.sending.bounce_poll_s:g} s", flush=True)
    poller.run(stop, services.config.sending.bounce_poll_s)
    return EXIT_OK


def _listen(services: Any, host: str, port: int) -> int:
    from .sending.bounce_listener import BounceListener

    template = services.config.sending.bounce_address
    if not template:
        print("rollcall: bounces listen: set ROLLCALL_BOUNCE_ADDRESS "
              "(bounces+{token}@your-bounce-domain): the listener takes mail for nothing else",
              file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        listener = BounceListener(services.bounces, host, port).start()
    except OSError as e:
        print(f"rollcall: bounces listen: cannot listen on {host}:{port}: {e.strerror}",
              file=sys.stderr)
        return EXIT_USAGE
    print(f"Bounce listener on {listener.url}, taking mail for {template}", flush=True)
    try:
        stop.wait()
    finally:
        listener.stop()
    return EXIT_OK
