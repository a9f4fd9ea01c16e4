"""Reading Microsoft Graph's answers (pure: directory/graph/parse.py, errors.py, the batch
verdict) and how the report explains lists a directory could not list itself."""

from __future__ import annotations

from rollcall.core.model import (
    CountRequest,
    Entry,
    Expansion,
    Kind,
    MemberStatus,
    NotFound,
    Recipient,
    Throttled,
)
from rollcall.core.policy import Policy, evaluate
from rollcall.counting.engine import Counter
from rollcall.counting.settings import Settings
from rollcall.directory.graph.errors import graph_error
from rollcall.directory.graph.parse import (
    contact_group_member,
    entry_of,
    exchange_member,
    hidden_membership,
    is_limited,
)
from rollcall.directory.graph.transport import Answer, first_failure

from .fakes import FakeDirectory, dl, person

USER, GROUP, CONTACT = ("#microsoft.graph.user", "#microsoft.graph.group",
                        "#microsoft.graph.orgContact")


def test_directory_objects_become_entries_by_their_odata_type_and_group_flags():
    assert entry_of({"@odata.type": USER, "displayName": "Ann", "mail": "ann@c.com"}) == \
        Entry("Ann", "ann@c.com", Kind.MAILBOX)
    guest = entry_of({"@odata.type": USER, "displayName": "G", "mail": "g@f.com",
                      "userType": "Guest"})
    assert guest.kind is Kind.CONTACT
    assert entry_of({"@odata.type": CONTACT, "displayName": "P", "mail": "p@f.com"}).kind \
        is Kind.CONTACT
    m365 = {"@odata.type": GROUP, "displayName": "M", "mail": "m@c.com", "mailEnabled": True,
            "groupTypes": ["Unified"], "visibility": "HiddenMembership"}
    assert entry_of(m365).kind is Kind.GROUP and hidden_membership(m365)
    static = {"@odata.type": GROUP, "displayName": "D", "mail": "d@c.com", "mailEnabled": True,
              "groupTypes": []}
    assert entry_of(static).kind is Kind.PUBLIC_DL and not hidden_membership(static)


def test_members_without_mail_are_entries_without_an_address():
    # A device, a security group without mail, a user without a mailbox: Exchange delivers
    # nothing to them, so the report names them as invalid members.
    for obj in ({"@odata.type": "#microsoft.graph.device", "displayName": "Printer"},
                {"@odata.type": GROUP, "displayName": "Sec", "mail": None,
                 "mailEnabled": False, "securityEnabled": True, "groupTypes": []},
                {"@odata.type": USER, "displayName": "No mailbox", "mail": None}):
        entry = entry_of(obj)
        assert entry.address is None and entry.kind is Kind.UNKNOWN and entry.name


def test_limited_information_is_told_from_a_member_without_mail():
    assert is_limited({"@odata.type": USER, "id": "1", "displayName": None, "mail": None})
    assert not is_limited({"@odata.type": USER, "id": "1", "displayName": "X", "mail": None})
    assert not is_limited({"@odata.type": "#microsoft.graph.device", "id": "1"})


def test_contact_group_members_flag_a_contact_that_is_gone():
    ids = frozenset({"c1"})
    kept = contact_group_member({"recipientType": "contact", "contactId": "c1",
                                 "emailAddress": {"name": "Ann", "address": "ann@f.com"}}, ids)
    gone = contact_group_member({"recipientType": "contact", "contactId": "c9",
                                 "emailAddress": {"name": "Gone", "address": "gone@f.com"}},
                                ids)
    unknown = contact_group_member({"recipientType": "contact", "contactId": "c9",
                                    "emailAddress": {"address": "gone@f.com"}}, None)
    assert kept.status is MemberStatus.NORMAL and gone.status is MemberStatus.DEMOTED
    assert unknown.status is MemberStatus.NORMAL  # contacts unreadable: nothing claimed
    nested = contact_group_member({"recipientType": "privateDL", "distributionListId": "dl2",
                                   "emailAddress": {"name": "Inner"}}, ids)
    assert nested.kind is Kind.CONTACT_GROUP and nested.item_id == "dl2"
    broken = contact_group_member({"recipientType": "oneOff", "emailAddress": {"name": "B"}},
                                  ids)
    assert broken.status is MemberStatus.UNRECOGNIZED and broken.address is None


def test_exchange_admin_api_members_keep_exchanges_recipient_types():
    assert exchange_member({"DisplayName": "Feedback", "PrimarySmtpAddress": "fb@c.com",
                            "RecipientType": "PublicFolder"}).kind is Kind.PUBLIC_FOLDER
    assert exchange_member({"Name": "sd", "PrimarySmtpAddress": "sd@c.com",
                            "RecipientType": "DynamicDistributionGroup"}).kind is Kind.DYNAMIC_DL


