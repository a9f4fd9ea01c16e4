"""CSV import into lists (per-line report, all or nothing) and export that reads back."""

from __future__ import annotations

import pytest

from rollcall.store import ImportRejected, ListNotFound, ListStore

ME = "megan@contoso.com"
GOOD = b"email,name,dept\r\nann@fabrikam.com,Ann,Sales\r\nbob@fabrikam.com,Bob,\r\n"


def state(store: ListStore, name: str) -> tuple[str, int]:
    """What an import could change: the export and the number of audit events."""
    return store.export_csv(name), len(store.audit(limit=10_000))


def test_import_creates_the_list_owned_by_the_actor(store: ListStore) -> None:
    report = store.import_csv("Partners", GOOD, ME)
    assert (report.list_name, report.added, report.updated, report.unchanged) == (
        "Partners", 2, 0, 0,
    )
    assert report.skipped == report.problems == ()
    assert store.get_list("Partners").owner == ME
    assert store.export_csv("Partners").splitlines() == [
        "email,name,opted_out,dept",
        "ann@fabrikam.com,Ann,false,Sales",
        "bob@fabrikam.com,Bob,false,",
    ]
    (event,) = [e for e in store.audit(list_name="Partners") if e.action == "import"]
    assert event.actor == ME and event.detail["added"] == 2


def test_import_without_create_needs_an_existing_list(store: ListStore) -> None:
    with pytest.raises(ListNotFound):
        store.import_csv("Missing", GOOD, ME, create=False)
    assert store.all_lists() == []


def test_utf8_bom_semicolons_and_aliases_are_understood(store: ListStore) -> None:
    data = "\ufeffE-Mail;Name;Stadt\nzoë@Fabrikam.com;Zoë Ærø;Tromsø\n".encode()
    assert store.import_csv("L", data, ME).added == 1
    assert store.export_csv("L").splitlines()[1] == "zoë@fabrikam.com,Zoë Ærø,false,Tromsø"


def test_excel_sep_line_and_quoted_cells(store: ListStore) -> None:
    data = b'sep=;\r\naddress;name\r\n"ann@fabrikam.com";"Lee; Ann ""AL"""\r\n'
    store.import_csv("L", data, ME)
    assert store.members("L").active[0].name == 'Lee; Ann "AL"'


def test_bad_lines_are_reported_and_the_import_changes_nothing(store: ListStore) -> None:
    store.import_csv("L", GOOD, ME)
    before = state(store, "L")
    data = (
        b"email,name,opted_out\n"
        b"carl@fabrikam.com,Carl,\n"  # 2: fine
        b"not-an-address,X,\n"  # 3
        b",Nobody,\n"  # 4
        b"CARL@fabrikam.com,Carl again,\n"  # 5
        b"dan@fabrikam.com,Dan,maybe\n"  # 6
        b"\n"  # 7: blank lines are ignored
        b"eve@fabrikam.com,Eve,,surplus\n"  # 8
    )
    with pytest.raises(ImportRejected) as caught:
        store.import_csv("L", data, ME)
    error = caught.value
    assert (error.code, error.status) == ("import_rejected", 400)
    report = error.report
    assert [(p.line, p.email, p.code) for p in report.problems] == [
        (3, "not-an-address", "bad_address"),
        (4, "", "missing_email"),
        (5, "CARL@fabrikam.com", "duplicate"),
        (6, "dan@fabrikam.com", "bad_value"),
        (8, "eve@fabrikam.com", "unknown_column"),
    ]
    assert "line 2" in report.problems[2].message
    assert (report.added, report.skipped) == (0, ())
    assert state(store, "L") == before


def test_a_rejected_import_does_not_create_the_list(store: ListStore) -> None:
    with pytest.raises(ImportRejected):
        store.import_csv("New", b"email\nann@fabrikam.com\nbad\n", ME)
    assert store.all_lists() == []


def test_a_deleted_contact_in_the_file_rejects_the_whole_import(store: ListStore) -> None:
    store.import_csv("L", GOOD, ME)
    store.delete_contact("bob@fabrikam.com", ME)
    before = state(store, "L")
    data = b"email,name\ncarl@fabrikam.com,Carl\nbob@fabrikam.com,Bob\n"
    with pytest.raises(ImportRejected) as caught:
        store.import_csv("L", data, ME)
    assert [(p.line, p.code) for p in caught.value.report.problems] == [(3, "contact_deleted")]
    assert state(store, "L") == before
    report = store.import_csv("L", data, ME, skip_invalid=True)
    assert (report.added, [p.line for p in report.skipped]) == (1, [3])


