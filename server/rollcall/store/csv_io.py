"""CSV import parsing with a per-line report, and export; pure functions, no database."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rollcall.errors import BadRequest
from rollcall.store.errors import InvalidAddress
from rollcall.store.records import LineProblem
from rollcall.store.validate import (
    EMAIL_COLUMNS,
    FORMULA_START,
    MAX_COLUMN_NAME,
    clean_text,
    normalise_email,
)

TRUE = frozenset(("true", "yes", "y", "1", "x"))
FALSE = frozenset(("false", "no", "n", "0", ""))
# A cell a spreadsheet would run as a formula, behind any number of quotes.
_FORMULA = re.compile("'*[" + re.escape("".join(FORMULA_START)) + "]")


def neutralise(cell: str) -> str:
    """The cell as export writes it: one quote before what a spreadsheet would run as a formula
    (OWASP's advice; the spreadsheet shows the rest as text). A cell already starting with quotes
    before such a character gets one more, so `restore` gives back exactly what was written."""
    return f"'{cell}" if _FORMULA.match(cell) else cell


def restore(cell: str) -> str:
    """The cell as it was before `neutralise`: one leading quote off, if a formula follows."""
    return cell[1:] if cell.startswith("'") and _FORMULA.match(cell, 1) else cell


@dataclass(frozen=True)
class CsvRow:
    """One valid line: `name` None and missing attributes mean "leave as it is"."""

    line: int
    email: str
    key: str
    name: str | None
    opted_out: bool | None
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ParsedCsv:
    """Valid rows and line problems; `fatal` when the file itself is unusable (header, encoding)."""

    rows: tuple[CsvRow, ...]
    problems: tuple[LineProblem, ...]
    fatal: bool = False


def _fatal(line: int, code: str, message: str) -> ParsedCsv:
    return ParsedCsv((), (LineProblem(line, "", code, message),), fatal=True)


def _split(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return []


def sniff_delimiter(header_line: str) -> str:
    """Comma or semicolon: the one that finds an email column, else the one giving more columns."""

    def score(delimiter: str) -> tuple[bool, int]:
        cells = [c.strip().casefold() for c in _split(header_line, delimiter)]
        return any(c in EMAIL_COLUMNS for c in cells), len(cells)

    return ";" if score(";") > score(",") else ","


def _header(cells: list[str], line: int) -> tuple[list[str], str | None]:
    """Canonical column names ('email', 'name', 'opted_out' or an attribute), or a problem."""
    columns: list[str] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(cells, start=1):
        cell = restore(raw.strip())
        folded = cell.casefold()
        if not cell:
            return [], f"column {number} has no name"
        try:
            clean_text(cell, "a column name", MAX_COLUMN_NAME)
        except BadRequest as exc:
            return [], exc.message
        canonical = "email" if folded in EMAIL_COLUMNS else folded.replace(" ", "_")
        canonical = canonical if canonical in ("email", "name", "opted_out") else cell
        if canonical.casefold() in seen:
            return (
                [],
                f"column {cell!r} is named twice (columns {seen[canonical.casefold()]}, {number})",
            )
        seen[canonical.casefold()] = number
        columns.append(canonical)
    if "email" not in columns:
        return [], "no email column (named email, address or e-mail)"
    return columns, None


def parse_csv(data: bytes) -> ParsedCsv:
    """Parse UTF-8 (BOM optional) CSV, comma or semicolon, with a header row; never raises."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _fatal(line, "bad_encoding", f"not UTF-8 (byte {exc.start})")
    offset = 0
    first, _, rest = text.partition("\n")
    delimiter = None
    if first.strip().casefold() in ("sep=;", "sep=,"):  # Excel's delimiter hint line
        delimiter, text, offset = first.strip()[-1], rest, 1
    delimiter = delimiter or sniff_delimiter(text.partition("\n")[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return _rows(reader, offset)
    except csv.Error as exc:
        return _fatal(reader.line_num + offset, "bad_csv", f"not readable as CSV: {exc}")


def _rows(reader: Any, offset: int) -> ParsedCsv:
    header = next(reader, None)
    if header is None:
        return _fatal(1 + offset, "bad_header", "the file is empty: a header row is needed")
    columns, problem = _header(header, reader.line_num + offset)
    if problem:
        return _fatal(reader.line_num + offset, "bad_header", problem)
    rows: list[CsvRow] = []
    problems: list[LineProblem] = []
    first_line: dict[str, int] = {}
    end = reader.line_num
    for cells in reader:
        line, end = end + 1 + offset, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(line, columns, cells, first_line)
        if isinstance(row, LineProblem):
            problems.append(row)
        else:
            first_line[row.key] = line
            rows.append(row)
    return ParsedCsv(tuple(rows), tuple(problems))


def _row(
    line: int, columns: list[str], cells: list[str], first: dict[str, int]
) -> CsvRow | LineProblem:
    values = {c: (restore(cells[i].strip()) if i < len(cells) else "")
              for i, c in enumerate(columns)}
    raw = values["email"]
    extra = [i + 1 for i in range(len(columns), len(cells)) if cells[i].strip()]
    if extra:
        msg = f"a value in column {extra[0]}, which the header does not name"
        return LineProblem(line, raw, "unknown_column", msg)
    if not raw:
        return LineProblem(line, raw, "missing_email", "no email address on this line")
    try:
        email, key = normalise_email(raw, new=True)
    except InvalidAddress as exc:
        return LineProblem(line, raw, "bad_address", exc.message)
    if key in first:
        return LineProblem(line, raw, "duplicate", f"{email} is also on line {first[key]}")
    opted = values.get("opted_out", "").casefold()
    if opted not in TRUE | FALSE:
        return LineProblem(
            line, raw, "bad_value", f"opted_out must be true or false, not {opted!r}"
        )
    try:
        name = clean_text(values["name"], "the name") if values.get("name") else None
        attributes = {
            c: clean_text(v, f"column {c!r}")
            for c, v in values.items()
            if c not in ("email", "name", "opted_out") and v
        }
    except BadRequest as exc:
        return LineProblem(line, raw, "bad_value", exc.message)
    opted_out = True if opted in TRUE else None  # an import never opts anyone back in
    return CsvRow(line, email, key, name, opted_out, attributes)


def export_text(contacts: Iterable[tuple[str, str, bool, Mapping[str, str]]]) -> str:
    """CSV with header email,name,opted_out,<attributes sorted>; readable by `parse_csv`. Cells
    a spreadsheet would run as formulas are neutralised; `parse_csv` restores them."""
    rows = list(contacts)
    spelled: dict[str, str] = {}  # attribute names match case-insensitively, as on import
    for _, _, _, attributes in rows:
        for key in attributes:
            spelled.setdefault(key.casefold(), key)
    order = sorted(spelled, key=lambda k: (k, spelled[k]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["email", "name", "opted_out", *(neutralise(spelled[k]) for k in order)])
    for email, name, opted_out, attributes in rows:
        folded = {k.casefold(): v for k, v in attributes.items()}
        cells = [email, name, "true" if opted_out else "false", *(folded.get(k, "") for k in order)]
        writer.writerow([neutralise(cell) for cell in cells])
    return buffer.getvalue()
