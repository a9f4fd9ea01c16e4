"""CSV import into a list: validated first, applied in one transaction, all or nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.store.csv_io import CsvRow, ParsedCsv, parse_csv
from rollcall.store.errors import ImportRejected, ListNotFound
from rollcall.store.members import create, deleted_error, new_contact, update_contact
from rollcall.store.models import Contact, Membership, RollcallList
from rollcall.store.queries import find_list, record, utcnow
from rollcall.store.records import ImportReport, LineProblem
from rollcall.store.validate import clean_list_name, strip_list_prefix

CHUNK = 500  # addresses per IN (...) query: well under every database's parameter limit


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


def apply(
    s: Session, list_name: str, parsed: ParsedCsv, actor: str, skip_invalid: bool, create: bool
) -> ImportReport:
    """Apply valid rows to the list; raises ImportRejected (rolling back) unless skip_invalid."""
    at, lst = utcnow(), _target(s, list_name, actor, create)
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
    detail = {**counts, "skipped": len(report.skipped), "opted_out": len(opted)}
    record(s, actor, "import", at, [lst], detail=detail)
    return report



def _apply_row(contact: Contact, row: CsvRow, actor: str, at: datetime) -> list[str]:
    changed = update_contact(contact, row.name, row.attributes)
    if row.opted_out and not contact.opted_out:
        contact.opted_out, contact.opted_out_at, contact.opted_out_by = True, at, actor
        changed.append("opted_out")
    return changed
