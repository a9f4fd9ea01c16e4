"""`rollcall send create|show|recipients|list|test|pause|resume|cancel|retry` and `rollcall
worker`: tracked send from the command line. `--json` prints the API's objects. Exit codes:
0 queued (or done), 1 the count is incomplete or Exchange unavailable, 2 bad usage or
configuration (or a control that does not apply now), 4 the send check blocks."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from .sending.model import RecipientRecord, SendSummary, State

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE, EXIT_BLOCK = 0, 1, 2, 4
CONTROLS = {
    "pause": "stop sending this send's copies until it is resumed",
    "resume": "go on with a paused send",
    "cancel": "cancel the copies not sent yet (they are kept, marked cancelled)",
    "retry": "try deferred copies now, and queue again those that failed only because "
             "temporary refusals ran out their time",
}


def add_parsers(sub: Any) -> None:
    s = sub.add_parser("send", help="tracked send: one message per recipient through the relay")
    ss = s.add_subparsers(dest="send_command", required=True)
    c = ss.add_parser("create", help="count ENTRY... and queue one message per recipient "
                      "(exit 0 queued, 1 count incomplete, 4 blocked)")
    c.add_argument("entries", nargs="+", metavar="ENTRY", help="as for `rollcall count`")
    c.add_argument("--from", dest="sender", required=True, metavar="SMTP",
                   help="the sender's mailbox (From, and whose rate limit it counts against)")
    c.add_argument("--subject", required=True)
    c.add_argument("--html", type=Path, metavar="FILE", help="the HTML body")
    c.add_argument("--text", type=Path, metavar="FILE", help="the plain-text body")
    c.add_argument("--expected", type=number, help="how many recipients you expect")
    c.add_argument("--allow-incomplete", action="store_true",
                   help="send even if some lists could not be expanded")
    c.add_argument("--dry-run", action="store_true", help="say what would happen; queue nothing")
    c.add_argument("--json", action="store_true")
    t = ss.add_parser("test", help="send one copy to --from through the same relay")
    t.add_argument("--from", dest="sender", required=True, metavar="SMTP")
    t.add_argument("--subject", required=True)
    t.add_argument("--html", type=Path, metavar="FILE")
    t.add_argument("--text", type=Path, metavar="FILE")
    t.add_argument("--json", action="store_true")
    h = ss.add_parser("show", help="a send's status, counts per state, bounce rate, relays")
    h.add_argument("id", type=int)
    h.add_argument("--json", action="store_true")
    r = ss.add_parser("recipients", help="every recipient's record: state, attempts, reply, "
                      "Message-ID, the relay's queue id")
    r.add_argument("id", type=int)
    r.add_argument("--state", choices=[s.value for s in State])
    r.add_argument("--json", action="store_true")
    ls = ss.add_parser("list", help="the newest sends")
    ls.add_argument("--json", action="store_true")
    for verb, words in CONTROLS.items():
        c = ss.add_parser(verb, help=words)
        c.add_argument("id", type=int)
        c.add_argument("--reason", metavar="TEXT", help="why (kept in the audit trail)")
        c.add_argument("--json", action="store_true")
    w = sub.add_parser("worker", help="send queued messages through the relay until stopped")
    w.add_argument("--until-done", action="store_true",
                   help="exit once every send is final (nothing queued, sending or deferred)")


def run(args: argparse.Namespace, config: Any) -> int:
    from .bootstrap import bootstrap
    from .lists import operator

    services = bootstrap(config)
    if args.command == "worker":
        return _worker(services, args.until_done)
    sends, who = services.sends, operator()
    command = args.send_command
    if command in ("create", "test") and not config.server.public_url:
        print(f"rollcall: note: links in the messages (unsubscribe, tracking) point to "
              f"{sends.base_url}; set ROLLCALL_PUBLIC_URL to where Rollcall is served",
              file=sys.stderr)
    if command in ("create", "test"):
        try:
            html, text = _read(args.html), _read(args.text)
        except Unreadable as e:
            print(e, file=sys.stderr)
            return EXIT_USAGE
        if html is None and text is None:
            print("rollcall: send: give the body with --html FILE or --text FILE",
                  file=sys.stderr)
            return EXIT_USAGE
        if command == "test":
            summary = sends.test(args.sender, args.subject, html, text)
            return _print_summary(summary, args.json)
        return _create(services, args, html, text)
    if command == "show":
        return _print_summary(sends.show(args.id, who), args.json)
    if command in CONTROLS:
        changed = getattr(services.controls, command)(args.id, who, args.reason)
        if not args.json and isinstance(changed, int):
            done = "cancelled" if command == "cancel" else "due now"
            print(f"Send {args.id}: {_n(changed, 'recipient')} {done}.")
        return _print_summary(sends.show(args.id, who), args.json)
    if command == "recipients":
        found = sends.recipients(args.id, who, State(args.state) if args.state else None)
        if args.json:
            print(json.dumps({"recipients": [r.to_json() for r in found]}, indent=2))
        else:
            for line in recipient_lines(found):
                print(line)
        return EXIT_OK
    found_sends = sends.sends(who, everyone=True)
    if args.json:
        print(json.dumps({"sends": [s.to_json() for s in found_sends]}, indent=2))
    else:
        print(f"{'ID':>6}  {'STATUS':<8} {'SENT':>6}/{'TO':<6} {'SENDER':<30} SUBJECT")
        for s in found_sends:
            print(f"{s.id:>6}  {s.status.value:<8} {s.counts.get('sent', 0):>6}/"
                  f"{s.recipients - sum(s.suppressed.values()):<6} {s.sender:<30} "
                  f"{' '.join(s.subject.split())}")
    return EXIT_OK


def _create(services: Any, args: argparse.Namespace, html: str | None, text: str | None) -> int:
    from .core.recipients import parse_recipient
    from .lists import counting_as_operator
    from .sending.service import CountIncomplete, SendBlocked

    recipients = [parse_recipient(e) for e in args.entries]
    try:
        with counting_as_operator():
            if args.dry_run:
                plan, _ = services.sends.plan(args.sender, recipients, args.expected,
                                              args.allow_incomplete)
                print(json.dumps({"plan": plan.to_json()}, indent=2) if args.json
                      else plan_words(plan.to_json()))
                return EXIT_OK
            summary, plan = services.sends.create(args.sender, recipients, args.subject,
                                                  html, text, args.expected,
                                                  args.allow_incomplete)
    except CountIncomplete as e:
        _refused(e, args.json, " (--allow-incomplete sends to the people found so far)")
        return EXIT_INCOMPLETE
    except SendBlocked as e:
        _refused(e, args.json)
        return EXIT_BLOCK
    if args.json:
        print(json.dumps({**summary.to_json(), "plan": plan.to_json()}, indent=2))
    else:
        print(plan_words(plan.to_json()))
        print(f"Queued as send {summary.id}: `rollcall send show {summary.id}` follows it.")
    return EXIT_OK


def _refused(error: Any, as_json: bool, hint: str = "") -> None:
    """Why a send was refused: in words on stderr, and with --json as the API's error body."""
    if as_json:
        print(json.dumps(error.to_json(), indent=2))
    print(f"rollcall: {error.message}{hint}", file=sys.stderr)


