"""`rollcall queue status|stop|start|empty`, `rollcall smtp test|health` and `rollcall trace`:
the SMTP service as Server information shows it, its controls and diagnostics, from the
server's command line (which acts as an administrator, audited as `cli:USER`). Exit codes: 0
done (status: healthy; test: the relay would take mail; trace: found), 1 held up, failing or
not found, 2 bad usage or configuration."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

EXIT_OK, EXIT_TROUBLE, EXIT_USAGE = 0, 1, 2
COMMANDS = ("queue", "smtp", "trace")


def add_parsers(sub: Any) -> None:
    q = sub.add_parser("queue", help="the SMTP service's queue: status, stop, start, empty")
    qs = q.add_subparsers(dest="queue_command", required=True)
    st = qs.add_parser("status", help="running or stopped, the relays, the queue, the sends "
                       "going (exit 1 when mail is held up or failing)")
    st.add_argument("--json", action="store_true")
    stop = qs.add_parser("stop", help="workers finish what they hold and claim nothing more")
    stop.add_argument("--reason", metavar="TEXT", help="why (shown in Server information)")
    start = qs.add_parser("start", help="workers claim again")
    start.add_argument("--reason", metavar="TEXT")
    empty = qs.add_parser("empty", help="cancel everything queued or deferred (kept, marked "
                          "cancelled; what was sent stays sent)")
    empty.add_argument("--send", type=int, metavar="ID", help="only this send")
    empty.add_argument("--reason", metavar="TEXT")
    for p in (stop, start, empty):
        p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, services: Any) -> int:
    from .lists import operator

    if args.command != "queue":
        return run_diagnostic(args, services)

    controls, who = services.controls, operator()
    command = args.queue_command
    if command == "status":
        section = controls.status()
        print(json.dumps(section, indent=2) if args.json else "\n".join(status_lines(section)))
        return EXIT_OK if section["verdict"]["level"] == "ok" else EXIT_TROUBLE
    if command == "empty":
        cancelled = controls.empty(who, args.reason, args.send)
        section = controls.status()
        if args.json:
            print(json.dumps({"cancelled": cancelled, "smtp": section}, indent=2))
        else:
            where = f" of send {args.send}" if args.send else ""
            print(f"Cancelled {cancelled:,} waiting recipient{'' if cancelled == 1 else 's'}"
                  f"{where}.")
            print(section["verdict"]["text"])
        return EXIT_OK
    section = controls.stop(who, args.reason) if command == "stop" \
        else controls.start(who, args.reason)
    print(json.dumps(section, indent=2) if args.json else section["verdict"]["text"])
    return EXIT_OK


def status_lines(section: dict[str, Any]) -> list[str]:
    """The SMTP service section in words, verdict first."""
    lines = [section["verdict"]["text"], ""]
    service = section["service"]
    state = service["state"]
    if service["changed_by"]:
        state += f" (by {service['changed_by']} at {_hm(service['changed_at'])}" + (
            f": {service['reason']})" if service["reason"] else ")")
    lines.append(f"SMTP service: {state}")
    for r in section["relays"]:
        health = {"active": "taking mail", "unknown": "not used yet",
                  "circuit_open": "cannot be reached", "paused": "paused"}[r["state"]]
        lines.append(f"  {r['name']} relay {r['label']}: {health}"
                     + (f", until {_hm(r['until'])} UTC ({r['reason']})"
                        if r["state"] in ("circuit_open", "paused") else "")
                     + (", TLS" if r["tls"] else "") + (", signed in" if r["authenticated"]
                                                         else ""))
        lines.append(f"    {r['per_minute_5m']:g}/min over 5 min, {r['per_minute_60m']:g}/min "
                     f"over 60 min; {r['budget_hour']:,} of {r['limit_hour']:,} left this hour;"
                     + (f" last delivery {_hm(r['last_ok_at'])} UTC" if r["last_ok_at"]
                        else " no delivery yet"))
        if r["last_error"] and r["state"] != "active":
            lines.append(f"    last error: {r['last_error']}")
    queue = section["queue"]
    pending = ", ".join(f"{n:,} {s}" for s, n in queue["pending"].items())
    oldest = queue["oldest_pending_s"]
    lines.append(f"Queue: {pending}" + (f"; oldest waiting {_age(oldest)}" if oldest else ""))
    for s in section["sends"]:
        eta = s["eta_s"]
        lines.append(f"  send {s['id']} {s['status']} \"{s['subject']}\" from {s['sender']}: "
                     f"{s['done']:,}/{s['to_send']:,} done, {s['deferred']:,} deferred, "
                     f"{s['failed']:,} failed"
                     + (f", bounce rate {s['bounce_rate']:.0%}" if s["bounce_rate"] else "")
                     + (f", about {_age(eta)} to go" if eta else ""))
    return lines


def _hm(iso: str | None) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%H:%M") if iso else "never"


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# -- rollcall smtp test|health, rollcall trace -------------------------------------------------


def add_diagnostic_parsers(sub: Any) -> None:
    s = sub.add_parser("smtp", help="test a relay's connection, check its health")
    ss = s.add_subparsers(dest="smtp_command", required=True)
    t = ss.add_parser("test", help="connect, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, RSET: "
                      "nothing is sent unless --to (exit 0 the relay would take mail, 1 not)")
    t.add_argument("--fallback", action="store_true", help="the fallback relay")
    t.add_argument("--to", metavar="ADDR", help="really send one test message to ADDR")
    t.add_argument("--rcpt", metavar="ADDR", help="the RCPT TO address to try (nothing sent; "
                   "default postmaster at the sending domain)")
    t.add_argument("--from", dest="mail_from", metavar="ADDR", help="MAIL FROM (default as a "
                   "send's: the relay's user, ROLLCALL_BOUNCE_ADDRESS or ROLLCALL_MAILBOX)")
    t.add_argument("--json", action="store_true")
    h = ss.add_parser("health", help="open-relay self-test, DNS blacklists, SPF, DKIM, DMARC "
                      "(exit 1 when open or listed)")
    h.add_argument("--fallback", action="store_true")
    h.add_argument("--json", action="store_true")
    tr = sub.add_parser("trace", help="a recipient's copies by Message-ID, the relay's queue id "
                        "or address: every attempt, and where to look next")
    tr.add_argument("query", metavar="QUERY")
    tr.add_argument("--send", type=int, metavar="ID", help="only this send")
    tr.add_argument("--json", action="store_true")


def run_diagnostic(args: argparse.Namespace, services: Any) -> int:
    from .lists import operator

    diagnostics, who = services.diagnostics, operator()
    if args.command == "trace":
        found = diagnostics.trace(who, args.query, args.send)
        print(json.dumps(found, indent=2) if args.json else "\n".join(trace_lines(found)))
        return EXIT_OK if found["traces"] else EXIT_TROUBLE
    name = "fallback" if args.fallback else "primary"
    if args.smtp_command == "test":
        result = diagnostics.test(who, name, args.to, args.rcpt, args.mail_from)
        print(json.dumps(result, indent=2) if args.json else "\n".join(probe_lines(result)))
        return EXIT_OK if result["ok"] else EXIT_TROUBLE
    checks = diagnostics.health(who, name)
    print(json.dumps(checks, indent=2) if args.json else "\n".join(health_lines(checks)))
    listed = any(x["listed"] for x in checks["dns"]["listings"])
    return EXIT_TROUBLE if checks["open_relay"]["open"] or listed else EXIT_OK


def probe_lines(result: dict[str, Any]) -> list[str]:
    lines = [f"{result['relay']} relay {result['label']}: "
             + ("would take mail" if result["ok"] and not result["sent"] else
                f"took the test message (queue id {result['queue_id'] or 'not given'})"
                if result["ok"] else f"failed at {result['failed_step']}: {result['meaning']}")]
    for step in result["steps"]:
        said = f"{step['code'] or ''} {step['text']}".strip()
        lines.append(f"  {'ok  ' if step['ok'] else 'FAIL'} {step['name']:<9} "
                     f"{step['elapsed_ms']:>5} ms  {said}")
        if not step["ok"] and step["meaning"]:
            lines.append(f"       {step['meaning']}")
    return lines


def health_lines(checks: dict[str, Any]) -> list[str]:
    opened, dns = checks["open_relay"], checks["dns"]
    lines = [f"{checks['relay']} relay {checks['label']}, checked {_hm(checks['checked_at'])} UTC",
             f"Open relay: {opened['verdict']}", f"Blacklists: {dns['verdict']}"]
    for x in dns["listings"]:
        if x["listed"] or x["error"]:
            lines.append(f"  {x['zone']} {x['address']}: "
                         + (f"LISTED {x['reason'] or x['answer']}" if x["listed"]
                            else x["error"]))
    lines += [f"SPF: {dns['spf']['words']}", f"DKIM: {dns['dkim']['words']}",
              f"DMARC: {dns['dmarc']['words']}", "For recipients' IT teams to allow:"]
    lines += [f"  {line}" for line in dns["whitelist"]]
    return lines


def trace_lines(found: dict[str, Any]) -> list[str]:
    if not found["traces"]:
        return [f"Nothing matches {found['query']!r} (tried: {', '.join(found['tried'])})."]
    lines: list[str] = []
    for t in found["traces"]:
        lines.append(f"{t['address']} in send {t['send_id']} \"{t['subject']}\" from "
                     f"{t['sender']}: {t['state']}")
        for e in t["events"]:
            said = " ".join(str(x) for x in (e["code"], e["enhanced"]) if x)
            lines.append(f"  {e['at'][:19].replace('T', ' ')}  {e['kind']:<12} "
                         + (f"{e['relay']} " if e["relay"] else "") + said
                         + (f" {e['meaning']}" if e["meaning"] else ""))
        lines.append("  Next:")
        for step in t["next_steps"]:
            lines.append(f"    {step['where']}: {step.get('command') or step['why']}")
        lines.append("  Support report:")
        lines += [f"    {line}" for line in t["support_text"].splitlines()]
    return lines
