"""The pure CSV layer: whatever export writes, parse reads back, in either delimiter."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from rollcall.store.csv_io import export_text, parse_csv, sniff_delimiter
from rollcall.store.validate import RESERVED_COLUMNS, has_control, normalise_email

# Cell text as the store keeps it: stripped, no control characters, no lone surrogates.
cell = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20).map(str.strip)
column = cell.filter(lambda c: c != "" and c.casefold() not in RESERVED_COLUMNS)
local = st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,10}[a-z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
domain = st.sampled_from(["contoso.com", "fabrikam.com"])
email = st.builds(lambda user, at: f"{user}@{at}", local, domain)


@st.composite
def contacts(draw: st.DrawFn) -> list[tuple[str, str, bool, dict[str, str]]]:
    names = draw(st.lists(column, max_size=4, unique_by=str.casefold))
    addresses = draw(st.lists(email, min_size=1, max_size=8, unique_by=str.lower))
    rows = []
    for address in addresses:
        attributes = {n: draw(cell) for n in names}
        rows.append((normalise_email(address)[0], draw(cell), draw(st.booleans()), attributes))
    return rows


@settings(max_examples=150, deadline=None)
@given(contacts(), st.booleans(), st.sampled_from([",", ";"]))
def test_export_then_parse_gives_the_same_contacts(
    rows: list[tuple[str, str, bool, dict[str, str]]], bom: bool, delimiter: str
) -> None:
    text = export_text(rows)
    if delimiter == ";":  # re-write as a semicolon CSV, as Excel does in many locales
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=";").writerows(csv.reader(io.StringIO(text, newline="")))
        text = buffer.getvalue()
    data = ("\ufeff" if bom else "").encode() + text.encode()
    parsed = parse_csv(data)
    assert parsed.problems == ()
    got = [(r.email, r.name or "", bool(r.opted_out), r.attributes) for r in parsed.rows]
    want = [(e, n, o, {k: v for k, v in a.items() if v}) for e, n, o, a in rows]
    assert got == want


@given(st.lists(column, min_size=1, max_size=5))
def test_the_header_decides_the_delimiter(columns: list[str]) -> None:
    for delimiter in (",", ";"):
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=delimiter).writerow(["email", *columns])
        assert sniff_delimiter(buffer.getvalue().splitlines()[0]) == delimiter


def test_line_numbers_count_physical_lines_of_quoted_cells() -> None:
    data = b'email,note\nann@fabrikam.com,"two\nlines"\nbroken,x\n'
    parsed = parse_csv(data)
    # A line break inside a cell is a control character too: the store keeps one-line text.
    assert [(p.line, p.code) for p in parsed.problems] == [(2, "bad_value"), (4, "bad_address")]


def test_control_characters_in_a_cell_are_a_bad_value() -> None:
    parsed = parse_csv(b"email,name\nann@fabrikam.com,A\x07nn\n")
    assert [(p.line, p.code) for p in parsed.problems] == [(2, "bad_value")]
    assert has_control("a\x00b") and not has_control("Zoë")


def test_broken_quoting_is_reported_not_raised() -> None:
    parsed = parse_csv(b'email,name\nann@fabrikam.com,"Ann"x\n')
    assert parsed.fatal and parsed.problems[0].code == "bad_csv"
