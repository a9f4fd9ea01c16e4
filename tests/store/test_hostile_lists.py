"""Hostile list names, expected counts, addresses and cells: refused in words (never a 500 nor a
database error), and what export writes cannot run as a spreadsheet formula."""

from __future__ import annotations

import pytest

from rollcall.errors import BadRequest
from rollcall.store import ImportRejected, InvalidAddress, ListStore
from rollcall.store.csv_io import export_text, parse_csv
from rollcall.store.members import create
from rollcall.store.validate import MAX_LIST_NAME, clean_list_name

ME = "megan@contoso.com"
FORMULA = "=cmd|'/Ccalc'!A0@evil.com"


def bad_name(caught: pytest.ExceptionInfo[BadRequest], *words: str) -> None:
    assert (caught.value.code, caught.value.status) == ("bad_list_name", 400)
    for word in words:
        assert word in caught.value.message, caught.value.message


# -- lone surrogates: Python text no database can store (argv's undecodable bytes become them)

SURROGATES = ("News\ud800", "\udcff", "list:\udfff")


@pytest.mark.parametrize("name", SURROGATES)
def test_a_lone_surrogate_in_a_new_list_name_is_a_400_naming_it(store: ListStore,
                                                                 name: str) -> None:
    with pytest.raises(BadRequest) as caught:
        store.create_list(name, ME)
    bad_name(caught, "surrogate")
    with pytest.raises(BadRequest) as caught:
        store.import_csv(name, b"email\nann@fabrikam.com\n", ME)
    bad_name(caught, "surrogate")
    assert store.all_lists() == []


@pytest.mark.parametrize("name", SURROGATES)
def test_a_lone_surrogate_in_a_list_name_looked_up_is_a_400_not_a_database_error(
        store: ListStore, name: str) -> None:
    store.create_list("Crew", ME)
    store.add_contact("Crew", "ann@fabrikam.com", ME)
    lookups = [
        lambda: store.get_list(name),
        lambda: store.members(name),
        lambda: store.export_csv(name),
        lambda: store.add_contact(name, "bob@fabrikam.com", ME),
        lambda: store.add_exchange(name, "allstaff@contoso.com", ME),
        lambda: store.add_sublist("Crew", name, ME),
        lambda: store.remove("Crew", f"list:{name}", ME),
        lambda: store.delete_contact("ann@fabrikam.com", ME, list_name=name),
        lambda: store.audit(list_name=name),
        lambda: store.shares(name),
        lambda: store.hand_over(name, "alex@contoso.com", ME),
    ]
    for lookup in lookups:
        with pytest.raises(BadRequest) as caught:
            lookup()
        bad_name(caught, "surrogate")


def test_a_nul_in_a_list_name_looked_up_is_a_400_not_a_database_error(store: ListStore) -> None:
    # PostgreSQL cannot hold NUL in text: a lookup would fail in the driver, not find nothing.
    with pytest.raises(BadRequest) as caught:
        store.get_list("a\x00b")
    bad_name(caught, "NUL")


def test_a_lone_surrogate_in_other_text_is_a_400(store: ListStore) -> None:
    store.create_list("Crew", ME)
    for call in (lambda: store.share("Crew", "group", "g\ud800", "viewer", ME),
                 lambda: store.add_contact("Crew", "ann@fabrikam.com", ME, name="Ann\udcff"),
                 lambda: store.add_contact("Crew", "ann@fabrikam.com", ME,
                                           attributes={"team": "\ud800"})):
        with pytest.raises(BadRequest) as caught:
            call()
        assert caught.value.status == 400 and "surrogate" in caught.value.message
    with pytest.raises(InvalidAddress):
        store.add_contact("Crew", "ann\udcff@fabrikam.com", ME)
    assert store.members("Crew").active == ()


# -- list names that could not be reached once made


@pytest.mark.parametrize(("name", "words"), [
    ("x/y", ("'/'",)),
    ("back\\slash", ("'\\'",)),
    (".", ("'.'",)),
    ("..", ("'..'",)),
    ("list:list:x", ("'list:'",)),
    ("LIST: list:x", ("'list:'",)),
    ("tab\there", ("control character",)),
    ("line\u2028break", ("line break",)),
    ("not \ufffd UTF-8", ("U+FFFD",)),
    ("x" * (MAX_LIST_NAME + 1), (f"{MAX_LIST_NAME} characters",)),
])
def test_a_list_name_that_could_not_be_reached_is_refused_saying_what_is_allowed(
        store: ListStore, name: str, words: tuple[str, ...]) -> None:
    with pytest.raises(BadRequest) as caught:
        store.create_list(name, ME)
    bad_name(caught, *words)
    with pytest.raises(BadRequest) as caught:
        store.import_csv(name, b"email\nann@fabrikam.com\n", ME)
    bad_name(caught, *words)
    assert store.all_lists() == []


@pytest.mark.parametrize("name", ["Alex's", "Comms Champions", "Ωmega", "Sales; EMEA",
                                  'The "A" Team', "50% off", "R&D?", "a.b", "...",
                                  "x" * MAX_LIST_NAME, "Ann@Home", "日本語のリスト"])
def test_ordinary_list_names_are_welcome(store: ListStore, name: str) -> None:
    info = store.create_list(f"  list:{name} ", ME)
    assert (info.name, info.address) == (name, f"list:{name}")
    assert store.get_list(name) == store.get_list(f"list:{name}") == info
    assert clean_list_name(name) == name