def _worker(services: Any, until_done: bool) -> int:
    from .bootstrap import send_worker

    worker = send_worker(services)
    if worker is None:
        print("rollcall: worker: no relay is configured (ROLLCALL_SMTP_URL)", file=sys.stderr)
        return EXIT_USAGE
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"Send worker {worker.name} running", flush=True)
    worker.run(stop, until_done=until_done)
    return EXIT_OK


def plan_words(plan: dict[str, Any]) -> str:
    """What a send will do, in a sentence or three."""
    lines = [f"{_n(plan['messages'], 'message')}, one per recipient, through {plan['relay']}"
             + (f" (fallback {plan['fallback']})" if plan["fallback"] else "") + "."]
    if plan["suppressed"]:
        why = ", ".join(f"{n} {plan['suppressed_words'][k]}" for k, n in
                        plan["suppressed"].items())
        lines.append(f"Not sent to {sum(plan['suppressed'].values())}: {why}.")
    minutes = plan["estimated_s"] / 60
    rate = plan["rate"]
    lines.append(f"About {minutes:.0f} minutes at the rate limit ({rate['per_minute']} a "
                 f"minute, {rate['per_hour']} an hour)." if minutes >= 1 else
                 f"Under a minute at the rate limit ({rate['per_minute']} a minute).")
    return "\n".join(lines)


def _print_summary(s: SendSummary, as_json: bool) -> int:
    if as_json:
        print(json.dumps(s.to_json(), indent=2))
        return EXIT_OK
    counts = ", ".join(f"{n} {state}" for state, n in s.counts.items() if n)
    print(f"Send {s.id}: {s.status.value}. \"{s.subject}\" from {s.from_address}")
    print(f"  {_n(s.recipients, 'recipient')}: {counts or 'none'}")
    rate = s.to_json()["bounce_rate"]
    if rate is not None:
        print(f"  Failed or bounced: {rate:.1%} of those attempted")
    if s.relays:
        print("  Relays: " + ", ".join(f"{k} {n}" for k, n in s.relays.items()))
    if s.waiting:
        print(f"  {s.waiting}")
    if s.bounce_warning:
        print(f"  Warning: {s.bounce_warning}")
    return EXIT_OK


def recipient_lines(records: list[RecipientRecord]) -> list[str]:
    lines = []
    for r in records:
        reply = f"{r.code or '-'} {r.enhanced or ''}".strip()
        lines.append(f"{r.address:<32} {r.state.value:<10} attempts={r.attempts} "
                     f"reply={reply} queue_id={r.remote_id or '-'} relay={r.relay or '-'} "
                     f"{r.message_id}")
        if r.meaning:
            lines.append(f"    {r.meaning}" + (f" ({r.reason})" if r.reason else ""))
        elif r.reason:
            lines.append(f"    not sent: {r.reason}")
    return lines


class Unreadable(Exception):
    """A body file that cannot be read: bad usage (exit 2)."""


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        why = e.strerror if isinstance(e, OSError) else "it is not UTF-8 text"
        raise Unreadable(f"rollcall: send: cannot read {path}: {why}") from None


def number(text: str) -> int:
    """argparse's type for a count (its name is what a bad value's message calls it)."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _n(count: int, one: str) -> str:
    return f"{count:,} {one}{'' if count == 1 else 's'}"
