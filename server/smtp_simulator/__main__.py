"""`python -m smtp_simulator [--host H] [--port N] [--rules SPEC] [--auth USER:PASSWORD]
[--oauth-issuer URL --oauth-jwks URL_OR_PATH [--oauth-audience AUD]] [--slow-ms N]
[--spool DIR] [--relay-domains D1,D2] [--bounce-to HOST:PORT [--bounce-delay-s N]]`: serve until
Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .oauth import EXCHANGE_AUDIENCE, BearerCheck, InvalidToken, TokenVerifier
from .rules import ACTIONS, RuleSpecError, parse_rules
from .server import SmtpSimulator


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m smtp_simulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=2525, help="0 picks a free port (default 2525)")
    p.add_argument("--rules", metavar="SPEC", default="",
                   help="per-recipient behaviours, ACTION:ADDRESS[=TIMES] joined by commas, "
                   "e.g. greylist:*@slow.example=2,reject:nobody@contoso.com; ADDRESS is an "
                   f"address, *@domain or *; ACTION is one of {', '.join(ACTIONS)}")
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="require AUTH PLAIN or LOGIN with these credentials before MAIL")
    p.add_argument("--oauth-issuer", metavar="URL",
                   help="offer AUTH XOAUTH2 (as Exchange Online does), taking RS256 tokens this "
                   "issuer signed (their iss); needs --oauth-jwks")
    p.add_argument("--oauth-jwks", metavar="URL_OR_PATH",
                   help="the issuer's keys: an https://, http:// or file:// URL, or a jwks.json")
    p.add_argument("--oauth-audience", metavar="AUD", default=EXCHANGE_AUDIENCE,
                   help=f"the aud tokens must carry (default {EXCHANGE_AUDIENCE})")
    p.add_argument("--slow-ms", type=float, default=0, metavar="N",
                   help="delay every reply after the banner by N milliseconds")
    p.add_argument("--spool", type=Path, metavar="DIR",
                   help="also write each accepted message to DIR as <queue id>.eml and .json")
    p.add_argument("--relay-domains", metavar="D1,D2",
                   help="relay without AUTH only when the sender's or the recipient's domain "
                   "is one of these (else 554 5.7.1 Relay access denied); by default it relays "
                   "for anyone, as an open relay does")
    p.add_argument("--bounce-to", metavar="HOST:PORT",
                   help="send the DSNs the bounce, bounce_policy and delay_dsn rules call for "
                   "to the SMTP server there (from MAIL FROM:<>, to the message's envelope "
                   "sender); without it they are made but go nowhere")
    p.add_argument("--bounce-delay-s", type=float, default=0.0, metavar="N",
                   help="wait N seconds after accepting a message before sending its DSN")
    p.add_argument("--hostname", default="relay.simulator.test",
                   help="the name in the banner and the EHLO reply")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        rules = parse_rules(args.rules)
    except RuleSpecError as e:
        parser.error(f"--rules: {e}")
    auth = None
    if args.auth is not None:
        user, colon, password = args.auth.partition(":")
        if not colon or not user:
            parser.error(f"--auth: expected USER:PASSWORD, not {args.auth!r}")
        auth = (user, password)
    bearer = None
    if (args.oauth_issuer is None) != (args.oauth_jwks is None):
        parser.error("--oauth-issuer and --oauth-jwks go together")
    if args.oauth_issuer is not None:
        try:
            bearer = BearerCheck(args.oauth_issuer, args.oauth_jwks, args.oauth_audience)
            if TokenVerifier(bearer).check_keys() == 0:  # fail now, not at the first sign-in
                raise InvalidToken(f"{bearer.jwks_url} holds no RS256 signing key")
        except (ValueError, InvalidToken) as e:
            parser.error(f"XOAUTH2: {e}")
    if args.slow_ms < 0:
        parser.error(f"--slow-ms: must be 0 or more, not {args.slow_ms:g}")
    relay_domains = None
    if args.relay_domains is not None:
        relay_domains = [d.strip() for d in args.relay_domains.split(",") if d.strip()]
        if not relay_domains or any("@" in d or " " in d for d in relay_domains):
            parser.error(f"--relay-domains: expected domains joined by commas, like "
                         f"contoso.com,fabrikam.com, not {args.relay_domains!r}")
    bounce_to = None
    if args.bounce_to is not None:
        bounce_to = parse_host_port(args.bounce_to)
        if bounce_to is None:
            parser.error(f"--bounce-to: expected HOST:PORT, like 127.0.0.1:2526, "
                         f"not {args.bounce_to!r}")
    elif args.bounce_delay_s:
        parser.error("--bounce-delay-s goes with --bounce-to")
    if args.bounce_delay_s < 0:
        parser.error(f"--bounce-delay-s: must be 0 or more, not {args.bounce_delay_s:g}")
    if not 0 <= args.port <= 65535:
        parser.error(f"--port: {args.port} is not a TCP port (0 to 65535)")
    sim = SmtpSimulator(args.host, args.port, rules=rules, auth=auth, bearer=bearer,
                        slow_ms=args.slow_ms, spool_dir=args.spool, hostname=args.hostname,
                        relay_domains=relay_domains, bounce_to=bounce_to,
                        bounce_delay_s=args.bounce_delay_s)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        sim.start()
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port}: {e.strerror or e}",
              file=sys.stderr)
        return 2
    print(f"SMTP simulator listening on {sim.url}", flush=True)
    try:
        stopping.wait()
    finally:
        sim.stop()
    return 0


def parse_host_port(text: str) -> tuple[str, int] | None:
    """`host:port` or `[v6 address]:port` as (host, port); None if it is neither."""
    host, colon, port = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not colon or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        return None
    return host, int(port)


if __name__ == "__main__":
    sys.exit(main())
