"""Relay health over DNS: is the relay's public address on a blacklist (DNSBL), does the sending
domain's SPF allow it, is the DKIM key published the one Rollcall signs with, what does DMARC ask
of receivers, and what recipients' IT teams should allow.

`check_relay_dns` never raises: a failed lookup is a Listing with listed=None and an error, or
words in the report. Query names, tag parsing and wording are pure functions, tested alone.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import dns.exception
import dns.resolver

from .domain_auth import check_dkim, check_dmarc, check_spf, describe_error, txt_records

LISTED = ipaddress.ip_network("127.0.0.0/8")
# Spamhaus answers 127.255.255.x when it refuses to answer (a public or unregistered resolver,
# over the query limit): an error about the query, not a listing of the address.
REFUSED = ipaddress.ip_network("127.255.255.0/24")
log = logging.getLogger(__name__)


def resolver(server: str | None = None, timeout_s: float = 3.0) -> dns.resolver.Resolver:
    """A resolver asking `server` ("host", "host:port", "[v6]:port"; ROLLCALL_DNS_SERVER) or,
    for None, the system's; raises ValueError, naming the setting, when it is no address."""
    if server is None:
        try:
            res = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:  # no resolv.conf: every lookup says so
            res = dns.resolver.Resolver(configure=False)
    else:
        host, port = _host_port(server)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = _addresses_of(host, port, server)
        res.port = port
    res.timeout = timeout_s  # per attempt
    res.lifetime = timeout_s  # per lookup, retries included
    return res


def _host_port(server: str) -> tuple[str, int]:
    text = server.strip()
    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"ROLLCALL_DNS_SERVER={server!r} is not host, host:port or [v6]:port")
    return host, int(port)


def _addresses_of(host: str, port: int, server: str) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as error:
        raise ValueError(f"ROLLCALL_DNS_SERVER={server!r}: {host} does not resolve "
                         f"({error})") from error
    return sorted({str(info[4][0]) for info in found})


@dataclass(frozen=True, slots=True)
class Listing:
    """One address on one blacklist; listed None when the lookup failed (error says why)."""

    zone: str
    address: str
    listed: bool | None
    answer: str | None  # the blacklist's A answer, e.g. "127.0.0.2"
    reason: str | None  # its TXT, often a link explaining the listing
    error: str | None


@dataclass(frozen=True, slots=True)
class RelayDnsReport:
    relay: str
    host: str
    addresses: tuple[str, ...]  # what the relay's host resolves to, or the public ones given
    public: bool  # False when every address is private or loopback: nothing to look up
    listings: tuple[Listing, ...]
    domain: str
    spf: dict[str, Any]  # record, results {address: result}, words
    dkim: dict[str, Any]  # selector, name, record, matches, expected, words
    dmarc: dict[str, Any]  # record, policy, tags, words
    whitelist: tuple[str, ...]  # sentences for recipients' IT teams
    verdict: str  # the blacklists in one sentence
    checked_at: datetime

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["addresses"] = list(self.addresses)
        out["listings"] = [asdict(listing) for listing in self.listings]
        out["whitelist"] = list(self.whitelist)
        out["checked_at"] = self.checked_at.isoformat()
        return out


# --- pure helpers ------------------------------------------------------------------------------


def dnsbl_name(address: str, zone: str) -> str:
    """The name to look up: 192.0.2.1 -> 1.2.0.192.zone; IPv6 as reversed nibbles."""
    ip = ipaddress.ip_address(address)
    if ip.version == 4:
        labels = str(ip).split(".")[::-1]
    else:
        labels = list(ip.exploded.replace(":", ""))[::-1]
    return ".".join(labels) + "." + zone.strip().rstrip(".")


def classify(answers: Sequence[str]) -> tuple[bool | None, str | None]:
    """(listed, error) for a blacklist's A answers; no answers means not listed."""
    if not answers:
        return False, None
    ips = [ipaddress.ip_address(a) for a in answers]
    if any(ip in REFUSED for ip in ips if ip.version == 4):
        return None, (f"the blacklist refused the query ({', '.join(answers)}): use your own "
                      "resolver (ROLLCALL_DNS_SERVER), not a public one")
    if all(ip.version == 4 and ip in LISTED for ip in ips):
        return True, None
    return None, (f"unexpected answer {', '.join(answers)}: the resolver may rewrite missing "
                  "names; use your own resolver (ROLLCALL_DNS_SERVER)")


