"""`rollcall count | check | serve | demo`: the command line. Exit codes: 0 ok (a complete
count; check: allow), 1 an incomplete count or Exchange unavailable, 2 bad usage or
configuration, 3 check: warn, 4 check: block."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from . import cli_bounces, cli_lists, cli_queue, cli_send
from .config import Config, ConfigError, load_config
from .core.report_types import (
    CountReport,
    ExpectedSource,
    Finding,
    NodeStatus,
    Severity,
    TreeNode,
)
from .errors import NotConfigured, RollcallError

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_WARN, EXIT_BLOCK = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rollcall", description="Know who will receive a message.")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("count", help="count the unique recipients of To/Cc/Bcc entries")
    c.add_argument("entries", nargs="+", metavar="ENTRY",
                   help="an address, 'Name <address>', list:NAME (a Rollcall list), an X.500 DN "
                   "or a contact group's name")
    c.add_argument("--expected", type=_count_arg, help="how many recipients you expect")
    c.add_argument("--mailbox", help="the sender's mailbox (default ROLLCALL_MAILBOX)")
    c.add_argument("--json", action="store_true", help="print the report as JSON")
    c.add_argument("--refresh", action="store_true", help="do not reuse cached expansions")

    k = sub.add_parser("check", help="the send check's verdict for To/Cc/Bcc entries "
                       "(exit 0 allow, 3 warn, 4 block)")
    k.add_argument("entries", nargs="+", metavar="ENTRY", help="as for `rollcall count`")
    k.add_argument("--expected", type=_count_arg, help="how many recipients you expect")
    k.add_argument("--mailbox", help="the sender's mailbox (default ROLLCALL_MAILBOX)")
    k.add_argument("--json", action="store_true", help="print the verdict and report as JSON")

    s = sub.add_parser("serve", help="serve the add-in and the API over HTTPS")
    s.add_argument("--host", default="localhost")
    s.add_argument("--port", type=int, default=3000)

    d = sub.add_parser("demo", help="the simulated demo organisation plus `serve`")
    d.add_argument("--host", default="localhost")
    d.add_argument("--port", type=int, default=3000)
    d.add_argument("--ews-port", type=int, default=0, help="simulator port (default: any free)")
    d.add_argument("--ews-auth", choices=("basic", "oauth"), default="basic",
                   help="how Rollcall acts in Exchange: the service account impersonating "
                        "(basic, default) or each person's own token on behalf of (oauth)")
    d.add_argument("--directory", choices=("ews", "graph"), default="ews",
                   help="how Rollcall reads the demo organisation: EWS (default), or Microsoft "
                        "Graph as Exchange Online (the Graph simulator, on behalf of each person)")
    d.add_argument("--faults", metavar="SPEC", default="",
                   help="make the simulated Exchange misbehave: drop, busy, 503 (=N: every Nth "
                        "request, default every one), slow (answers after the count's "
                        "deadline), combined with commas, e.g. busy=3,slow; with --directory "
                        "graph: throttle=N, http503=N, batch_throttle=N, latency=MS, ...")
    d.add_argument("--relay-rules", metavar="SPEC", default=None,
                   help="how the demo's SMTP relay misbehaves, per address: greylist, reject, "
                        "defer, drop, relay_denied, quota, throttle, bounce, bounce_policy, "
                        "delay_dsn (e.g. reject:*@fabrikam.com,greylist:*@northwind.example=2; "
                        "default greylist:*@fabrikam.com,bounce:*@tailspintoys.example)")

    cli_lists.add_parsers(sub)
    cli_send.add_parsers(sub)
    cli_queue.add_parsers(sub)
    cli_queue.add_diagnostic_parsers(sub)
    cli_bounces.add_parsers(sub)

    m = sub.add_parser("manifest", help="print the Outlook add-in manifest for an https origin")
    m.add_argument("--url", default=None,
                   help="where the pane is served (default ROLLCALL_PUBLIC_URL, else "
                        "https://localhost:3000)")
    m.add_argument("--client-id", default=None,
                   help="the Entra ID app registration's client id, for single sign-on "
                        "(default ROLLCALL_OIDC_CLIENT_ID, else a placeholder)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # exchangelib's warnings and error dumps (session pools, back-offs, request XML) are for
    # operators' logs; the command's own output already says what matters, in one line.
    logging.getLogger("exchangelib").setLevel(logging.CRITICAL)
    if args.command == "worker" or getattr(args, "bounces_command", None) in ("listen", "poll"):
        # A long-running operator process: what it does (relays down, recipients given back)
        # is its log, on stderr.
        logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    elif args.command not in ("serve", "demo"):
        # Rollcall's own warnings carry exception chains for a server's log; a terminal gets
        # the plain sentence the command prints (Python would print them on stderr otherwise).
        logging.getLogger("rollcall").addHandler(logging.NullHandler())
    try:
        return _run(args)
    except BrokenPipeError:  # `rollcall count ... | head`: the reader left, which is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command in ("count", "check"):
            from .lists import counting_as_operator

            # On the server, with the database's credentials: every Rollcall list, as an
            # administrator would (README, "Who can see and do what").
            with counting_as_operator():
                return _count(args) if args.command == "count" else _check(args)
        if args.command == "manifest":
            return _manifest(args)
        if args.command in ("lists", "contacts"):
            return _lists(args)
        if args.command in ("send", "worker"):
            config = load_config()
            if args.command == "send" and args.send_command == "create":
                config = _with_service_account(config)  # it counts
            return cli_send.run(args, config)
        if args.command in cli_queue.COMMANDS:
            from .bootstrap import bootstrap

            return cli_queue.run(args, bootstrap(load_config()))
        if args.command == "bounces":
            from .bootstrap import bootstrap

            return cli_bounces.run(args, bootstrap(load_config()))
        # The development server and the demo are the only commands that use rollcall.dev.
        if args.command == "serve":
            from .dev.serve import serve

            return serve(load_config(), args.host, args.port)
        from .dev.demo import demo

        rules = {} if args.relay_rules is None else {"relay_rules": args.relay_rules}
        return demo(args.host, args.port, args.ews_port, args.ews_auth, args.faults, **rules,
                    directory=args.directory)
    except ConfigError as e:
        print(f"rollcall: configuration: {e}", file=sys.stderr)
        return EXIT_USAGE
    except NotConfigured as e:
        print(f"rollcall: configuration: {e.message}", file=sys.stderr)
        return EXIT_USAGE
    except RollcallError as e:  # what a service refused: the message says why
        print(f"rollcall: {e.message}", file=sys.stderr)
        return EXIT_USAGE if e.status < 500 else EXIT_INCOMPLETE


def _count_arg(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _count(args: argparse.Namespace) -> int:
    from .bootstrap import bootstrap
    from .core.policy import evaluate
    from .core.recipients import parse_recipient
    from .counting.service import no_count

    services = bootstrap(_with_service_account(load_config()))
    recipients = [parse_recipient(e) for e in args.entries]
    report = services.counts.count(recipients, args.expected, args.mailbox, args.refresh)
    failure = no_count(report)
    if failure is not None:
        raise failure  # nothing is known: words and exit 1, never a count of 0
    preview = evaluate(report, services.config.policy)
    if args.json:
        print(json.dumps({**report.to_json(), "send_check": preview.to_json()}, indent=2))
    else:
        print(summary(report, preview.findings))
    return EXIT_OK if report.complete else EXIT_INCOMPLETE


def _check(args: argparse.Namespace) -> int:
    from .bootstrap import bootstrap
    from .core.recipients import parse_recipient

    config = _with_service_account(load_config())
    recipients = [parse_recipient(e) for e in args.entries]
    # A dry run with the count's own deadline: nothing waits here as Outlook does, and a
    # fresh process has no warm cache to answer from within the send check's.
    result = bootstrap(config).send_check.validate(recipients, expected=args.expected,
                                                   mailbox=args.mailbox, record=False,
                                                   deadline_s=config.count.deadline_s)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['action'].upper()}: {result['message']}")
        for f in result["findings"]:
            print(f"  - [{f['action']}: {f['rule']}] {f['message']}")
    if result["report"] is None:
        return EXIT_INCOMPLETE  # Exchange could not be asked: the verdict is a guess
    return {"allow": EXIT_OK, "warn": EXIT_WARN}.get(result["action"], EXIT_BLOCK)


def _with_service_account(config: Config) -> Config:
    """The configuration, unless it acts in Exchange with callers' tokens: a command line has
    no caller, so it needs the service account (ConfigError saying so). Over Graph it acts with
    Rollcall's own client credentials for ROLLCALL_MAILBOX (or --mailbox)."""
    if config.directory.kind == "graph":
        return config.with_settings(graph_auth="app")
    if config.ews.auth == "oauth":
        raise ConfigError("the command line has no signed-in person whose token ROLLCALL_EWS_AUTH="
                          "oauth could use: run it with ROLLCALL_EWS_AUTH=basic or ntlm and a "
                          "service account (ROLLCALL_EWS_USERNAME, ROLLCALL_EWS_PASSWORD)")
    return config


