"""Relay health over DNS against a local DNS server (dnslib, real UDP/TCP on 127.0.0.1): the
blacklists, SPF through pyspf, DKIM against a key made here, DMARC, and the words for admins.
No lookup ever leaves the machine: every resolver points at the local server."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dns.message
import dns.query
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from dns_server import LocalDnsServer, silent_udp_port
from rollcall.sending.dns_checks import (
    Listing,
    RelayDnsReport,
    check_relay_dns,
    classify,
    dnsbl_name,
    resolver,
    verdict,
)
from rollcall.sending.domain_auth import dkim_keys_match, dkim_public_key, dmarc_words, parse_tags

RELAY_IP = "81.2.69.160"  # a public address: blacklists would list it
OTHER_IP = "81.2.69.200"
RELAY_V6 = "2a02:898:0:20::10"
ZONES = ["bl.example.test", "zen.example.test"]
DOMAIN = "contoso.test"


def pem_key(tmp_path: Path, name: str = "dkim.pem") -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / name
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


def base_records() -> dict[str, Any]:
    return {
        "relay.contoso.test": {"A": [RELAY_IP], "AAAA": [RELAY_V6]},
        "internal-relay.contoso.test": {"A": ["10.1.2.3"]},
        DOMAIN: {"TXT": [f"v=spf1 ip4:{RELAY_IP} ip6:{RELAY_V6} -all",
                         "google-site-verification=abc"]},
        f"_dmarc.{DOMAIN}": {"TXT": ["v=DMARC1; p=reject; pct=100; "
                                     "rua=mailto:dmarc@contoso.test"]},
    }


@pytest.fixture
def check(tmp_path: Path) -> Iterator[Callable[..., tuple[RelayDnsReport, LocalDnsServer]]]:
    """check(records, **overrides): the report for relay.contoso.test against a local DNS server
    holding `records` (base_records() when None), and that server, to read what it was asked."""
    servers: list[LocalDnsServer] = []

    def run(records: dict[str, Any] | None = None,
            **overrides: Any) -> tuple[RelayDnsReport, LocalDnsServer]:
        server = LocalDnsServer(base_records() if records is None else records).start()
        servers.append(server)
        args: dict[str, Any] = {"zones": ZONES, "domain": DOMAIN, "dkim_selector": None,
                                "dkim_key_file": None, "res": resolver(server.address, 0.5)}
        args.update(overrides)
        return check_relay_dns("primary", args.pop("host", "relay.contoso.test"), **args), server

    yield run
    for server in servers:
        server.stop()


# --- pure helpers ------------------------------------------------------------------------------


def test_dnsbl_names_reverse_ipv4_octets_and_ipv6_nibbles():
    assert dnsbl_name("192.0.2.1", "zen.example.") == "1.2.0.192.zen.example"
    assert dnsbl_name("2001:db8::1", "bl.test") == (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test")


def test_answers_sort_into_listed_refused_and_odd():
    assert classify([]) == (False, None)
    assert classify(["127.0.0.2", "127.0.0.4"]) == (True, None)
    listed, error = classify(["127.255.255.254"])
    assert listed is None and "refused the query" in error
    listed, error = classify(["198.51.100.7"])  # a resolver answering for missing names
    assert listed is None and "unexpected answer" in error


def test_tags_parse_with_folded_values_and_bad_parts():
    assert parse_tags("v=DKIM1; k=rsa;\n p=MIIB\n  AQAB ; junk; =x") == {
        "v": "DKIM1", "k": "rsa", "p": "MIIBAQAB"}
    assert parse_tags("v=DKIM1; p=") == {"v": "DKIM1", "p": ""}


def test_dmarc_words_say_the_policy_and_what_is_wrong():
    policy, tags, words = dmarc_words("c.test", ["v=DMARC1; p=quarantine; pct=50; sp=none"])
    assert policy == "quarantine" and tags["pct"] == "50"
    assert "junk" in words and "50%" in words and "subdomains p=none" in words
    assert dmarc_words("c.test", ["v=DMARC1; rua=mailto:x@c.test"])[0] is None
    assert "ignore them all" in dmarc_words("c.test", ["v=DMARC1; p=none"] * 2)[2]


def test_a_dkim_key_matches_whether_published_as_spki_or_pkcs1():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    kind, expected = dkim_public_key(pem)
    assert kind == "rsa"
    pkcs1 = base64.b64encode(key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1)).decode()
    assert dkim_keys_match(" ".join([expected[:40], expected[40:]]), expected)
    assert dkim_keys_match(pkcs1, expected)
    assert not dkim_keys_match("bm90IGEga2V5", expected)


def test_ed25519_dkim_keys_publish_the_raw_key():
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    kind, p = dkim_public_key(pem)
    assert kind == "ed25519" and len(p) == 44  # 32 bytes


def test_the_verdict_counts_blacklists_not_lookups():
    listings = [Listing("a.test", RELAY_IP, True, "127.0.0.2", "spam", None),
                Listing("a.test", RELAY_V6, True, "127.0.0.2", None, None),
                Listing("b.test", RELAY_IP, False, None, None, None)]
    said = verdict("relay", [RELAY_IP, RELAY_V6], ["a.test", "b.test"], listings)
    assert said.startswith("Listed on 1 of 2 blacklists: a.test (")
    assert verdict("relay", [RELAY_IP], ["b.test"], listings[2:]) == (
        "Not listed on the one blacklist checked (b.test)")
    assert "ROLLCALL_DNSBL_ZONES" in verdict("relay", [RELAY_IP], [], [])


def test_the_resolver_setting_takes_host_port_and_bracketed_ipv6():
    res = resolver("127.0.0.1:5353", 1.5)
    assert (res.nameservers, res.port, res.lifetime) == (["127.0.0.1"], 5353, 1.5)
    res = resolver("[::1]:5300")
    assert (res.nameservers, res.port) == (["::1"], 5300)
    assert resolver("192.0.2.53").port == 53
    with pytest.raises(ValueError, match="ROLLCALL_DNS_SERVER"):
        resolver("127.0.0.1:notaport")


# --- the local DNS server ----------------------------------------------------------------------


def test_the_local_dns_server_answers_over_udp_and_tcp():
    with LocalDnsServer({"a.test": {"A": ["192.0.2.1"]}}) as server:
        query = dns.message.make_query("a.test", "A")
        for ask in (dns.query.udp, dns.query.tcp):
            answer = ask(query, "127.0.0.1", timeout=2, port=server.port)
            assert [r.address for r in answer.answer[0]] == ["192.0.2.1"]
        missing = dns.query.udp(dns.message.make_query("b.test", "A"), "127.0.0.1", timeout=2,
                                port=server.port)
        assert missing.rcode() == dns.rcode.NXDOMAIN


# --- blacklists --------------------------------------------------------------------------------


def test_a_listed_address_shows_its_reason_in_the_report_and_the_verdict(check):
    records = base_records()
    records[dnsbl_name(RELAY_IP, "zen.example.test")] = {
        "A": ["127.0.0.2"], "TXT": ["Listed in SBL: https://check.example.test/81.2.69.160"]}
    report, server = check(records)
    listed = [x for x in report.listings if x.listed]
    assert [(x.zone, x.address, x.answer) for x in listed] == [
        ("zen.example.test", RELAY_IP, "127.0.0.2")]
    assert listed[0].reason == "Listed in SBL: https://check.example.test/81.2.69.160"
    assert report.verdict.startswith("Listed on 1 of 2 blacklists: zen.example.test (")
    assert "Listed in SBL" in report.verdict
    assert (dnsbl_name(RELAY_IP, "zen.example.test"), "A") in server.asked


def test_an_unlisted_address_is_not_listed_on_either_address_family(check):
    report, server = check()
    assert report.addresses == (RELAY_IP, RELAY_V6) and report.public
    assert {(x.zone, x.address, x.listed, x.error) for x in report.listings} == {
        (z, a, False, None) for z in ZONES for a in (RELAY_IP, RELAY_V6)}
    assert report.verdict == "Not listed on any of the 2 blacklists checked"
    assert (dnsbl_name(RELAY_V6, "bl.example.test"), "A") in server.asked


def test_a_refused_query_is_an_error_not_a_listing(check):
    records = base_records()
    records[dnsbl_name(RELAY_IP, "zen.example.test")] = {"A": ["127.255.255.254"]}
    report, _ = check(records, public_addresses=[RELAY_IP])
    refused = next(x for x in report.listings if x.zone == "zen.example.test")
    assert refused.listed is None and "refused the query" in refused.error
    assert report.verdict.startswith("Not listed on 1 of the 2 blacklists checked; could not "
                                     "check zen.example.test (the blacklist refused")


def test_a_failing_or_silent_zone_is_an_error_in_words_and_never_an_exception(check):
    records = base_records()
    records["*.dead.example.test"] = "SERVFAIL"
    records["*.slow.example.test"] = "DROP"
    report, _ = check(records, zones=["dead.example.test", "slow.example.test"],
                      public_addresses=[RELAY_IP])
    by_zone = {x.zone: x for x in report.listings}
    assert by_zone["dead.example.test"].listed is None
    assert "SERVFAIL" in by_zone["dead.example.test"].error
    assert by_zone["slow.example.test"].listed is None
    assert "timeout" in by_zone["slow.example.test"].error
    assert report.verdict.startswith("Could not check the blacklists: dead.example.test (")
    assert report.spf["results"] == {RELAY_IP: "pass"}  # the rest of the report still stands


def test_a_dns_server_that_never_answers_gives_a_report_full_of_reasons(tmp_path):
    sock, address = silent_udp_port()
    try:
        report = check_relay_dns("primary", "relay.contoso.test", zones=ZONES, domain=DOMAIN,
                                 dkim_selector="s1", dkim_key_file=str(pem_key(tmp_path)),
                                 public_addresses=[RELAY_IP], res=resolver(address, 0.3))
    finally:
        sock.close()
    assert all(x.listed is None and "timeout" in x.error for x in report.listings)
    assert report.spf["results"] == {RELAY_IP: "temperror"}
    assert "timeout" in report.dkim["words"] and report.dkim["matches"] is None
    assert report.dmarc["policy"] is None and "timeout" in report.dmarc["words"]
    json.dumps(report.to_json())


def test_a_relay_without_a_name_in_dns_is_said_plainly(check):
    report, _ = check(host="gone.contoso.test")
    assert report.addresses == () and not report.public and report.listings == ()
    assert report.verdict == ("Not checked: gone.contoso.test does not resolve (no such name: "
                              "NXDOMAIN)")


def test_a_private_relay_is_not_looked_up_and_asks_for_the_public_address(check):
    report, server = check(host="internal-relay.contoso.test")
    assert report.addresses == ("10.1.2.3",) and report.public is False
    assert report.listings == ()
    assert "ROLLCALL_RELAY_PUBLIC_IPS" in report.verdict and "private" in report.verdict
    assert not any(name.endswith(tuple(ZONES)) for name in server.names_asked())
    assert report.spf["results"] == {} and "ROLLCALL_RELAY_PUBLIC_IPS" in report.spf["words"]


def test_public_addresses_given_replace_the_host_addresses(check):
    report, server = check(host="internal-relay.contoso.test", public_addresses=[RELAY_IP])
    assert report.addresses == (RELAY_IP,) and report.public
    assert ("internal-relay.contoso.test", "A") not in server.asked
    assert len(report.listings) == 2 and all(x.listed is False for x in report.listings)


def test_a_relay_named_by_address_is_its_own_address(check):
    report, server = check(host=RELAY_IP)
    assert report.addresses == (RELAY_IP,)
    assert not any(t in ("A", "AAAA") and n == RELAY_IP for n, t in server.asked)


# --- SPF ---------------------------------------------------------------------------------------


def spf_only(record: str | None, **more: Any) -> dict[str, Any]:
    records = {**base_records(), **more}
    records[DOMAIN] = {"TXT": [record]} if record else {"MX": ["10 mx.contoso.test"]}
    return records


def test_spf_passes_an_address_named_by_ip4(check):
    report, _ = check(spf_only("v=spf1 ip4:81.2.69.0/24 -all"), public_addresses=[RELAY_IP])
    assert report.spf["results"] == {RELAY_IP: "pass"}
    assert report.spf["record"] == "v=spf1 ip4:81.2.69.0/24 -all"
    assert report.spf["words"] == f"SPF for {DOMAIN} allows {RELAY_IP}"


def test_spf_passes_an_address_through_include_and_mx(check):
    records = spf_only("v=spf1 include:_spf.mailer.test mx -all",
                       **{"_spf.mailer.test": {"TXT": [f"v=spf1 ip4:{RELAY_IP} -all"]},
                          "mx.contoso.test": {"A": [OTHER_IP]}})
    records[DOMAIN]["MX"] = ["10 mx.contoso.test"]
    report, server = check(records, public_addresses=[RELAY_IP, OTHER_IP])
    assert report.spf["results"] == {RELAY_IP: "pass", OTHER_IP: "pass"}
    assert ("_spf.mailer.test", "TXT") in server.asked


def test_spf_fails_an_address_outside_and_says_what_to_add(check):
    report, _ = check(spf_only(f"v=spf1 ip4:{RELAY_IP} -all"), public_addresses=[OTHER_IP])
    assert report.spf["results"] == {OTHER_IP: "fail"}
    assert f"add ip4:{OTHER_IP}" in report.spf["words"]


def test_spf_is_none_without_a_record(check):
    report, _ = check(spf_only(None), public_addresses=[RELAY_IP])
    assert report.spf["record"] is None and report.spf["results"] == {RELAY_IP: "none"}
    assert report.spf["words"].startswith(f"No SPF record for {DOMAIN}: publish")


def test_a_malformed_spf_record_is_a_permerror_in_words(check):
    report, _ = check(spf_only("v=spf1 ip4:81.2.69.999 -all"), public_addresses=[RELAY_IP])
    assert report.spf["results"] == {RELAY_IP: "permerror"}
    assert "broken" in report.spf["words"] and "permerror" in report.spf["words"]


# --- DKIM and DMARC ----------------------------------------------------------------------------


def dkim_records(p: str | None) -> dict[str, Any]:
    records = base_records()
    if p is not None:
        records[f"s1._domainkey.{DOMAIN}"] = {"TXT": [f"v=DKIM1; k=rsa; p={p}"]}
    return records


def test_the_published_dkim_key_matches_rollcalls_key(check, tmp_path):
    key = pem_key(tmp_path)
    _, p = dkim_public_key(key.read_bytes())
    assert len(p) > 255  # held as several TXT strings, joined back
    report, _ = check(dkim_records(p), dkim_selector="s1", dkim_key_file=str(key))
    assert report.dkim["matches"] is True and report.dkim["selector"] == "s1"
    assert report.dkim["record"] == f"v=DKIM1; k=rsa; p={p}"
    assert "matches Rollcall's signing key" in report.dkim["words"]


def test_a_different_dkim_key_is_a_mismatch_with_the_record_to_publish(check, tmp_path):
    ours, theirs = pem_key(tmp_path), pem_key(tmp_path, "other.pem")
    _, published = dkim_public_key(theirs.read_bytes())
    _, expected = dkim_public_key(ours.read_bytes())
    report, _ = check(dkim_records(published), dkim_selector="s1", dkim_key_file=str(ours))
    assert report.dkim["matches"] is False
    assert expected in report.dkim["words"]


def test_a_missing_dkim_record_says_what_to_publish(check, tmp_path):
    key = pem_key(tmp_path)
    report, _ = check(dkim_records(None), dkim_selector="s1", dkim_key_file=str(key))
    assert report.dkim["record"] is None and report.dkim["matches"] is None
    assert report.dkim["words"].startswith(f"No DKIM key at s1._domainkey.{DOMAIN}: publish "
                                           "v=DKIM1; k=rsa; p=")


def test_an_unreadable_key_file_is_said_not_raised(check, tmp_path):
    for records in (dkim_records("MIIB"), dkim_records(None)):
        report, _ = check(records, dkim_selector="s1", dkim_key_file=str(tmp_path / "none.pem"))
        assert report.dkim["matches"] is None
        assert "cannot read the DKIM key file" in report.dkim["words"]


def test_dmarc_policy_is_read(check):
    report, _ = check()
    assert report.dmarc["policy"] == "reject"
    assert report.dmarc["tags"]["rua"] == "mailto:dmarc@contoso.test"
    assert "p=reject" in report.dmarc["words"]


def test_a_missing_dmarc_record_is_said(check):
    records = base_records()
    del records[f"_dmarc.{DOMAIN}"]
    report, _ = check(records)
    assert report.dmarc["record"] is None and report.dmarc["policy"] is None
    assert report.dmarc["words"].startswith(f"No DMARC record at _dmarc.{DOMAIN}")


# --- what recipients allow, and the JSON -------------------------------------------------------


def test_the_whitelist_names_the_host_its_addresses_and_the_signing_domain(check, tmp_path):
    report, _ = check(dkim_selector="s1", dkim_key_file=str(pem_key(tmp_path)))
    said = " ".join(report.whitelist)
    assert "relay.contoso.test" in said and RELAY_IP in said and RELAY_V6 in said
    assert f"d={DOMAIN}, s=s1" in said
    body = report.to_json()
    assert json.loads(json.dumps(body))["listings"][0]["zone"] in ZONES
    assert body["checked_at"].endswith("+00:00")
