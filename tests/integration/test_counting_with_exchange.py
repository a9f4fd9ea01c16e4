"""Counting through real exchangelib against the simulator: every finding, and what it costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from ews_simulator import load
from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import Recipient

ORG = Path(__file__).with_name("count_org.yaml")
DN = "/o=Contoso/ou=Exchange Administrative Group/cn=Recipients/cn="


@pytest.fixture
def exchange(start_simulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the list store's SQLite file goes to ./instance
    server, _ = start_simulator(load(ORG))
    return server


def service(sim, **overrides):
    settings = {"ews_url": sim.url, "ews_username": "svc@contoso.com", "ews_password": "svc-pw",
                "mailbox": "megan@contoso.com", "internal_domains": ("contoso.com",)}
    settings.update(overrides)
    return bootstrap(load_config(environ={}, **settings)).counts


def count(sim, *recipients, expected=None, mailbox=None, svc=None, refresh=False):
    svc = svc or service(sim)
    entries = [r if isinstance(r, Recipient)
               else Recipient(r, r if "@" in r or r[0] == "/" else None) for r in recipients]
    return svc.count(entries, expected, mailbox, refresh).to_json()


def codes(report):
    return {f["code"] for f in report["findings"]}


def finding(report, code):
    [found] = [f for f in report["findings"] if f["code"] == code]
    return found


def test_a_contact_group_by_name_expands_through_every_kind_of_list(exchange):
    report = count(exchange, Recipient("Project Crew", ""))
    assert report["total"] == 10  # alex erin one.off adele ben carla megan partner dan gone
    assert (report["entries"], report["duplicates"], report["undeliverable"]) == (15, 3, 2)
    assert report["complete"] is True and report["max_depth"] == 5
    assert codes(report) >= {"deleted_contact", "invalid_member", "unresolved", "cycle",
                             "nested_too_deep", "external"}
    deleted = finding(report, "deleted_contact")
    assert deleted["addresses"] == ["gone@contoso.com"] and deleted["path"] == ["Project Crew"]
    assert finding(report, "external")["addresses"] == sorted(
        ["erin@fabrikam.com", "one.off@tailspin.example", "partner@fabrikam.com"])
    [crew] = report["tree"]
    assert (crew["kind"], crew["status"]) == ("contact_group", "expanded")
    assert crew["unique_members"] == 10


def test_public_lists_inside_contact_groups_inside_contact_groups(exchange):
    report = count(exchange, Recipient("Project Crew", ""))
    [crew] = report["tree"]
    inner = next(c for c in crew["children"] if c["name"] == "Inner Circle")
    innermost = next(c for c in inner["children"] if c["name"] == "Innermost")
    loop_a = innermost["children"][0]
    assert (inner["depth"], innermost["depth"], loop_a["depth"]) == (2, 3, 4)
    assert loop_a["address"] == "loop-a@contoso.com"
    assert loop_a["children"][0]["children"][0]["status"] == "cycle"


def test_a_loop_between_two_lists_is_reported_and_counted_once(exchange):
    report = count(exchange, "loop-a@contoso.com")
    assert report["total"] == 2 and report["complete"] is True  # ben, dan
    cycle = finding(report, "cycle")
    assert cycle["path"][0] == cycle["path"][-1] == "Loop A"


def test_a_chain_deeper_than_the_limit_is_flagged_and_still_counted(exchange):
    report = count(exchange, "l1@contoso.com")
    assert report["total"] == 2 and report["max_depth"] == 5
    deep = finding(report, "nested_too_deep")
    assert deep["path"][:2] == ["Level 1", "Level 2"] and len(deep["path"]) >= 4
    relaxed = count(exchange, "l1@contoso.com", svc=service(exchange, max_nesting=5))
    assert "nested_too_deep" not in codes(relaxed) and relaxed["total"] == 2


def test_a_truncated_list_makes_the_count_incomplete_never_silently_smaller(exchange):
    report = count(exchange, "big@contoso.com")
    assert report["complete"] is False and report["total"] == 2
    assert report["tree"][0]["status"] == "truncated"
    assert finding(report, "truncated")["severity"] == "error"


def test_unknown_ambiguous_and_external_entries(exchange):
    report = count(exchange, Recipient("Nobody Here", None), "nobody@contoso.com",
                   "someone@gmail.example", Recipient("Sam", None))
    assert report["total"] == 1  # only the outside address, sent as a one-off
    assert report["undeliverable"] == 3
    unresolved = [f for f in report["findings"] if f["code"] == "unresolved"]
    assert len(unresolved) == 2
    assert "ambiguous" in codes(report) and "external" in codes(report)


def test_people_in_several_lists_are_counted_once_whatever_the_case(exchange):
    report = count(exchange, "team-a@contoso.com", "team-b@contoso.com", "BEN@CONTOSO.COM")
    assert report["total"] == 3  # adele, ben, carla
    assert report["duplicates"] == 2


def test_dynamic_lists_groups_public_folders_and_mail_contacts(exchange):
    report = count(exchange, "everything@contoso.com")
    assert report["total"] == 5  # alex adele megan feedback partner
    kinds = {c["address"]: c["kind"] for c in report["tree"][0]["children"]}
    assert kinds["m365@contoso.com"] == "group"


def test_x500_addresses_are_mapped_to_smtp_before_de_duplicating(exchange):
    report = count(exchange, Recipient("Ben Walters", DN + "ben"), "ben@contoso.com",
                   "team-b@contoso.com")
    assert report["total"] == 2 and report["duplicates"] == 2  # ben thrice, carla once


def test_a_mailboxs_contact_groups_are_invisible_to_another_mailbox(exchange):
    as_megan = count(exchange, Recipient("Alex Private", ""))
    as_alex = count(exchange, Recipient("Alex Private", ""), mailbox="alex@contoso.com")
    assert as_megan["total"] == 0 and "unresolved" in codes(as_megan)
    assert as_alex["total"] == 1 and as_alex["mailbox"] == "alex@contoso.com"


def test_expected_count_difference_is_broken_down_by_cause(exchange):
    report = count(exchange, "team-a@contoso.com", "team-b@contoso.com", "big@contoso.com",
                   expected=6)
    assert report["difference"] == report["total"] - 6
    mismatch = finding(report, "count_mismatch")
    assert mismatch["breakdown"]["duplicates"] == report["duplicates"]
    assert mismatch["breakdown"]["incomplete_lists"] == 1


def test_one_resolve_per_entry_one_expansion_per_distinct_list_and_a_cache(exchange):
    svc = service(exchange)
    count(exchange, "l1@contoso.com", svc=svc)  # the version probe happens here
    exchange.reset_counters()
    first = count(exchange, "dept@contoso.com", "team-a@contoso.com", "team-b@contoso.com",
                  svc=svc)
    assert exchange.snapshot() == {"ResolveNames": 3, "ExpandDL": 3}
    assert first["requests"] == 6
    exchange.reset_counters()
    again = count(exchange, "dept@contoso.com", svc=svc)
    assert exchange.snapshot() == {"ResolveNames": 1}
    assert again["tree"][0]["status"] == "cached" and again["total"] == first["total"]
    exchange.reset_counters()
    count(exchange, "dept@contoso.com", svc=svc, refresh=True)
    assert exchange.snapshot()["ExpandDL"] == 3


def test_a_short_back_off_is_waited_out_and_the_count_completes(exchange):
    svc = service(exchange)
    count(exchange, "l1@contoso.com", svc=svc)
    exchange.set_faults(busy_every=3, back_off_ms=100)
    report = count(exchange, "dept@contoso.com", svc=svc, refresh=True)
    assert report["complete"] is True and report["total"] == 4
    assert exchange.snapshot()["_busy"] >= 1


def test_a_long_back_off_makes_the_count_incomplete_within_its_deadline(exchange):
    svc = service(exchange, deadline_s=2.0)
    count(exchange, "l1@contoso.com", svc=svc)
    exchange.set_faults(busy_every=1, back_off_ms=300_000)  # as Exchange Online asks
    report = count(exchange, "dept@contoso.com", svc=svc, refresh=True)
    assert report["complete"] is False
    failed = [f for f in report["findings"] if f["code"] == "expansion_failed"]
    assert failed and failed[0].get("throttled") is True
    assert "300 s" in failed[0]["message"]  # given up on at once, not waited out


def test_http_503_with_retry_after_is_waited_out_within_the_deadline(exchange):
    svc = service(exchange)
    count(exchange, "l1@contoso.com", svc=svc)
    exchange.set_faults(http503_every=3, retry_after_s=1)
    report = count(exchange, "dept@contoso.com", "Project Crew", svc=svc, refresh=True)
    assert report["complete"] is True and report["total"] == 10
    assert exchange.snapshot()["_http503"] >= 1


def test_a_dropped_connection_is_retried(exchange):
    svc = service(exchange)
    count(exchange, "l1@contoso.com", svc=svc)
    exchange.set_faults(drop_every=3)
    report = count(exchange, "dept@contoso.com", "Project Crew", svc=svc, refresh=True)
    assert report["complete"] is True and report["total"] == 10, [
        f["message"] for f in report["findings"] if f["severity"] == "error"]
    assert exchange.snapshot()["_dropped"] >= 1
