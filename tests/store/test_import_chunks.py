"""A large CSV import is written in short transactions, so it never holds the write lock for long,
and it keeps its promises: nothing written when a line is bad, one audit event with the totals."""

from __future__ import annotations

import pytest

from rollcall.store import ImportRejected, ListStore, importing

ME = "megan@contoso.com"


def csv(n: int, start: int = 0) -> bytes:
    rows = "".join(f"p{i}@fabrikam.com,Person {i}\r\n" for i in range(start, start + n))
    return ("email,name\r\n" + rows).encode()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importing, "ROWS_PER_TRANSACTION", 3)


def test_a_large_import_is_written_in_short_transactions(store: ListStore, small_chunks,
                                                         monkeypatch) -> None:
    writes = []
    original = store._tx.write
    monkeypatch.setattr(store._tx, "write", lambda work: writes.append(1) or original(work))
    report = store.import_csv("Big", csv(10), ME)
    assert (report.added, report.updated, report.unchanged) == (10, 0, 0)
    assert len(writes) == 4 + 1  # four chunks of at most three rows, then the audit event
    assert len(store.export_csv("Big").splitlines()) == 11
    (event,) = [e for e in store.audit(list_name="Big") if e.action == "import"]
    assert event.detail["added"] == 10


def test_a_deleted_contact_in_a_large_import_writes_nothing(store: ListStore,
                                                            small_chunks) -> None:
    store.import_csv("Old", csv(1, start=8), ME)
    store.delete_contact("p8@fabrikam.com", ME)
    with pytest.raises(ImportRejected) as rejected:
        store.import_csv("Big", csv(10), ME)
    assert [p.code for p in rejected.value.report.problems] == ["contact_deleted"]
    assert "Big" not in [lst.name for lst in store.all_lists()]


def test_skip_invalid_imports_the_rest_in_chunks(store: ListStore, small_chunks) -> None:
    store.import_csv("Old", csv(1, start=8), ME)
    store.delete_contact("p8@fabrikam.com", ME)
    report = store.import_csv("Big", csv(10), ME, skip_invalid=True)
    assert report.added == 9 and [p.line for p in report.skipped] == [10]


def test_rollcall_lists_nest_at_most_max_nesting_deep(store: ListStore) -> None:
    from rollcall.store.errors import NestedTooDeep
    from rollcall.store.members import MAX_NESTING

    names = [f"L{i}" for i in range(MAX_NESTING + 1)]
    for name in names:
        store.create_list(name, ME)
    for outer, inner in zip(names[:MAX_NESTING - 1], names[1:MAX_NESTING], strict=True):
        store.add_sublist(outer, inner, ME)  # a chain of MAX_NESTING lists: allowed
    with pytest.raises(NestedTooDeep) as refused:
        store.add_sublist(names[MAX_NESTING - 1], names[MAX_NESTING], ME)
    assert f"the most is {MAX_NESTING}" in refused.value.message
    store.add_sublist(names[3], names[0], ME)  # a loop adds no depth: the count reports it
