"""Counting through real exchangelib against the simulator: every finding, and what it costs."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from ews_simulator import load
from ews_simulator.demo import DEMO_PASSWORD
from ews_simulator.generate import generate
from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import DirectoryError, Recipient

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
    assert exchange.snapshot() == {}  # the entry's resolution and its lists are both reused
    assert again["requests"] == 0
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


# -- the demo organisation: the sender's Contacts, a hidden mailbox, internal domains ----------

@pytest.fixture
def demo_exchange(demo_simulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sim, _ = demo_simulator
    return sim


def demo_service(sim, **overrides):
    return service(sim, **{"ews_username": "svc-rollcall@contoso.com",
                           "ews_password": DEMO_PASSWORD, **overrides})


def test_one_address_in_the_directory_and_in_the_senders_contacts_is_one_person(demo_exchange):
    # Megan's Contacts hold "Alex Wilber" <alex@contoso.com>, the directory his mailbox.
    report = demo_service(demo_exchange).count([Recipient("Alex", None)], None, None, False)
    assert (report.total, report.complete, report.recipients) == (1, True, ("alex@contoso.com",))
    assert not {f.code.value for f in report.findings} & {"ambiguous", "unresolved"}
    # Different people under one name stay ambiguous: Megan has a contact Tomas Castillo
    # (tomas.castillo2@) and the directory several Tomases.
    assert "ambiguous" in codes(count(demo_exchange, Recipient("Tomas", None),
                                      svc=demo_service(demo_exchange)))


def test_a_hidden_mailbox_typed_by_address_is_counted_yet_stays_out_of_its_list(demo_exchange):
    svc = demo_service(demo_exchange)
    typed = svc.count([Recipient("", "ethics@contoso.com")], None, None, False)
    assert (typed.total, typed.complete, typed.not_found) == (1, True, 0)
    assert typed.recipients == ("ethics@contoso.com",)
    team = svc.count([Recipient("", "team-legal-compliance@contoso.com")], None, None, False)
    assert team.complete and team.total > 0 and "ethics@contoso.com" not in team.recipients
    both = svc.count([Recipient("", "team-legal-compliance@contoso.com"),
                      Recipient("", "ethics@contoso.com")], None, None, False)
    assert both.total == team.total + 1


def test_a_hidden_list_typed_by_address_is_never_counted_as_one_person(start_simulator):
    org = {"domain": "contoso.com",
           "mailboxes": [{"address": a, "password": "pw"} for a in
                         ("ann@contoso.com", "bob@contoso.com", "megan@contoso.com")]
           + [{"address": "svc@contoso.com", "password": "svc-pw", "can_impersonate": True}],
           "lists": [{"address": "secret@contoso.com", "hidden": True,
                      "members": ["ann@contoso.com", "bob@contoso.com"]}]}
    sim, _ = start_simulator(org)
    report = count(sim, "secret@contoso.com")
    assert report["complete"] is False and report["total"] == 0
    assert finding(report, "expansion_failed")["addresses"] == ["secret@contoso.com"]


def test_without_internal_domains_the_senders_own_domain_is_internal(demo_exchange):
    svc = demo_service(demo_exchange, internal_domains=())
    inside = count(demo_exchange, "nobody@contoso.com", svc=svc)
    assert (inside["total"], inside["undeliverable"]) == (0, 1)
    assert finding(inside, "unresolved")["path"] == ["nobody@contoso.com"]
    outside = count(demo_exchange, "nobody@fabrikam.com", svc=svc)
    assert (outside["total"], outside["undeliverable"]) == (1, 0)  # a one-off, sent as typed


def test_configured_internal_domains_replace_the_senders_domain(demo_exchange):
    svc = demo_service(demo_exchange, internal_domains=("fabrikam.com",))
    report = count(demo_exchange, "nobody@contoso.com", "nobody@fabrikam.com", svc=svc)
    assert (report["total"], report["undeliverable"]) == (1, 1)
    assert finding(report, "unresolved")["path"] == ["nobody@fabrikam.com"]


def test_the_organisations_internal_domains_default_to_the_acting_and_service_accounts():
    from rollcall.directory.ews.organisation import EwsOrganisation
    from rollcall.directory.ews.settings import EwsSettings

    service_account = EwsOrganisation(EwsSettings(url="http://x", username="svc@corp.example"))
    assert service_account.internal_domains("megan@contoso.com") == (
        "contoso.com", "corp.example")
    assert service_account.internal_domains(None) == ("corp.example",)
    configured = EwsOrganisation(EwsSettings(url="http://x", username="svc@corp.example"),
                                 internal_domains=("Fabrikam.com",))
    assert configured.internal_domains("megan@contoso.com") == ("fabrikam.com",)


class InFlight:
    """Wraps a Directory: how many of Rollcall's requests were in flight as each one started,
    and whether Exchange had refused one as too busy by then."""

    def __init__(self, directory: Any) -> None:
        self.directory = directory
        self.lock = threading.Lock()
        self.now = 0
        self.starts: list[tuple[int, bool]] = []  # (in flight with this one, refused before)
        self.refused = False

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.directory, name)

        def call(*args: Any) -> Any:
            with self.lock:
                self.now += 1
                self.starts.append((self.now, self.refused))
            try:
                return method(*args)
            except DirectoryError as e:
                if e.code == "throttled":
                    self.refused = True
                raise
            finally:
                with self.lock:
                    self.now -= 1

        return call


def test_a_server_taking_fewer_requests_than_rollcall_starts_with_is_found_by_backing_off(
        start_simulator, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    doc = generate(600, 120, 3, 1.5, seed=7)  # all@ reaches all 600 through 119 lists
    sim, _ = start_simulator(doc)
    user = doc["mailboxes"][0]
    svc = service(sim, ews_username=user["address"], ews_password=user["password"],
                  mailbox=None, concurrency=8, max_concurrency=24)
    directory_for = svc.directory_for
    tracked: list[InFlight] = []
    svc.directory_for = lambda *a: tracked.append(InFlight(directory_for(*a))) or tracked[-1]
    sim.set_faults(latency_ms=20, max_concurrent=4, back_off_ms=200)

    report = count(sim, "all@example.com", svc=svc)

    assert report["complete"] is True and report["total"] == 600 and report["lists"] == 120
    wire = sim.snapshot()
    assert wire["ExpandDL"] == 120 and wire["_busy"] >= 1  # every list once; Exchange refused
    starts = tracked[0].starts
    assert max(n for n, _ in starts) <= 8  # refused before the limit could grow past 8 ...
    after = [n for n, refused in starts if refused]
    # ... and once Exchange has refused one, about its limit of 4: the limit halves on each
    # refusal and climbs back one at a time, so it saws between 2 and 5 (5 is refused).
    assert after and sum(n <= 5 for n in after) >= 0.9 * len(after), after
    # One refusal a climb (2 + 3 + 4 answers) plus the first burst's, not one in two.
    assert wire["_busy"] <= 4 + len(starts) // 5, wire