def is_public(address: str) -> bool:
    """Whether a blacklist could list it: not private, loopback, link-local or reserved."""
    return ipaddress.ip_address(address).is_global


def verdict(host: str, addresses: Sequence[str], zones: Sequence[str],
            listings: Sequence[Listing], host_error: str | None = None) -> str:
    """The blacklist check in one plain sentence."""
    if not addresses:
        return f"Not checked: {host} does not resolve ({host_error or 'no address'})"
    if not any(is_public(a) for a in addresses):
        return (f"Not checked: {_list(addresses)} {_is(addresses)} private, and blacklists list "
                "only public addresses: set ROLLCALL_RELAY_PUBLIC_IPS to the address mail leaves "
                "from")
    if not zones:
        return "Not checked: no blacklists configured (ROLLCALL_DNSBL_ZONES)"
    n = len(zones)
    listed = [z for z in zones if any(x.zone == z and x.listed for x in listings)]
    failed = [z for z in zones if z not in listed
              and any(x.zone == z and x.listed is None for x in listings)]
    said_failed = "; ".join(f"{z} ({_first_error(z, listings)})" for z in failed)
    if listed:
        said = "; ".join(_said_listed(z, listings) for z in listed)
        sentence = f"Listed on {len(listed)} of {n} {_blacklists(n)}: {said}"
        return sentence + (f". Could not check {said_failed}" if failed else "")
    if failed and len(failed) == n:
        return f"Could not check the {_blacklists(n)}: {said_failed}"
    if failed:
        return (f"Not listed on {n - len(failed)} of the {n} {_blacklists(n)} checked; "
                f"could not check {said_failed}")
    if n == 1:
        return f"Not listed on the one blacklist checked ({zones[0]})"
    return f"Not listed on any of the {n} blacklists checked"


def _said_listed(zone: str, listings: Sequence[Listing]) -> str:
    found = [x for x in listings if x.zone == zone and x.listed]
    return zone + " (" + "; ".join(
        f"{x.address}: {x.answer}" + (f", {x.reason}" if x.reason else "") for x in found) + ")"


def _first_error(zone: str, listings: Sequence[Listing]) -> str:
    return next((x.error or "no answer") for x in listings if x.zone == zone and x.listed is None)


def _blacklists(n: int) -> str:
    return "blacklist" if n == 1 else "blacklists"


def _list(addresses: Sequence[str]) -> str:
    return ", ".join(addresses)


def _is(addresses: Sequence[str]) -> str:
    return "is" if len(addresses) == 1 else "are"


def whitelist(host: str, addresses: Sequence[str], domain: str, dkim_selector: str | None,
              dkim_domain: str) -> tuple[str, ...]:
    """What recipients' IT teams should allow, one sentence each."""
    said = []
    if not _is_ip(host):
        said.append(f"Mail from Rollcall comes through the relay {host}: allow that host name.")
    public = [a for a in addresses if is_public(a)]
    if public:
        s = "es" if len(public) > 1 else ""
        said.append(f"Allow the relay's public address{s} {_list(public)} in your connection "
                    "filter (the IP allow list), not only in the spam filter.")
    elif addresses:
        said.append(f"The relay's address{'es' if len(addresses) > 1 else ''} "
                    f"{_list(addresses)} {_is(addresses)} private: tell recipients the public "
                    "address mail leaves from (ROLLCALL_RELAY_PUBLIC_IPS).")
    said.append(f"Allow the sending domain {domain} only when the message passes SPF or DKIM "
                "(DMARC), never by the From address alone.")
    if dkim_selector:
        said.append(f"Messages are DKIM-signed with d={dkim_domain}, s={dkim_selector} (key at "
                    f"{dkim_selector}._domainkey.{dkim_domain}).")
    return tuple(said)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# --- lookups -----------------------------------------------------------------------------------


