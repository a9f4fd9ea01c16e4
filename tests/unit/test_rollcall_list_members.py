"""Members a Rollcall list keeps but never delivers to: deleted and unsubscribed contacts."""

from __future__ import annotations

from rollcall.core.model import Entry, Expansion, Kind, MemberStatus, Removal
from rollcall.counting import ExpansionCache

from .fakes import FakeDirectory, person
from .helpers import assert_identity, count, the

NEWS = Entry("Newsletter", "list:Newsletter", Kind.ROLLCALL_LIST)
GONE = Entry("Ann", "ann@x.com", Kind.CONTACT, status=MemberStatus.REMOVED,
             removal=Removal(by="jo@contoso.com", at="2026-11-20T09:30:00+00:00",
                             lists=("Newsletter", "Managers"), all_lists=True))
PURGED = Entry("", None, Kind.CONTACT, status=MemberStatus.REMOVED,
               removal=Removal(by="jo@contoso.com", at="2026-11-21T10:00:00+00:00",
                               lists=("Newsletter",), all_lists=False, tracking="purged"))
QUIET = Entry("Bob", "bob@x.com", Kind.CONTACT, status=MemberStatus.OPTED_OUT)


def directory() -> FakeDirectory:
    return FakeDirectory({NEWS: [person("cat@x.com"), GONE, PURGED, QUIET]})


def test_deleted_contacts_are_not_counted_and_the_finding_says_who_when_and_where():
    report = count(directory(), NEWS)
    assert report["total"] == 1 and report["undeliverable"] == 3
    assert_identity(report)
    deleted = the(report, "deleted_contact")
    assert deleted["counted"] is False and deleted["addresses"] == ["ann@x.com"]
    assert "ann@x.com was deleted from all lists by jo@contoso.com on 2026-11-20" in \
        deleted["message"]
    ann, purged = deleted["removals"]
    assert ann["lists"] == ["Newsletter", "Managers"] and ann["tracking"] == "kept"
    assert purged["address"] is None and purged["tracking"] == "purged"


def test_unsubscribed_contacts_are_left_out_and_reported():
    report = count(directory(), NEWS)
    opted = the(report, "opted_out")
    assert opted["addresses"] == ["bob@x.com"] and opted["severity"] == "info"


def test_the_expected_count_breakdown_names_deletions_and_opt_outs():
    report = count(directory(), NEWS, expected=4)
    breakdown = the(report, "count_mismatch")["breakdown"]
    assert (breakdown["removed_from_lists"], breakdown["opted_out"]) == (2, 1)
    assert "deleted from Rollcall lists" in the(report, "count_mismatch")["message"]


class _LocalLists(FakeDirectory):
    """Answers like Rollcall's own lists: expansions the engine must not cache."""

    def expand(self, entry):
        expansion = super().expand(entry)
        return Expansion(expansion.members, expansion.complete, expansion.total_in_view,
                         cacheable=False)


def test_local_lists_are_read_again_on_every_count_so_a_deletion_shows_at_once():
    directory = _LocalLists({NEWS: [person("cat@x.com")]})
    cache = ExpansionCache()
    count(directory, NEWS, cache=cache)
    count(directory, NEWS, cache=cache)
    assert directory.expand_calls() == {NEWS.key: 2}
