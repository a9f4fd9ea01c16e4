"""`python -m graph_simulator [--host H] [--port 8050] [--org FILE] [--cert-dir DIR] [--tenant T]
[--client-id ID] [--client-secret S] [--assertion-issuer URL --assertion-jwks URL
[--assertion-audience AUD ...]] [--faults SPEC]`: serve until stopped, after printing the
ROLLCALL_* settings that point Rollcall at it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ews_simulator.org import OrgError, load

from .faults import FaultSpecError, describe, parse_faults
from .server import GraphSimulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m graph_simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050, help="0 picks a free port (default 8050)")
    p.add_argument("--org", type=Path, help="organisation file (.yaml or .json); default: the demo")
    p.add_argument("--cert-dir", type=Path, default=Path("instance/graph-simulator"),
                   help="where the self-signed certificate is kept (made on first use)")
    p.add_argument("--tenant", default="contoso-tenant")
    p.add_argument("--client-id", default="rollcall-graph")
    p.add_argument("--client-secret", default="graph-secret")
    obo = p.add_argument_group("on-behalf-of: whose tokens the token endpoint trades")
    obo.add_argument("--assertion-issuer", metavar="URL", help="the assertions' exact 'iss'")
    obo.add_argument("--assertion-jwks", metavar="URL",
                     help="the issuer's keys: https://, http:// or file:// JWKS")
    obo.add_argument("--assertion-audience", metavar="AUD", action="append", default=[],
                     help="an accepted 'aud' of assertions (repeatable; default: any)")
    p.add_argument("--faults", metavar="SPEC", default="",
                   help="e.g. throttle=3,retry_after=2 or deny=Member.Read.Hidden "
                   "(graph_simulator/faults.py)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        faults = parse_faults(args.faults)
        if bool(args.assertion_issuer) != bool(args.assertion_jwks):
            raise ValueError("--assertion-issuer and --assertion-jwks go together")
        if args.org:
            org = load(args.org)
        else:
            from ews_simulator.demo import demo_document

            org = load(demo_document())
    except (OrgError, FaultSpecError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        sim = GraphSimulator(
            org, host=args.host, port=args.port, cert_dir=args.cert_dir, tenant=args.tenant,
            client_id=args.client_id, client_secret=args.client_secret,
            assertion_issuer=args.assertion_issuer, assertion_jwks=args.assertion_jwks,
            assertion_audiences=tuple(args.assertion_audience), faults=faults)
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 2
    print(f"listening on {sim.url} (certificate: {sim.ca_file})", flush=True)
    print("Rollcall settings:", flush=True)
    for name, value in (
        ("ROLLCALL_DIRECTORY", "graph"),
        ("ROLLCALL_GRAPH_URL", sim.url),
        ("ROLLCALL_GRAPH_AUTHORITY", sim.authority),
        ("ROLLCALL_GRAPH_TENANT_ID", sim.tenant),
        ("ROLLCALL_GRAPH_CLIENT_ID", args.client_id),
        ("ROLLCALL_GRAPH_CLIENT_SECRET", args.client_secret),
        ("ROLLCALL_GRAPH_AUTH", "obo" if args.assertion_issuer else "app"),
        ("ROLLCALL_GRAPH_CA_FILE", sim.ca_file),
        ("ROLLCALL_GRAPH_EXCHANGE_URL", sim.exchange_url),
    ):
        print(f"  {name}={value}", flush=True)
    if describe(sim.faults) != "off":
        print(f"faults: {describe(sim.faults)} (switch them with PUT or DELETE "
              f"{sim.url}/_simulator/faults)", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
