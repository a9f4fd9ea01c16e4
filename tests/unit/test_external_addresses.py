"""Who is outside the organisation: judged once per domain, the same as address by address."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rollcall.core.entries import clean_domains, external_addresses, is_internal

LABELS = st.sampled_from(["x", "eu", "contoso", "com", "co", "uk", "mail"])
DOMAINS = st.lists(LABELS, min_size=1, max_size=3).map(".".join)
ADDRESSES = st.one_of(st.tuples(st.sampled_from(["ann", "bob"]), DOMAINS).map("@".join),
                      st.sampled_from(["", "no-at-sign", "@x.com", "ann@"]))


@given(st.lists(ADDRESSES, max_size=30), st.lists(DOMAINS, max_size=3))
def test_judging_each_domain_once_agrees_with_each_address(addresses, domains):
    cleaned = clean_domains(domains)
    assert external_addresses(addresses, cleaned) == [
        a for a in addresses if not is_internal(a, cleaned)]


def test_a_subdomain_is_inside_and_a_lookalike_is_not():
    assert external_addresses(["a@eu.x.com", "b@x.com", "c@notx.com", "d@x.com.evil"],
                              ("x.com",)) == ["c@notx.com", "d@x.com.evil"]
