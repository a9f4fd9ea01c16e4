"""Property: through exchangelib and the simulator, `total` is the number of distinct deliverable
addresses reachable from the recipients, computed here independently, for random organisations."""

from __future__ import annotations

import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ews_simulator import Simulator, load
from rollcall.bootstrap import bootstrap
from rollcall.config import load_config
from rollcall.core.model import Recipient
from support import Wire


@st.composite
def organisations(draw):
    people = [f"p{i}@contoso.com" for i in range(draw(st.integers(1, 12)))]
    lists = [f"dl{i}@contoso.com" for i in range(draw(st.integers(1, 6)))]
    members = {dl: draw(st.lists(st.sampled_from(people + lists), max_size=8)) for dl in lists}
    group = draw(st.lists(st.one_of(
        st.sampled_from(people + lists).map(lambda a: {"address": a}),
        st.sampled_from(people).map(lambda a: {"address": a.upper()}),
        st.just({"address": "gone@elsewhere.example", "status": "Demoted"}),
        st.just({"name": "Broken", "status": "Unrecognized"}),
    ), max_size=6))
    chosen = draw(st.lists(st.sampled_from(people + lists), min_size=1, max_size=4))
    with_group = draw(st.booleans())
    doc = {
        "mailboxes": [{"address": p, "password": "pw", "can_impersonate": i == 0,
                       "contact_groups": [{"id": "g", "name": "Random Group", "members": group}]
                       if i == 0 else []}
                      for i, p in enumerate(people)],
        "lists": [{"address": dl, "name": f"List {dl}", "members": members[dl]} for dl in lists],
    }
    return doc, members, group, chosen, with_group


def reachable(members, group, chosen, with_group):
    """The independent answer: a plain graph walk over the document."""
    seen_lists, people, stack = set(), set(), list(chosen)
    if with_group:
        for m in group:
            if m.get("status") == "Unrecognized":
                continue
            stack.append(m["address"].lower())
    while stack:
        a = stack.pop()
        if a in members:
            if a not in seen_lists:
                seen_lists.add(a)
                stack.extend(members[a])
        else:
            people.add(a.lower())
    return people


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisations())
def test_total_is_the_distinct_deliverable_addresses_reachable(optional_ews_schema, case):
    doc, members, group, chosen, with_group = case
    wire = Wire()  # every exchange validated against the EWS schema, as elsewhere
    sim = Simulator(load(doc), observer=wire).start()
    try:
        sender = doc["mailboxes"][0]["address"]
        svc = bootstrap(load_config(environ={}, ews_url=sim.url, ews_username=sender,
                                        ews_password="pw", mailbox=sender,
                                        instance_path=tempfile.mkdtemp())).counts
        recipients = [Recipient(a, a) for a in chosen]
        if with_group:
            recipients.append(Recipient("Random Group", None))
        report = svc.count(recipients).to_json()
    finally:
        sim.stop()
    if optional_ews_schema is not None:
        wire.validate(optional_ews_schema)
    assert report["complete"] is True
    assert report["total"] == len(reachable(members, group, chosen, with_group))
    assert report["entries"] == (report["total"] + report["duplicates"]
                                 + report["undeliverable"] + report["not_looked_up"])