def test_skip_invalid_imports_the_good_lines_and_lists_the_skipped(store: ListStore) -> None:
    data = b"email,name\nann@fabrikam.com,Ann\nbroken,X\nann@fabrikam.com,Dup\nbob@fabrikam.com,B\n"
    report = store.import_csv("L", data, ME, skip_invalid=True)
    assert report.added == 2
    assert [(p.line, p.code) for p in report.skipped] == [(3, "bad_address"), (4, "duplicate")]
    assert report.problems == report.skipped
    assert [m.name for m in store.members("L").active] == ["Ann", "B"]


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "empty"),
        (b"name,dept\nAnn,Sales\n", "no email column"),
        (b"email,,dept\na@fabrikam.com,,x\n", "column 2 has no name"),
        (b"email,Dept,dept\na@fabrikam.com,x,y\n", "named twice"),
        (b"email,address\na@fabrikam.com,b@fabrikam.com\n", "named twice"),
    ],
)
def test_a_bad_header_rejects_even_with_skip_invalid(
    store: ListStore, data: bytes, needle: str
) -> None:
    with pytest.raises(ImportRejected) as caught:
        store.import_csv("L", data, ME, skip_invalid=True)
    (problem,) = caught.value.report.problems
    assert (problem.line, problem.code) == (1, "bad_header") and needle in problem.message
    assert store.all_lists() == []


def test_not_utf8_is_rejected(store: ListStore) -> None:
    with pytest.raises(ImportRejected) as caught:
        store.import_csv("L", "email,name\nann@fabrikam.com,Zoë\n".encode("latin-1"), ME)
    (problem,) = caught.value.report.problems
    assert (problem.line, problem.code) == (2, "bad_encoding")


def test_reimport_counts_unchanged_and_updated_and_keeps_what_is_missing(
    store: ListStore,
) -> None:
    store.import_csv("L", GOOD, ME)
    again = store.import_csv("L", GOOD, ME)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    changed = b"email,name,city\nann@fabrikam.com,,Oslo\nbob@fabrikam.com,Robert,\n"
    report = store.import_csv("L", changed, ME)
    assert (report.added, report.updated, report.unchanged) == (0, 2, 0)
    assert store.export_csv("L").splitlines()[1:] == [
        "ann@fabrikam.com,Ann,false,Oslo,Sales",  # an empty cell leaves the value as it was
        "bob@fabrikam.com,Robert,false,,",
    ]


def test_import_opts_out_but_never_opts_back_in(store: ListStore) -> None:
    store.import_csv("L", b"email,opted_out\nann@fabrikam.com,yes\nbob@fabrikam.com,no\n", ME)
    assert [m.opted_out for m in store.members("L").active] == [True, False]
    report = store.import_csv("L", b"email,opted_out\nann@fabrikam.com,false\n", ME)
    assert report.unchanged == 1
    assert store.members("L").active[0].opted_out
    opted = [e for e in store.audit(email="ann@fabrikam.com") if e.action == "contact.opted_out"]
    assert len(opted) == 1 and opted[0].detail == {"via": "import"}


def test_existing_contacts_join_the_list_with_their_data(store: ListStore) -> None:
    store.create_list("Other", ME)
    store.add_contact("Other", "ann@fabrikam.com", ME, name="Ann", attributes={"dept": "Sales"})
    report = store.import_csv("L", b"email\nANN@fabrikam.com\n", ME)
    assert report.added == 1
    assert store.export_csv("L") == store.export_csv("Other")


def test_export_round_trips_through_import(store: ListStore) -> None:
    rows = [
        ("ann@fabrikam.com", "Lee, Ann", {"note": 'says "hi"', "city": "Oslo"}),
        ("zoë@fabrikam.com", "Zoë; ÆØÅ", {"emoji": "🎉"}),
        ("bob@fabrikam.com", "", {}),
    ]
    store.create_list("Source", ME)
    for email, name, attributes in rows:
        store.add_contact("Source", email, ME, name=name, attributes=attributes)
    store.set_opt_out("bob@fabrikam.com", True, ME)
    exported = store.export_csv("Source")
    store.delete_contact("ann@fabrikam.com", ME, purge_tracking=True)  # a new contact on import
    report = store.import_csv("Copy", exported.encode(), ME)
    assert (report.added, report.problems) == (3, ())
    restored = store.export_csv("Copy").replace("\r\n", "\n")
    assert restored == exported.replace("\r\n", "\n")


def test_large_import_is_one_transaction(store: ListStore) -> None:
    lines = [f"user{i}@contoso.com,User {i}" for i in range(3000)]
    data = ("email,name\n" + "\n".join(lines) + "\nbroken\n").encode()
    with pytest.raises(ImportRejected):
        store.import_csv("Big", data, ME)
    assert store.all_lists() == []
    report = store.import_csv("Big", data, ME, skip_invalid=True)
    assert report.added == 3000 and len(store.members("Big").active) == 3000