def resolve_host(res: dns.resolver.Resolver, host: str) -> tuple[tuple[str, ...], str | None]:
    """(the host's addresses, A then AAAA; an error in words when it has none)."""
    if _is_ip(host):
        return (str(ipaddress.ip_address(host)),), None
    if host.lower().rstrip(".") == "localhost":  # /etc/hosts, never DNS
        return ("127.0.0.1",), None
    found: list[str] = []
    errors: list[str] = []
    for qtype in ("A", "AAAA"):
        try:
            found += [r.address for r in res.resolve(host, qtype, raise_on_no_answer=False)]
        except dns.resolver.NXDOMAIN:
            return (), "no such name: NXDOMAIN"
        except (dns.exception.DNSException, OSError) as error:
            errors.append(describe_error(error))
    if found:
        return tuple(found), None
    return (), "; ".join(dict.fromkeys(errors)) or "it has no A or AAAA record"


def lookup_listing(res: dns.resolver.Resolver, address: str, zone: str) -> Listing:
    """Whether `zone` lists `address`, with its TXT reason when it does."""
    name = dnsbl_name(address, zone)
    try:
        answer = res.resolve(name, "A", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return Listing(zone, address, False, None, None, None)
    except (dns.exception.DNSException, OSError) as error:
        return Listing(zone, address, None, None, None, describe_error(error))
    answers = [r.address for r in answer]
    listed, odd = classify(answers)
    reason = None
    if listed:
        reasons, _ = txt_records(res, name)
        reason = " / ".join(reasons) or None
    return Listing(zone, address, listed, ", ".join(answers) or None, reason, odd)


def check_relay_dns(relay: str, host: str, *, zones: Sequence[str], domain: str,
                    dkim_selector: str | None, dkim_key_file: str | None,
                    public_addresses: Sequence[str] = (), res: dns.resolver.Resolver,
                    dkim_domain: str | None = None) -> RelayDnsReport:
    """The relay's DNS health; never raises: failures are words in the report."""
    zones = [z.strip().rstrip(".") for z in zones if z.strip()]
    given = [a.strip() for a in public_addresses if a.strip()]
    bad = [a for a in given if not _is_ip(a)]
    host_error = None
    if given:
        addresses = tuple(str(ipaddress.ip_address(a)) for a in given if _is_ip(a))
    else:
        addresses, host_error = resolve_host(res, host)
    checked = [a for a in addresses if is_public(a)]
    dkim_domain = dkim_domain or domain
    with ThreadPoolExecutor(max_workers=max(1, min(16, 3 + len(zones) * len(checked)))) as pool:
        listing_jobs = [pool.submit(lookup_listing, res, a, z) for z in zones for a in checked]
        spf = pool.submit(check_spf, res, domain, host, checked)
        dkim = pool.submit(check_dkim, res, dkim_domain, dkim_selector, dkim_key_file)
        dmarc = pool.submit(check_dmarc, res, domain)
        listings = tuple(job.result() for job in listing_jobs)
    said = verdict(host, addresses, zones, listings, host_error)
    if bad:
        said = f"ROLLCALL_RELAY_PUBLIC_IPS has {', '.join(bad)}, not an IP address. {said}"
    return RelayDnsReport(
        relay=relay, host=host, addresses=addresses, public=bool(checked), listings=listings,
        domain=domain, spf=_words_on_failure(spf, "SPF"), dkim=_words_on_failure(dkim, "DKIM"),
        dmarc=_words_on_failure(dmarc, "DMARC"),
        whitelist=whitelist(host, addresses, domain, dkim_selector, dkim_domain),
        verdict=said, checked_at=datetime.now(UTC))


def _words_on_failure(job: Future[dict[str, Any]], what: str) -> dict[str, Any]:
    """The check's answer; a defect in it becomes words, as the caller is promised no raise."""
    try:
        return job.result()
    except Exception as error:
        log.exception("relay DNS check: the %s check failed", what)
        return {"record": None, "words": f"The {what} check failed: {error}"}
