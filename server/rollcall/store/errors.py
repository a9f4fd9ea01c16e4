"""The store's errors: subclasses of Rollcall's one hierarchy, each with a stable code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rollcall.errors import BadRequest, RollcallError

if TYPE_CHECKING:
    from rollcall.store.records import ImportReport


class ListNotFound(RollcallError):
    code = "list_not_found"
    status = 404


class ContactNotFound(RollcallError):
    code = "contact_not_found"
    status = 404


class MemberNotFound(ContactNotFound):
    """The address or list is not an active member of that list."""

    code = "member_not_found"


class ContactDeleted(ContactNotFound):
    """The contact was deleted from all lists: restore it before adding or deleting it again."""

    code = "contact_deleted"
    status = 409


class NothingToRestore(RollcallError):
    code = "nothing_to_restore"
    status = 409


class AlreadyExists(RollcallError):
    code = "already_exists"
    status = 409


class InvalidAddress(BadRequest):
    code = "bad_address"


class ImportRejected(BadRequest):
    """A CSV import changed nothing; `report` says which lines were wrong and why."""

    code = "import_rejected"

    def __init__(self, report: ImportReport, message: str | None = None) -> None:
        first = report.problems[0] if report.problems else None
        detail = f" (line {first.line}: {first.message})" if first else ""
        super().__init__(
            message
            or f"import rejected: {len(report.problems)} problem(s){detail}; nothing changed"
        )
        self.report = report

    def to_json(self) -> dict[str, Any]:
        """The shared error shape, plus every line's problem (the CLI prints the same)."""
        body: dict[str, Any] = super().to_json()
        body["error"]["problems"] = [
            {"line": p.line, "email": p.email, "code": p.code, "message": p.message}
            for p in self.report.problems
        ]
        return body


class NestedTooDeep(RollcallError):
    """Nesting one list in another would chain more lists than a count shows (MAX_NESTING)."""

    code = "nested_too_deep"
    status = 400
