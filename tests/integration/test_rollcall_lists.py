"""Rollcall lists end to end: REST, counting `list:NAME` beside Exchange lists, and drift."""

from __future__ import annotations

import pytest

from ews_simulator import load
from support import demo_config, signed_in


def count(client, *addresses, **extra):
    answer = client.post("/api/count", json={
        "recipients": [{"displayName": a, "emailAddress": a} for a in addresses], **extra})
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def make_list(client, name, *emails):
    assert client.post("/api/lists", json={"name": name}).status_code == 201
    for email in emails:
        answer = client.post(f"/api/lists/{name}/members", json={"email": email})
        assert answer.status_code == 201, answer.get_json()


def test_a_deleted_contact_shows_who_deleted_it_in_the_count(client):
    make_list(client, "Champions", "ann@fabrikam.com", "bob@northwind.example",
              "megan@contoso.com")
    assert count(client, "list:Champions")["total"] == 3
    answer = client.delete("/api/contacts/ann@fabrikam.com?all=true")
    assert answer.status_code == 200
    report = count(client, "list:Champions")
    assert report["total"] == 2
    [deleted] = [f for f in report["findings"] if f["code"] == "deleted_contact"]
    assert deleted["addresses"] == ["ann@fabrikam.com"]
    assert "megan@contoso.com" in deleted["message"]  # who deleted it (the acting user)
    assert deleted["removals"][0]["all_lists"] is True
    assert report["drift"]["left"] == ["ann@fabrikam.com"]  # and drift names her
    assert report["expected"] == 3 and report["expected_source"] == "previous_count"


def test_restore_brings_the_contact_back_into_the_count(client):
    make_list(client, "Crew", "ann@fabrikam.com", "bob@northwind.example")
    client.delete("/api/contacts/ann@fabrikam.com?list=Crew")
    assert count(client, "list:Crew")["total"] == 1
    assert client.post("/api/contacts/ann@fabrikam.com/restore").status_code == 200
    assert count(client, "list:Crew")["total"] == 2


def test_rollcall_and_exchange_lists_in_one_count(client):
    make_list(client, "Mixed", "megan@contoso.com", "outside@example.org")
    client.post("/api/lists/Mixed/members", json={"exchange": "partners@contoso.com"})
    client.post("/api/lists/Mixed/members", json={"list": "Mixed"})  # a loop, like Exchange's
    report = count(client, "list:Mixed", "allstaff@contoso.com")
    assert report["total"] == 495 + 1 + 14  # allstaff (megan in it) + outside + partners
    assert report["complete"] is True
    assert any(f["code"] == "cycle" for f in report["findings"])
    kinds = {n["name"]: n["kind"] for n in report["tree"]}
    assert kinds == {"Mixed": "rollcall_list", "All Staff": "public_dl"}


def test_unsubscribed_contacts_are_left_out(client):
    make_list(client, "News", "ann@fabrikam.com", "bob@northwind.example")
    client.post("/api/contacts/bob@northwind.example/opt-out", json={"opted_out": True})
    report = count(client, "list:News")
    assert report["total"] == 1
    assert [f["addresses"] for f in report["findings"] if f["code"] == "opted_out"] == [
        ["bob@northwind.example"]]


def test_csv_import_is_all_or_nothing_and_reports_each_line(client):
    make_list(client, "Imported", "keep@example.org")
    bad = "\ufeffemail;name\nann@fabrikam.com;Ann\nnot-an-address;X\n".encode()
    answer = client.post("/api/lists/Imported/import", data=bad, content_type="text/csv")
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "import_rejected"
    assert client.get("/api/lists/Imported/export").get_data(as_text=True).count("\n") == 2
    answer = client.post("/api/lists/Imported/import?skip_invalid=true", data=bad,
                         content_type="text/csv")
    assert answer.status_code == 200 and answer.get_json()["added"] == 1
    assert answer.get_json()["skipped"][0]["line"] == 3