def test_graph_errors_say_whether_to_try_again_and_when():
    body = {"error": {"code": "TooManyRequests", "message": "slow down"}}
    throttled = graph_error(429, body, {"Retry-After": "7"}, "the list X")
    assert isinstance(throttled, Throttled) and throttled.back_off == 7.0
    assert throttled.detail == "HTTP 429 TooManyRequests"
    assert isinstance(graph_error(404, {}, {}, "x"), NotFound)
    denied = graph_error(403, {"error": {"code": "Authorization_RequestDenied"}}, {}, "x")
    assert denied.code == "denied" and denied.back_off is None
    assert graph_error(400, {"error": {"message": "bad"}}, {}, "x").back_off is None
    assert graph_error(502, {}, {}, "x").back_off is not None


def test_a_batch_with_a_throttled_item_waits_for_its_longest_retry_after():
    answers = {"users": Answer(200, {"value": []}, {}),
               "groups": Answer(429, {}, {"Retry-After": "2"}),
               "contacts": Answer(429, {}, {"retry-after": "5"})}
    failure = first_failure(answers, "the address a@c.com")
    assert isinstance(failure, Throttled) and failure.back_off == 5.0
    assert first_failure({"users": Answer(200, {}, {})}, "x") is None


class _NotListing(FakeDirectory):
    """A directory that cannot list one list itself: an estimate, or a stored membership."""

    def __init__(self, answers: dict[Entry, Expansion], people: tuple[Entry, ...] = ()) -> None:
        super().__init__(people=(*answers, *people))
        self.answers = {entry.key: expansion for entry, expansion in answers.items()}

    def expand(self, entry: Entry) -> Expansion:
        return self.answers.get(entry.key) or super().expand(entry)


def _count(directory, *entries: Entry):
    request = CountRequest([Recipient(e.name, e.address) for e in entries])
    return Counter(directory, Settings()).count(request)


def test_a_list_only_estimated_leaves_the_count_incomplete_with_the_estimate_named():
    dynamic = dl("sales-dynamic@c.com", "Sales (dynamic)", kind=Kind.DYNAMIC_DL)
    note = "Sales (dynamic) is a dynamic list: Microsoft Graph cannot list its members."
    directory = _NotListing({dynamic: Expansion((), complete=False, note=note, estimate=42)},
                            people=(person("ann@c.com"),))
    report = _count(directory, dynamic, person("ann@c.com"))
    assert report.total == 1 and not report.complete
    [finding] = [f for f in report.findings if f.code == "not_listed"]
    assert finding.count == 42 and note in finding.message and "incomplete" in finding.message
    [node] = report.tree  # the tree says Exchange's number beside the nobody listed
    assert (node.unique_members, node.estimate) == (0, 42)
    assert node.to_json()["estimate"] == 42
    verdict = evaluate(report, Policy())
    assert any(f.rule == "incomplete" for f in verdict.findings)


def test_a_stored_membership_is_counted_and_said():
    dynamic = dl("sales-dynamic@c.com", "Sales (dynamic)", kind=Kind.DYNAMIC_DL)
    members = (person("ann@c.com"), person("bob@c.com"))
    directory = _NotListing({dynamic: Expansion(members, note="as Exchange stored them")})
    report = _count(directory, dynamic)
    assert report.total == 2 and report.complete
    [finding] = [f for f in report.findings if f.code == "limited_view"]
    assert finding.message == "as Exchange stored them" and finding.severity == "info"



def test_a_list_read_in_full_that_reaches_fewer_than_exchange_counts_is_incomplete():
    team, inner = dl("team@c.com", "Team"), dl("inner@c.com", "Inner")
    people = (person("ann@c.com"), person("bob@c.com"))
    short = _NotListing({team: Expansion((people[0], inner), estimate=4),
                         inner: Expansion((people[1],), estimate=1)})
    report = _count(short, team)
    assert report.total == 2 and not report.complete
    [finding] = [f for f in report.findings if f.code == "not_listed"]
    assert finding.count == 4 and "Exchange counts 4 people in Team" in finding.message
    assert finding.addresses == ("team@c.com",)
    [node] = report.tree
    assert (node.unique_members, node.estimate) == (2, 4)
    assert node.children[0].estimate is None  # as many as Exchange counts: nothing to say
    # As many as Exchange counts (or fewer: its counts are computed from time to time): fine.
    enough = _NotListing({team: Expansion((people[0], inner), estimate=2),
                          inner: Expansion((people[1],), estimate=1)})
    assert _count(enough, team).complete


def test_the_ids_a_process_keeps_are_bounded_least_recently_used_first():
    from rollcall.directory.graph.directory import GroupIds

    ids = GroupIds(max_entries=2)

    def group(mail: str) -> dict[str, object]:
        return {"@odata.type": "#microsoft.graph.group", "id": f"id-{mail}", "mail": mail,
                "groupTypes": [], "mailEnabled": True, "securityEnabled": False}

    ids.learn(group("a@c.com"))
    ids.learn(group("b@c.com"))
    assert ids.get("A@c.com") is not None  # a is now the most recently used
    ids.learn(group("c@c.com"))
    assert ids.get("b@c.com") is None and ids.get("a@c.com") and ids.get("c@c.com")
    ids.forget("a@c.com")
    assert ids.get("a@c.com") is None