def _lists(args: argparse.Namespace) -> int:
    from .bootstrap import bootstrap

    config = load_config()
    if getattr(args, "lists_command", None) == "snapshot":
        config = _with_service_account(config)  # the only lists command that asks Exchange
    return cli_lists.run(args, bootstrap(config).lists)


def _manifest(args: argparse.Namespace) -> int:
    from .manifest import DEFAULT_URL, PLACEHOLDER_CLIENT_ID, render

    config = load_config()
    client_id = args.client_id or config.identity.client_id or PLACEHOLDER_CLIENT_ID
    try:
        sys.stdout.write(render(args.url or config.server.public_url or DEFAULT_URL, client_id))
    except ValueError as e:
        print(f"rollcall: manifest: {e}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def summary(report: CountReport, send_check: tuple[Finding, ...] = ()) -> str:
    """The report as a person reads it on a terminal: the number, where it comes from, the tree,
    the findings, each with what the send check would do (`send_check`: its findings)."""
    first = (f"{_n(report.total, 'unique recipient')}" if report.complete
             else f"at least {_n(report.total, 'unique recipient')}  (INCOMPLETE: some lists "
                  "were not fully expanded)")
    if report.complete and report.not_found:
        first += f"  ({_n(report.not_found, 'entry', 'entries')} not found)"
    lines = [first]
    if report.expected is not None and report.difference is not None:
        what = ("last count" if report.expected_source is ExpectedSource.PREVIOUS_COUNT
                else "expected")
        lines.append(f"{what} {report.expected}, difference {report.difference:+d}")
    moved = report.drift
    if moved and (moved.joined_count or moved.left_count):
        lines.append(f"since the last count ({moved.previous_at[:10]}): "
                     f"{moved.joined_count} joined, {moved.left_count} left")
        lines.extend(f"  {g.path}: {g.joined} joined, {g.left} left"
                     for g in moved.groups if g.path)
    if len(report.contributions) > 1:
        lines.append("where the people come from (people, only here):")
        lines.extend(f"  {' > '.join(c.path) or c.name}"
                     f"{' (listed directly)' if c.kind == 'direct' else ''}: {c.people}, {c.only}"
                     for c in report.contributions)
    lines.append(f"{_n(report.entries, 'entry', 'entries')} - "
                 f"{_n(report.duplicates, 'duplicate')} - "
                 f"{report.undeliverable} undeliverable"
                 + (f" - {report.not_looked_up} not looked up" if report.not_looked_up else "")
                 + f" = {report.total}")
    lines.append(f"{_n(report.lists, 'list')}, {report.max_depth} deep; "
                 f"{_n(report.requests, 'request')} in {report.elapsed_ms} ms")
    if report.tree:
        lines.append("")
        for node in report.tree:
            _tree_lines(node, 0, lines)
    # One severity table: what the send check does about each finding is said beside it.
    actions = {(f.code, f.message): f.action for f in send_check}
    shown = list(report.findings) + [f for f in send_check
                                     if (f.code, f.message) not in
                                     {(g.code, g.message) for g in report.findings}]
    for severity in Severity.ERROR, Severity.WARNING, Severity.INFO:
        found = [f for f in shown if f.severity is severity]
        if found:
            lines.append("")
            lines.append(HEADINGS[severity])
            for f in found:
                tag = f.code.value
                if send_check:
                    tag += f", send: {actions.get((f.code, f.message)) or 'allow'}"
                lines.append(f"  - [{tag}] {f.message}")
    return "\n".join(lines)


# As the pane groups findings, so a sender and an admin use the same words.
HEADINGS = {Severity.ERROR: "PROBLEMS", Severity.WARNING: "WARNINGS",
            Severity.INFO: "GOOD TO KNOW"}


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _tree_lines(root: TreeNode, level: int, lines: list[str]) -> None:
    """One line per list, indented by depth; a stack, not recursion: lists nest deep."""
    stack = [(root, level)]
    while stack:
        node, depth = stack.pop()
        status = "" if node.status is NodeStatus.EXPANDED else f" [{node.status.value}]"
        where = f" <{node.address}>" if node.address else ""
        lines.append(f"{'  ' * depth}{node.name}{where}: {node.unique_members}{status}")
        stack.extend((child, depth + 1) for child in reversed(node.children))


if __name__ == "__main__":
    sys.exit(main())