def test_lists_made_before_the_rules_are_still_reachable_by_name(store: ListStore) -> None:
    # Rows written as earlier versions did, without today's checks.
    for name in ("x/y", "..", "list:x"):
        store._tx.write(lambda s, name=name: create(s, name, ME, None))
    store.add_contact("x/y", "ann@fabrikam.com", ME)
    store.add_contact("..", "ann@fabrikam.com", ME)
    store.add_contact("list:x", "ann@fabrikam.com", ME)  # its key is "x": one prefix stripped
    assert store.get_list("list:x/y").name == "x/y"
    assert [m.address for m in store.members("..").active] == ["ann@fabrikam.com"]
    store.add_sublist("x/y", "list:..", ME)
    store.remove("x/y", "list:..", ME)
    store.remove("x/y", "ann@fabrikam.com", ME)
    assert store.members("x/y").active == ()
    assert store.hand_over("..", "alex@contoso.com", ME).owner == "alex@contoso.com"
    assert store.export_csv("x").splitlines()[1].startswith("ann@fabrikam.com,")


# -- addresses


@pytest.mark.parametrize("address", [FORMULA, "+1234@evil.com", "-x@evil.com",
                                     "=HYPERLINK(\"http://evil\")@evil.com"])
def test_an_address_a_spreadsheet_would_run_as_a_formula_is_refused_naming_it(
        store: ListStore, address: str) -> None:
    store.create_list("Crew", ME)
    for add in (store.add_contact, store.add_exchange):
        with pytest.raises(InvalidAddress) as caught:
            add("Crew", address, ME)
        assert address in caught.value.message and "formula" in caught.value.message
    with pytest.raises(ImportRejected) as rejected:
        store.import_csv("Crew", f"email\n{address}\n".encode(), ME)
    [problem] = rejected.value.report.problems
    assert (problem.code, problem.email) == ("bad_address", address)
    assert address in problem.message


@pytest.mark.parametrize(("address", "stored"), [
    ("ann.lee+newsletter@fabrikam.com", "ann.lee+newsletter@fabrikam.com"),
    ("o'brien@contoso.com", "o'brien@contoso.com"),
    ("bob@mail.eu.northwind.example", "bob@mail.eu.northwind.example"),
    ("jörg@bücher.de", "jörg@bücher.de"),
    ("user@xn--bcher-kva.de", "user@bücher.de"),
    ("First_Last-2@Sub.Contoso.com", "First_Last-2@sub.contoso.com"),
    ("a=b-c@contoso.com", "a=b-c@contoso.com"),
])
def test_real_world_addresses_still_pass(store: ListStore, address: str, stored: str) -> None:
    store.create_list("Crew", ME)
    assert store.add_contact("Crew", address, ME).address == stored
    assert store.add_exchange("Crew", address, ME).address == stored
    assert store.import_csv("Crew", f"email\n{address}\n".encode(), ME).unchanged == 1


# -- CSV cells that a spreadsheet would run: neutralised on export, restored on import

TRIGGERS = ("=1+2", "+44 20 7946 0000", "-5", "@SUM(A1)", "'=quoted", "''+twice", "'plain",
            "=cmd|' /C calc'!A0")


def test_export_neutralises_cells_a_spreadsheet_would_run_and_import_restores_them() -> None:
    rows = [("ann@fabrikam.com", TRIGGERS[0], False, {"note": TRIGGERS[0], "=Column": "x"})]
    rows += [(f"u{i}@fabrikam.com", value, False, {"note": value})
             for i, value in enumerate(TRIGGERS[1:])]
    text = export_text(rows)
    lines = text.splitlines()
    assert lines[0] == "email,name,opted_out,'=Column,note"
    assert lines[1] == "ann@fabrikam.com,'=1+2,false,x,'=1+2"
    for line in lines[1:]:
        for cell in line.split(",")[1:]:
            assert cell.lstrip('"')[:1] not in ("=", "+", "-", "@", "\t", "\r"), line
    parsed = parse_csv(text.encode())
    assert parsed.problems == ()
    got = [(r.email, r.name, r.attributes) for r in parsed.rows]
    assert got == [(e, n, a) for e, n, _, a in rows]


def test_an_exported_legacy_formula_address_reads_back_and_is_refused() -> None:
    text = export_text([(FORMULA, "Mallory", False, {})])
    assert text.splitlines()[1].startswith(f"'{FORMULA}") or \
        text.splitlines()[1].startswith(f'"\'{FORMULA}')
    [problem] = parse_csv(text.encode()).problems
    assert problem.code == "bad_address" and FORMULA in problem.message


def test_the_store_exports_formula_cells_neutralised(store: ListStore) -> None:
    store.create_list("Crew", ME)
    store.add_contact("Crew", "ann@fabrikam.com", ME, name="=1+2",
                      attributes={"phone": "+44 20 7946 0000"})
    exported = store.export_csv("Crew")
    assert exported.splitlines()[1] == "ann@fabrikam.com,'=1+2,false,'+44 20 7946 0000"
    store.create_list("Copy", ME)
    store.import_csv("Copy", exported.encode(), ME)
    assert store.export_csv("Copy") == exported
    [member] = store.members("Copy").active
    assert member.name == "=1+2"
