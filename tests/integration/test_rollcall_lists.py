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
