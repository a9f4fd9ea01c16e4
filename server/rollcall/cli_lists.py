"""`rollcall lists ...` and `rollcall contacts ...`: Rollcall lists from the command line.

The command line runs on the server with the database's credentials, so it acts as an
administrator (every list, purging included), recorded in the audit trail as `cli:USER`. A list
it makes belongs to `cli:USER`, which no person matches: only administrators see it until
`rollcall lists owner NAME MAILBOX` hands it to someone."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import RollcallError

if TYPE_CHECKING:
    from .lists import ListsService, Principal

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(sub: Any) -> None:
    lists = sub.add_parser("lists", help="Rollcall's own lists").add_subparsers(
        dest="lists_command", required=True)
    p = lists.add_parser("create", help="create a list")
    p.add_argument("name")
    p.add_argument("--expected", type=_expected, help="how many recipients it should reach")
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
    lists.add_parser("all", help="every list, with its owner")
    p = lists.add_parser("owner", help="hand a list over to a new owner (a mailbox)")
    p.add_argument("name")
    p.add_argument("owner", metavar="NEW_OWNER")
    for verb, text in (("share", "share a list with a person or a group"),
                       ("unshare", "stop sharing a list with a person or a group")):
        p = lists.add_parser(verb, help=text)
        p.add_argument("name")
        whom = p.add_mutually_exclusive_group(required=True)
        whom.add_argument("--person", metavar="MAILBOX")
        whom.add_argument("--group", metavar="GROUP_ID", help="as the token's groups claim has it")
        if verb == "share":
            p.add_argument("--role", choices=("viewer", "editor"), default="viewer")

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


def _expected(text: str) -> int:
    """--expected N: a whole number within the bound the API keeps (argparse says it, exit 2)."""
    from .core.model import MAX_EXPECTED

    try:
        value = int(text)
    except ValueError:  # not a number, or thousands of digits
        value = -1
    if not 0 <= value <= MAX_EXPECTED:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of recipients, from 0 to {MAX_EXPECTED:,}")
    return value


def run(args: argparse.Namespace, lists: ListsService) -> int:
    """Carry out one lists/contacts command; RollcallError becomes a message and exit 2."""
    from .lists import counting_as_operator, operator

    try:
        with counting_as_operator():  # a snapshot's count may meet Rollcall lists too
            if args.command == "lists":
                return _lists(args, lists, operator())
            return _contacts(args, lists, operator())
    except RollcallError as e:
        print(f"rollcall: {e.message}", file=sys.stderr)
        report = getattr(e, "report", None)
        if report is not None:
            _print_import(report, sys.stderr)
        return EXIT_USAGE if e.status < 500 else EXIT_FAILED


def _lists(args: argparse.Namespace, lists: ListsService, actor: Principal) -> int:
    store, cmd = lists, args.lists_command
    if cmd == "create":
        info = store.create_list(actor, args.name, args.expected)
        print(f"created {info.name} ({info.address}), owner {info.owner}")
    elif cmd == "import":
        try:
            data = args.file.read_bytes()
        except OSError as e:
            print(f"rollcall: cannot read {args.file}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
        _print_import(store.import_csv(actor, args.name, data, skip_invalid=args.skip_invalid),
                      sys.stdout)
    elif cmd == "export":
        sys.stdout.write(store.export_csv(actor, args.name))
    elif cmd == "show":
        _print_members(store.members(actor, args.name), store.shares(actor, args.name))
    elif cmd == "add":
        if args.exchange:
            member = store.add_exchange(actor, args.name, args.member)
        elif args.list:
            member = store.add_sublist(actor, args.name, args.member)
        else:
            member = store.add_contact(actor, args.name, args.member, args.contact_name)
        print(f"added {member.address} to {args.name}")
    elif cmd == "remove":
        store.remove(actor, args.name, args.member)
        print(f"removed {args.member} from {args.name}")
    elif cmd in ("all", "owner", "share", "unshare"):
        _sharing(args, lists, actor)
    elif cmd == "history":
        rows = lists.history(actor, args.name)
        if not rows:
            print(f"{args.name} has not been counted yet")
        for s in rows:
            print(f"{s.at:%Y-%m-%d %H:%M:%S} UTC  {s.total:>8} recipients")
    elif cmd == "snapshot":
        result = lists.snapshot_exchange(actor, args.name, args.from_exchange)
        print(f"{args.from_exchange} reaches {result['total']} people today")
        _print_import(result["import"], sys.stdout)
    return EXIT_OK


def _sharing(args: argparse.Namespace, lists: ListsService, actor: Principal) -> None:
    cmd = args.lists_command
    if cmd == "all":
        for info in lists.all_lists(actor):
            print(f"{info.name}  owner {info.owner}")
        return
    if cmd == "owner":
        info = lists.hand_over(actor, args.name, args.owner)
        print(f"{info.name} now belongs to {info.owner}")
        return
    kind, whom = ("person", args.person) if args.person else ("group", args.group)
    if cmd == "share":
        share = lists.share(actor, args.name, kind, whom, args.role)
        print(f"shared {args.name} with the {kind} {share.principal} as {share.role}")
    else:
        lists.unshare(actor, args.name, kind, whom)
        print(f"{args.name} is no longer shared with the {kind} {whom}")


def _contacts(args: argparse.Namespace, store: ListsService, actor: Principal) -> int:
    cmd = args.contacts_command
    if cmd == "delete":
        event = store.delete_contact(actor, args.email, all_lists=args.all,
                                     list_name=args.list, purge_tracking=args.purge_tracking)
        where = "all lists" if args.all else args.list
        print(f"deleted {args.email} from {where} ({', '.join(event.lists) or 'no lists'}); "
              f"tracking {event.tracking}")
    elif cmd == "restore":
        event = store.restore_contact(actor, args.email)
        print(f"restored {args.email} to {', '.join(event.lists) or 'no lists'}")
    else:
        store.set_opt_out(actor, args.email, cmd == "opt-out")
        print(f"{args.email}: {'opted out of' if cmd == 'opt-out' else 'back in'} every list")
    return EXIT_OK


def _print_import(report: Any, out: Any) -> None:
    print(f"{report.list_name}: {report.added} added, {report.updated} updated, "
          f"{report.unchanged} unchanged, {len(report.skipped)} skipped", file=out)
    for p in report.problems:
        print(f"  line {p.line}: {p.email or '(no address)'}: {p.code}: {p.message}", file=out)


def _print_members(members: Any, shares: Any = ()) -> None:
    info = members.list
    expected = f", expected {info.expected}" if info.expected is not None else ""
    print(f"{info.name} ({info.address}), owner {info.owner}{expected}")
    for s in shares:
        print(f"  shared with the {s.kind} {s.principal} as {s.role}")
    for m in members.active:
        flag = "  [opted out]" if m.opted_out else ""
        print(f"  {m.kind:<8} {m.address}  {m.name}{flag}")
    for r in members.removed:
        scope = "all lists" if r.all_lists else ", ".join(r.lists)
        print(f"  deleted  {r.address or '(purged)'} from {scope} by {r.removed_by} "
              f"on {r.removed_at:%Y-%m-%d}")
