"""`python -m ews_simulator [--host H] [--port N] [--org FILE] [--tls] [--oauth-issuer URL
--oauth-jwks URL] [--faults SPEC]`: serve until stopped."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .faults import describe, parse_faults
from .oauth import EXCHANGE_AUDIENCES, BearerTrust, InvalidBearer
from .org import OrgError, load, parse_build
from .server import Simulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m ews_simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8040, help="0 picks a free port (default 8040)")
    p.add_argument("--org", type=Path, help="organisation file (.yaml or .json); default: the demo")
    p.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a self-signed certificate kept in --cert-dir",
    )
    p.add_argument("--cert-dir", type=Path, default=Path("instance/ews-simulator"))
    p.add_argument("--build", help="server build reported to clients, e.g. 15.2.1118.7")
    p.add_argument(
        "--no-version",
        action="store_true",
        help="leave the Version attribute out of ServerVersionInfo",
    )
    oauth = p.add_argument_group("OAuth bearer tokens, as Exchange Online accepts them")
    oauth.add_argument("--oauth-issuer", metavar="URL", help="the tokens' exact 'iss'")
    oauth.add_argument(
        "--oauth-jwks", metavar="URL", help="the issuer's keys: https://, http:// or file:// JWKS"
    )
    oauth.add_argument(
        "--oauth-audience",
        metavar="AUD",
        action="append",
        help="an accepted 'aud' (repeatable); default: " + ", ".join(EXCHANGE_AUDIENCES),
    )
    faults = p.add_argument_group("fault injection (override the org file's 'faults')")
    faults.add_argument("--faults", metavar="SPEC", default="",
                        help="e.g. drop, busy=3, 503, slow=25000, or several with commas "
                        "(ews_simulator/faults.py); the flags below override it")
    faults.add_argument("--latency-ms", type=float)
    faults.add_argument("--jitter-ms", type=float)
    faults.add_argument("--max-concurrent", type=int, help="per account; excess is throttled")
    faults.add_argument("--busy-every", type=int, help="every Nth request: ErrorServerBusy")
    faults.add_argument("--back-off-ms", type=int, help="BackOffMilliseconds in busy answers")
    faults.add_argument("--http503-every", type=int, help="every Nth request: HTTP 503")
    faults.add_argument("--retry-after-s", type=int, help="Retry-After with the 503s")
    faults.add_argument("--drop-every", type=int, help="every Nth request: connection dropped")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        spec = parse_faults(args.faults)
        bearer = _bearer(args)
        if args.org:
            org = load(args.org)
        else:
            from .demo import demo_document

            org = load(demo_document())
        if args.build:
            org.build = parse_build(args.build, "--build")
    except (OrgError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.no_version:
        org.version_name = None
    tls = None
    if args.tls:
        from .tls import self_signed

        tls = self_signed(args.cert_dir, args.host)
    try:
        sim = Simulator(org, host=args.host, port=args.port, tls=tls, bearer=bearer)
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port}: {e.strerror}", file=sys.stderr)
        return 2
    if sim.bearer is not None:  # a wrong --oauth-jwks is said now, not at the first token
        try:
            if not sim.bearer.check_keys():
                raise InvalidBearer(f"{args.oauth_jwks} holds no RS256 signing key")
        except InvalidBearer as e:
            print(f"error: --oauth-jwks: {e}", file=sys.stderr)
            sim.close()
            return 2
    changes = spec | {
        k: v
        for k, v in vars(args).items()
        if k
        in (
            "latency_ms",
            "jitter_ms",
            "max_concurrent",
            "busy_every",
            "back_off_ms",
            "http503_every",
            "retry_after_s",
            "drop_every",
        )
        and v is not None
    }
    if changes:
        sim.set_faults(**changes)
    if tls:
        print(f"certificate: {tls[0]} (trust it, or use the client's verify option)", flush=True)
    print(f"listening on {sim.url}", flush=True)
    if describe(sim.faults) != "off":
        print(f"faults: {describe(sim.faults)} (switch them with PUT or DELETE "
              f"{sim.url.split('/EWS/')[0]}/_simulator/faults)", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


def _bearer(args: argparse.Namespace) -> BearerTrust | None:
    if not (args.oauth_issuer or args.oauth_jwks or args.oauth_audience):
        return None
    if not (args.oauth_issuer and args.oauth_jwks):
        raise ValueError(
            "--oauth-issuer and --oauth-jwks go together: bearer tokens need both the issuer "
            "to trust and where its signing keys are published"
        )
    audiences = tuple(args.oauth_audience or EXCHANGE_AUDIENCES)
    trust = BearerTrust(args.oauth_issuer, args.oauth_jwks, audiences)
    if not args.tls:
        print("warning: bearer tokens over plain HTTP: OAuth clients (exchangelib's oauthlib) "
              "refuse to send them; add --tls", file=sys.stderr)
    return trust


if __name__ == "__main__":
    sys.exit(main())
