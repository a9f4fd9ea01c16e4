"""CSV import into a list: validated first, then applied all or nothing, or, for a large file,
checked in one read and applied in chunks of ROWS_PER_TRANSACTION rows, each its own short
write transaction, so that no import holds the database's write lock for long (on SQLite the
send check's hourly window waits for it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.store.access import Level, Principal
from rollcall.store.csv_io import CsvRow, ParsedCsv, parse_csv
from rollcall.store.errors import ImportRejected, ListNotFound
from rollcall.store.members import create, deleted_error, new_contact, update_contact
from rollcall.store.models import Contact, Membership, RollcallList
from rollcall.store.queries import find_list, record, utcnow
from rollcall.store.records import ImportReport, LineProblem
from rollcall.store.sharing import check
from rollcall.store.transaction import Transactor
from rollcall.store.validate import clean_list_name, strip_list_prefix

CHUNK = 500  # addresses per IN (...) query: well under every database's parameter limit
ROWS_PER_TRANSACTION = 1000  # a write transaction of this many rows takes tens of milliseconds


def parse(list_name: str, data: bytes, skip_invalid: bool) -> ParsedCsv:
    """Parse before touching the database; raises ImportRejected for a bad file or bad lines."""
    parsed = parse_csv(data)
    if parsed.fatal or (parsed.problems and not skip_invalid):
        name = strip_list_prefix(list_name)
        raise ImportRejected(ImportReport(name, 0, 0, 0, (), parsed.problems))
    return parsed


def _target(s: Session, list_name: str, actor: str, create_missing: bool) -> RollcallList:
    try:
        return find_list(s, list_name)
    except ListNotFound:
        if not create_missing:
            raise
        return create(s, clean_list_name(list_name), actor, None)


def _lock_contacts(s: Session, keys: list[str]) -> dict[str, Contact]:
    # Locked in address order, as every import does: two imports cannot deadlock each other.
    found: dict[str, Contact] = {}
    ordered = sorted(set(keys))
    for start in range(0, len(ordered), CHUNK):
        query = (
            select(Contact)
            .where(Contact.email_key.in_(ordered[start : start + CHUNK]))
            .order_by(Contact.email_key)
            .with_for_update()
        )
        found.update((c.email_key or "", c) for c in s.scalars(query))
    return found


def run(tx: Transactor, list_name: str, data: bytes, actor: str, skip_invalid: bool,
        create: bool, who: Principal | None = None) -> ImportReport:
    """Parse, check and apply one CSV file.

    A file of more than ROWS_PER_TRANSACTION rows is checked first (bad lines, deleted
    contacts: nothing is written if any, unless skip_invalid) and then written in chunks, each
    a short transaction: a contact deleted by someone else between the check and its chunk
    stops the import there, with the chunks before it kept."""
    parsed = parse(list_name, data, skip_invalid)
    pieces = chunks(parsed)
    if len(pieces) == 1:
        return tx.write(lambda s: apply(s, list_name, parsed, actor, skip_invalid, create,
                                              who=who))
    gone = tx.read(lambda s: deleted_rows(s, parsed))
    if gone and not skip_invalid:
        problems = tuple(sorted((*parsed.problems, *gone), key=lambda p: p.line))
        raise ImportRejected(ImportReport(strip_list_prefix(list_name), 0, 0, 0, (), problems))
    parts: list[ImportReport] = []
    for piece in pieces:
        def one(s: Session, piece: ParsedCsv = piece) -> ImportReport:
            return apply(s, list_name, piece, actor, skip_invalid, create, audit=False,
                         who=who)

        parts.append(tx.write(one))
    report = summed(parts[0].list_name, parts, skip_invalid)
    tx.write(lambda s: record_import(s, list_name, report, actor))
    return report


def chunks(parsed: ParsedCsv) -> list[ParsedCsv]:
    """The rows in pieces of ROWS_PER_TRANSACTION (the line problems stay with the first)."""
    rows = parsed.rows
    pieces = [replace(parsed, rows=rows[i:i + ROWS_PER_TRANSACTION], problems=())
              for i in range(0, len(rows), ROWS_PER_TRANSACTION)] or [parsed]
    pieces[0] = replace(pieces[0], problems=parsed.problems)
    return pieces


def deleted_rows(s: Session, parsed: ParsedCsv) -> list[LineProblem]:
    """Rows whose contact was deleted (an import never brings one back): read, no locks."""
    keys = sorted({row.key for row in parsed.rows})
    gone: dict[str, Contact] = {}
    for start in range(0, len(keys), CHUNK):
        query = select(Contact).where(Contact.email_key.in_(keys[start:start + CHUNK]),
                                      Contact.deleted_at.is_not(None))
        gone.update((c.email_key or "", c) for c in s.scalars(query))
    return [LineProblem(row.line, row.email, "contact_deleted",
                        deleted_error(gone[row.key]).message)
            for row in parsed.rows if row.key in gone]


def summed(name: str, parts: list[ImportReport], skip_invalid: bool) -> ImportReport:
    """One report for an import applied in chunks."""
    problems = tuple(sorted((p for r in parts for p in r.problems), key=lambda p: p.line))
    return ImportReport(name, sum(r.added for r in parts), sum(r.updated for r in parts),
                        sum(r.unchanged for r in parts), problems if skip_invalid else (),
                        problems)


def record_import(s: Session, list_name: str, report: ImportReport, actor: str) -> None:
    """The audit event of an import applied in chunks, once, with its totals."""
    lst = find_list(s, list_name)
    detail = {"added": report.added, "updated": report.updated, "unchanged": report.unchanged,
              "skipped": len(report.skipped)}
    record(s, actor, "import", utcnow(), [lst], detail=detail)


def apply(
    s: Session, list_name: str, parsed: ParsedCsv, actor: str, skip_invalid: bool, create: bool,
    audit: bool = True, who: Principal | None = None,
) -> ImportReport:
    """Apply valid rows to the list; raises ImportRejected (rolling back) unless skip_invalid.
    `audit` False leaves the import's own event to `record_import` (a chunked import)."""
    at, lst = utcnow(), _target(s, list_name, actor, create)
    check(s, lst, who, Level.EDITOR)  # `who` (None: Rollcall itself) must be able to edit it
    contacts = _lock_contacts(s, [row.key for row in parsed.rows])
    active = set(
        s.scalars(
            select(Membership.contact_id).where(
                Membership.list_id == lst.id,
                Membership.removed_at.is_(None),
                Membership.contact_id.is_not(None),
            )
        )
    )
    problems = list(parsed.problems)
    counts = {"added": 0, "updated": 0, "unchanged": 0}
    joining: list[Contact] = []
    opted: list[Contact] = []
    for row in parsed.rows:
        contact = contacts.get(row.key)
        if contact is not None and contact.deleted_at is not None:
            message = deleted_error(contact).message
            problems.append(LineProblem(row.line, row.email, "contact_deleted", message))
            continue
        if contact is None:
            contact = contacts[row.key] = new_contact(s, row.email, row.key, at, flush=False)
        changed = _apply_row(contact, row, actor, at)
        if "opted_out" in changed:
            opted.append(contact)
        if contact.id is not None and contact.id in active:
            counts["updated" if changed else "unchanged"] += 1
        else:
            counts["added"] += 1
            joining.append(contact)
    problems.sort(key=lambda p: p.line)
    report = ImportReport(
        lst.name,
        counts["added"],
        counts["updated"],
        counts["unchanged"],
        tuple(problems) if skip_invalid else (),
        tuple(problems),
    )
    if problems and not skip_invalid:
        raise ImportRejected(replace(report, added=0, updated=0, unchanged=0))
    s.flush()  # new contacts get their ids
    s.add_all(
        Membership(list_id=lst.id, contact_id=c.id, added_at=at, added_by=actor) for c in joining
    )
    for contact in opted:
        record(s, actor, "contact.opted_out", at, [lst], contact, detail={"via": "import"})
    if audit:
        detail = {**counts, "skipped": len(report.skipped), "opted_out": len(opted)}
        record(s, actor, "import", at, [lst], detail=detail)
    return report



def _apply_row(contact: Contact, row: CsvRow, actor: str, at: datetime) -> list[str]:
    changed = update_contact(contact, row.name, row.attributes)
    if row.opted_out and not contact.opted_out:
        contact.opted_out, contact.opted_out_at, contact.opted_out_by = True, at, actor
        changed.append("opted_out")
    return changed
