"""What goes through Redis comes back the same: expansions and resolutions as plain JSON."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rollcall.core.model import Entry, Expansion, Kind, MemberStatus, Resolution
from rollcall.shared.codec import (
    dump_expansion,
    dump_resolution,
    load_expansion,
    load_resolution,
)

text = st.text(max_size=30)
entries = st.builds(Entry, name=text, address=st.none() | text, kind=st.sampled_from(Kind),
                    routing_type=st.sampled_from(["SMTP", "EX"]),
                    item_id=st.none() | text, status=st.sampled_from(MemberStatus))


@given(members=st.lists(entries, max_size=20), complete=st.booleans(),
       total=st.none() | st.integers(0, 10**6), note=st.none() | text,
       estimate=st.none() | st.integers(0, 10**6), at=st.floats(0, 2e9))
def test_an_expansion_comes_back_from_redis_as_it_went(members, complete, total, note,
                                                       estimate, at):
    expansion = Expansion(tuple(members), complete=complete, total_in_view=total, note=note,
                          estimate=estimate)
    fetched_at, back = load_expansion(dump_expansion(expansion, at))
    assert back == expansion and fetched_at == at


@given(query=text, entry=st.none() | entries, problem=st.none() | text,
       candidates=st.lists(entries, max_size=5))
def test_a_resolution_comes_back_from_redis_as_it_went(query, entry, problem, candidates):
    resolution = Resolution(query, entry, problem, tuple(candidates))
    assert load_resolution(dump_resolution(resolution)) == resolution


def test_the_json_holds_no_code_only_data():
    raw = dump_expansion(Expansion((Entry("A", "a@c.com", Kind.MAILBOX),)), 1.0)
    assert raw.startswith(b"{") and b"pickle" not in raw