def test_an_exchange_list_snapshotted_into_a_rollcall_list_counts_the_same(client):
    answer = client.post("/api/lists/Partners Copy/snapshot",
                         json={"exchange": "partners@contoso.com"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["import"]["added"] == 14
    assert count(client, "list:Partners Copy")["total"] == 14


def test_history_remembers_every_complete_count(client):
    make_list(client, "Tracked", "ann@fabrikam.com")
    count(client, "list:Tracked")
    client.post("/api/lists/Tracked/members", json={"email": "bob@northwind.example"})
    count(client, "list:Tracked")
    history = client.get("/api/lists/Tracked/history").get_json()
    assert [h["total"] for h in history] == [2, 1]


def test_errors_name_the_problem(client):
    assert client.get("/api/lists/Nope").get_json()["error"]["code"] == "list_not_found"
    make_list(client, "Twice")
    answer = client.post("/api/lists", json={"name": "Twice"})
    assert answer.status_code == 409
    answer = client.post("/api/lists/Twice/members", json={"email": "not an address"})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "bad_address"
    assert client.delete("/api/contacts/x@y.com").get_json()["error"]["code"] == "bad_scope"


def test_drift_names_who_joined_and_left_an_exchange_list(start_simulator, tmp_path):
    doc = {"mailboxes": [{"address": f"p{i}@contoso.com", "password": "pw",
                          "can_impersonate": i == 0} for i in range(4)],
           "lists": [{"address": "team@contoso.com", "members": ["p1@contoso.com",
                                                                  "p2@contoso.com"]}]}
    sim, _ = start_simulator(load(doc))
    config = demo_config(sim, ews_username="p0@contoso.com", ews_password="pw",
                         mailbox="p0@contoso.com", instance_path=str(tmp_path))
    client = signed_in(config, who="p0@contoso.com")  # counts act as the caller
    assert count(client, "team@contoso.com")["drift"] is None
    sim.org.objects["team@contoso.com"].members = ("p2@contoso.com", "p3@contoso.com")
    report = count(client, "team@contoso.com", refresh=True)
    assert report["drift"]["joined"] == ["p3@contoso.com"]
    assert report["drift"]["left"] == ["p1@contoso.com"]
    assert report["expected"] == 2 and report["difference"] == 0


def test_a_rejected_import_lists_every_bad_line(client):
    make_list(client, "Strict")
    bad = b"email\nnot-an-address\nalso bad\nok@example.org\n"
    error = client.post("/api/lists/Strict/import", data=bad, content_type="text/csv").get_json()
    assert [p["line"] for p in error["error"]["problems"]] == [2, 3]


def test_opting_out_needs_a_clear_yes_or_no(client):
    make_list(client, "Quiet", "ann@fabrikam.com")
    answer = client.post("/api/contacts/ann@fabrikam.com/opt-out", json={})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "bad_opted_out"


def test_snapshotting_something_that_is_not_an_exchange_list_copies_nothing(client):
    answer = client.post("/api/lists/Copy/snapshot", json={"exchange": "nosuch@contoso.com"})
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "not_a_list"
    assert client.get("/api/lists/Copy").status_code == 404


@pytest.mark.parametrize("typed", ["list:Board", "board@lists.contoso.com"])
def test_the_owners_expected_count_applies_however_the_list_is_typed(demo_simulator, tmp_path,
                                                                      typed):
    client = signed_in(demo_config(demo_simulator[0], instance_path=str(tmp_path),
                                   list_domain="lists.contoso.com"))
    assert client.post("/api/lists", json={"name": "Board", "expected": 3}).status_code == 201
    for email in ("ann@fabrikam.com", "bob@northwind.example"):
        client.post("/api/lists/Board/members", json={"email": email})
    report = count(client, typed)
    assert (report["total"], report["expected"], report["expected_source"]) == (2, 3, "list")


# -- who can see and do what ------------------------------------------------------------------

ALEX, ADELE, ISAIAH = "alex@contoso.com", "adele@contoso.com", "isaiah@contoso.com"


def person(app, who, **claims):
    """A client signed in as `who`, with extra token claims (groups, say)."""
    from support import token

    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token(who, **claims)}"
    return other


def refused(answer):
    assert answer.status_code == 403, answer.get_json()
    assert answer.get_json()["error"]["code"] == "not_your_list"
    return answer.get_json()["error"]["message"]


def members(client, name):
    answer = client.get(f"/api/lists/{name}")
    assert answer.status_code == 200, answer.get_json()
    return [m["address"] for m in answer.get_json()["active"]]


def test_another_person_cannot_delete_or_purge_your_contacts(app, client):
    """The issue's reproduction: Alex purging a contact of Megan's list."""
    make_list(client, "Subscribers", "subscriber1@fabrikam.com", "subscriber2@fabrikam.com")
    alex = person(app, ALEX)
    refused(alex.delete("/api/contacts/subscriber1@fabrikam.com?all=true&purge_tracking=true"))
    refused(alex.delete("/api/contacts/subscriber1@fabrikam.com?all=true"))
    refused(alex.delete("/api/contacts/subscriber1@fabrikam.com?list=Subscribers"))
    refused(alex.post("/api/contacts/subscriber1@fabrikam.com/opt-out", json={"opted_out": True}))
    assert members(client, "Subscribers") == ["subscriber1@fabrikam.com",
                                              "subscriber2@fabrikam.com"]
    assert count(client, "list:Subscribers")["total"] == 2
    # Megan's own delete and restore still work: the data is intact.
    assert client.delete("/api/contacts/subscriber1@fabrikam.com?all=true").status_code == 200
    assert client.post("/api/contacts/subscriber1@fabrikam.com/restore").status_code == 200
    assert count(client, "list:Subscribers")["total"] == 2


def test_every_list_route_refuses_a_person_it_is_not_shared_with(app, client):
    make_list(client, "Private", "ann@fabrikam.com")
    alex = person(app, ALEX)
    for answer in (alex.get("/api/lists/Private"), alex.get("/api/lists/Private/export"),
                   alex.get("/api/lists/Private/history"), alex.get("/api/audit?list=Private"),
                   alex.post("/api/lists/Private/members", json={"email": "eve@evil.example"}),
                   alex.delete("/api/lists/Private/members/ann@fabrikam.com"),
                   alex.post("/api/lists/Private/import", data=b"email\neve@evil.example\n",
                             content_type="text/csv"),
                   alex.post("/api/lists/Private/snapshot",
                             json={"exchange": "partners@contoso.com"}),
                   alex.get("/api/lists/Private/shares"),
                   alex.post("/api/lists/Private/shares", json={"person": ALEX}),
                   alex.put("/api/lists/Private/owner", json={"owner": ALEX})):
        refused(answer)
    assert alex.get("/api/lists").get_json() == []
    assert members(client, "Private") == ["ann@fabrikam.com"]


def test_a_viewer_reads_and_exports_but_cannot_change(app, client):
    make_list(client, "Readable", "ann@fabrikam.com")
    answer = client.post("/api/lists/Readable/shares", json={"person": ALEX})
    assert answer.status_code == 200 and answer.get_json()["role"] == "viewer"
    alex = person(app, ALEX)
    assert [i["name"] for i in alex.get("/api/lists").get_json()] == ["Readable"]
    assert members(alex, "Readable") == ["ann@fabrikam.com"]
    assert "ann@fabrikam.com" in alex.get("/api/lists/Readable/export").get_data(as_text=True)
    assert count(alex, "list:Readable")["total"] == 1
    assert alex.get("/api/lists/Readable/history").status_code == 200
    message = refused(alex.post("/api/lists/Readable/members", json={"email": "x@y.example"}))
    assert "read only" in message
    refused(alex.delete("/api/contacts/ann@fabrikam.com?list=Readable"))
    refused(alex.post("/api/lists/Readable/import", data=b"email\nx@y.example\n",
                      content_type="text/csv"))
    assert members(client, "Readable") == ["ann@fabrikam.com"]


def test_an_editor_changes_but_cannot_share_or_purge(app, client):
    make_list(client, "Team", "ann@fabrikam.com")
    client.post("/api/lists/Team/shares", json={"person": ALEX, "role": "editor"})
    alex = person(app, ALEX)
    assert alex.post("/api/lists/Team/members",
                     json={"email": "bob@northwind.example"}).status_code == 201
    assert alex.delete("/api/contacts/ann@fabrikam.com?list=Team").status_code == 200
    refused(alex.post("/api/lists/Team/shares", json={"person": ADELE}))
    refused(alex.put("/api/lists/Team/owner", json={"owner": ALEX}))
    refused(alex.delete("/api/contacts/bob@northwind.example?all=true&purge_tracking=true"))
    assert members(client, "Team") == ["bob@northwind.example"]


def test_a_group_share_applies_to_the_groups_in_the_callers_token(app, client):
    make_list(client, "Sales", "ann@fabrikam.com")
    answer = client.post("/api/lists/Sales/shares",
                         json={"group": "5A1E5000-0000-4000-8000-000000000001"})
    assert answer.get_json()["principal"] == "5a1e5000-0000-4000-8000-000000000001"
    in_group = person(app, ADELE, groups=["5a1e5000-0000-4000-8000-000000000001"])
    outside = person(app, ADELE, groups=["another-group"])
    assert members(in_group, "Sales") == ["ann@fabrikam.com"]
    assert count(in_group, "list:Sales")["total"] == 1
    refused(outside.get("/api/lists/Sales"))
    assert count(outside, "list:Sales")["total"] == 0


def test_administrators_see_every_list_and_may_purge(app, client):
    make_list(client, "Hers", "ann@fabrikam.com")
    isaiah = person(app, ISAIAH)
    assert "Hers" in [i["name"] for i in isaiah.get("/api/lists").get_json()]
    assert members(isaiah, "Hers") == ["ann@fabrikam.com"]
    answer = isaiah.delete("/api/contacts/ann@fabrikam.com?all=true&purge_tracking=true")
    assert answer.status_code == 200 and answer.get_json()["tracking"] == "purged"
    answer = isaiah.put("/api/lists/Hers/owner", json={"owner": ALEX})
    assert answer.status_code == 200 and answer.get_json()["owner"] == ALEX
    assert members(person(app, ALEX), "Hers") == []
    refused(client.get("/api/lists/Hers"))  # handed over: no longer Megan's


def test_the_audit_trail_shows_each_person_only_their_lists(app, client):
    make_list(client, "Megans", "ann@fabrikam.com")
    alex = person(app, ALEX)
    make_list(alex, "Alexs", "ann@fabrikam.com")
    assert {tuple(e["lists"]) for e in alex.get("/api/audit").get_json()} == {("Alexs",)}
    assert {tuple(e["lists"]) for e in client.get("/api/audit").get_json()} == {("Megans",)}
    assert alex.get("/api/audit?email=ann@fabrikam.com").get_json()[0]["lists"] == ["Alexs"]
    everything = person(app, ISAIAH).get("/api/audit").get_json()
    assert {n for e in everything for n in e["lists"]} >= {"Alexs", "Megans"}
    # Alex deleting Ann "from all lists" deletes her from his: Megan's list keeps her.
    event = alex.delete("/api/contacts/ann@fabrikam.com?all=true").get_json()
    assert event["lists"] == ["Alexs"]
    assert members(client, "Megans") == ["ann@fabrikam.com"]


def test_counting_someone_elses_list_is_like_counting_no_list(app, client):
    make_list(client, "Secret", "ann@fabrikam.com", "bob@northwind.example")
    client.post("/api/lists", json={"name": "Expected", "expected": 7})
    alex = person(app, ALEX)
    theirs, nothing = count(alex, "list:Secret"), count(alex, "list:Nothing Here")
    assert theirs["total"] == 0 and theirs["tree"] == []
    assert [f["code"] for f in theirs["findings"]] == [f["code"] for f in nothing["findings"]]
    assert [f["message"].replace("Secret", "X") for f in theirs["findings"]] == [
        f["message"].replace("Nothing Here", "X") for f in nothing["findings"]]
    assert "ann@fabrikam.com" not in str(theirs)
    expected = count(alex, "list:Expected")
    assert expected["expected"] is None and expected["expected_source"] is None
    assert count(client, "list:Expected")["expected"] == 7
    # The send check sees the same: an entry nobody resolves.
    verdict = alex.post("/api/validate", json={
        "recipients": [{"displayName": "list:Secret", "emailAddress": "list:Secret"}]})
    assert verdict.get_json()["report"]["total"] == 0


def test_a_nested_list_counts_while_the_including_lists_owner_may_see_it(app, client):
    make_list(client, "Inner", "ann@fabrikam.com")
    client.post("/api/lists/Inner/shares", json={"person": ALEX})
    alex = person(app, ALEX)
    make_list(alex, "Outer", "bob@northwind.example")
    assert alex.post("/api/lists/Outer/members", json={"list": "Inner"}).status_code == 201
    alex.post("/api/lists/Outer/shares", json={"person": ADELE})
    adele = person(app, ADELE)
    assert count(adele, "list:Outer")["total"] == 2  # Inner comes with Outer, through Alex
    refused(adele.get("/api/lists/Inner"))  # but Adele still cannot read Inner itself
    assert client.delete(f"/api/lists/Inner/shares?person={ALEX}").status_code == 200
    for who in (adele, alex):
        report = count(who, "list:Outer")
        assert report["total"] == 1 and report["complete"] is False
        [failed] = [f for f in report["findings"] if f["code"] == "expansion_failed"]
        assert "list:Inner" in failed["message"]
        assert "ann@fabrikam.com" not in str(report)


def test_nesting_a_list_needs_to_see_it(app, client):
    make_list(client, "Hidden", "ann@fabrikam.com")
    alex = person(app, ALEX)
    make_list(alex, "Mine")
    refused(alex.post("/api/lists/Mine/members", json={"list": "Hidden"}))


def test_shares_are_listed_and_removed_by_the_owner(app, client):
    make_list(client, "Shared")
    client.post("/api/lists/Shared/shares", json={"person": ALEX, "role": "editor"})
    client.post("/api/lists/Shared/shares", json={"group": "g-1"})
    shares = client.get("/api/lists/Shared/shares").get_json()
    assert [(s["kind"], s["principal"], s["role"]) for s in shares] == [
        ("person", ALEX, "editor"), ("group", "g-1", "viewer")]
    answer = client.delete("/api/lists/Shared/shares?group=g-1")
    assert answer.status_code == 200 and answer.get_json()["action"] == "list.unshared"
    assert client.delete("/api/lists/Shared/shares?group=g-1").status_code == 404
    bad = client.post("/api/lists/Shared/shares", json={"person": ALEX, "group": "g-1"})
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "bad_share"
    assert client.post("/api/lists/Shared/shares",
                       json={"person": ALEX, "role": "owner"}).status_code == 400
