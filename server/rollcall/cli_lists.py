"""`rollcall lists ...` and `rollcall contacts ...`: Rollcall lists from the command line."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RollcallError

if TYPE_CHECKING:
    from .lists import ListsService

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(sub: Any) -> None:
    lists = sub.add_parser("lists", help="Rollcall's own lists").add_subparsers(
        dest="lists_command", required=True)
    p = lists.add_parser("create", help="create a list")
    p.add_argument("name")
    p.add_argument("--expected", type=int, help="how many recipients it should reach")
    p = lists.add_parser("import", help="import contacts from a CSV file (creates the list)")
    p.add_argument("name")
    p.add_argument("file", type=Path)
    p.add_argument("--skip-invalid", action="store_true",
                   help="import the valid lines and report the others (default: all or nothing)")
    p = lists.add_parser("export", help="write the list's contacts as CSV to standard output")
    p.add_argument("name")
    p = lists.add_parser("show", help="members, and who was deleted by whom")
    p.add_argument("name")
    p = lists.add_parser("add", help="add a contact, an Exchange address or another list")
    p.add_argument("name")
    p.add_argument("member", help="an email address; with --exchange or --list, see those")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--exchange", action="store_true",
                      help="MEMBER is an Exchange address (a DL), expanded live when counting")
    kind.add_argument("--list", action="store_true", help="MEMBER is another Rollcall list")
    p.add_argument("--contact-name", help="the contact's display name")
    p = lists.add_parser("remove", help="end a membership in this list (audited)")
    p.add_argument("name")
    p.add_argument("member")
    p = lists.add_parser("history", help="stored counts of the list, newest first")
    p.add_argument("name")
    p = lists.add_parser("snapshot", help="copy an Exchange list's people into a Rollcall list")
    p.add_argument("name")
    p.add_argument("--from-exchange", required=True, metavar="DL", help="the Exchange list")

    contacts = sub.add_parser("contacts", help="contacts of Rollcall lists").add_subparsers(
        dest="contacts_command", required=True)
    p = contacts.add_parser("delete", help="delete from one list or from all lists (audited)")
    p.add_argument("email")
    scope = p.add_mutually_exclusive_group(required=True)
    scope.add_argument("--list", metavar="NAME")
    scope.add_argument("--all", action="store_true")
    p.add_argument("--purge-tracking", action="store_true",
                   help="erase the contact's personal data from the history too")
    p = contacts.add_parser("restore", help="bring back a deleted contact and its memberships")
    p.add_argument("email")
    for verb in ("opt-out", "opt-in"):
        p = contacts.add_parser(verb, help=f"{verb} of every Rollcall list")
        p.add_argument("email")


def run(args: argparse.Namespace, lists: ListsService) -> int:
    """Carry out one lists/contacts command; RollcallError becomes a message and exit 2."""
    actor = f"cli:{getpass.getuser()}"
    try:
        if args.command == "lists":
            return _lists(args, lists, actor)
        return _contacts(args, lists, actor)
    except RollcallError as e:
        print(f"rollcall: {e.message}", file=sys.stderr)
        report = getattr(e, "report", None)
        if report is not None:
            _print_import(report, sys.stderr)
        return EXIT_USAGE if e.status < 500 else EXIT_FAILED


def _lists(args: argparse.Namespace, lists: ListsService, actor: str) -> int:
    store, cmd = lists, args.lists_command
    if cmd == "create":
        info = store.create_list(args.name, actor, args.expected)
        print(f"created {info.name} ({info.address})")
    elif cmd == "import":
        try:
            data = args.file.read_bytes()
        except OSError as e:
            print(f"rollcall: cannot read {args.file}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
        _print_import(store.import_csv(args.name, data, actor, skip_invalid=args.skip_invalid),
                      sys.stdout)
    elif cmd == "export":
        sys.stdout.write(store.export_csv(args.name))
    elif cmd == "show":
        _print_members(store.members(args.name))
    elif cmd == "add":
        if args.exchange:
            member = store.add_exchange(args.name, args.member, actor)
        elif args.list:
            member = store.add_sublist(args.name, args.member, actor)
        else:
            member = store.add_contact(args.name, args.member, actor, args.contact_name)
        print(f"added {member.address} to {args.name}")
    elif cmd == "remove":
        store.remove(args.name, args.member, actor)
        print(f"removed {args.member} from {args.name}")
    elif cmd == "history":
        rows = lists.history(args.name)
        if not rows:
            print(f"{args.name} has not been counted yet")
        for s in rows:
            print(f"{s.at:%Y-%m-%d %H:%M:%S} UTC  {s.total:>8} recipients")
    elif cmd == "snapshot":
        result = lists.snapshot_exchange(args.name, args.from_exchange, actor)
        print(f"{args.from_exchange} reaches {result['total']} people today")
        _print_import(result["import"], sys.stdout)
    return EXIT_OK


def _contacts(args: argparse.Namespace, store: ListsService, actor: str) -> int:
    cmd = args.contacts_command
    if cmd == "delete":
        event = store.delete_contact(args.email, actor, all_lists=args.all,
                                     list_name=args.list, purge_tracking=args.purge_tracking)
        where = "all lists" if args.all else args.list
        print(f"deleted {args.email} from {where} ({', '.join(event.lists) or 'no lists'}); "
              f"tracking {event.tracking}")
    elif cmd == "restore":
        event = store.restore_contact(args.email, actor)
        print(f"restored {args.email} to {', '.join(event.lists) or 'no lists'}")
    else:
        store.set_opt_out(args.email, cmd == "opt-out", actor)
        print(f"{args.email}: {'opted out of' if cmd == 'opt-out' else 'back in'} every list")
    return EXIT_OK


def _print_import(report: Any, out: Any) -> None:
    print(f"{report.list_name}: {report.added} added, {report.updated} updated, "
          f"{report.unchanged} unchanged, {len(report.skipped)} skipped", file=out)
    for p in report.problems:
        print(f"  line {p.line}: {p.email or '(no address)'}: {p.code}: {p.message}", file=out)


def _print_members(members: Any) -> None:
    info = members.list
    expected = f", expected {info.expected}" if info.expected is not None else ""
    print(f"{info.name} ({info.address}), owner {info.owner}{expected}")
    for m in members.active:
        flag = "  [opted out]" if m.opted_out else ""
        print(f"  {m.kind:<8} {m.address}  {m.name}{flag}")
    for r in members.removed:
        scope = "all lists" if r.all_lists else ", ".join(r.lists)
        print(f"  deleted  {r.address or '(purged)'} from {scope} by {r.removed_by} "
              f"on {r.removed_at:%Y-%m-%d}")
