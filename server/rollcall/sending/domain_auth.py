"""The sending domain's SPF, DKIM and DMARC records, read through a given resolver and said in
words. Every lookup fails softly: a DNS error becomes words, never an exception.

SPF is evaluated by pyspf (RFC 7208: ip4/ip6/a/mx/include/redirect/exists/all, the ten-lookup
and void-lookup limits). pyspf resolves through a module-level function, `spf.DNSLookup`, the
seam its own tests replace; `_use_resolver` replaces it once per process with one that asks the
resolver set for the current call (a ContextVar), so each check uses the resolver it was given
and dnspython's process-wide default resolver is never changed.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
from collections.abc import Sequence
from typing import Any

import dns.exception
import dns.resolver
import spf
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

# --- lookups shared with dns_checks ------------------------------------------------------------


def describe_error(error: Exception) -> str:
    """A DNS failure in words: timeout, SERVFAIL, REFUSED, unreachable."""
    if isinstance(error, dns.exception.Timeout):
        return "timeout: the DNS server did not answer in time"
    if isinstance(error, dns.resolver.NoNameservers):
        answers = {str(e[3]) for e in error.kwargs.get("errors", ()) if len(e) > 3}
        return "the DNS server answered " + (" or ".join(sorted(answers)) or "nothing usable")
    if isinstance(error, dns.resolver.NoResolverConfiguration):
        return "no DNS server configured: set ROLLCALL_DNS_SERVER"
    if isinstance(error, OSError):
        return f"could not reach the DNS server: {error.strerror or error}"
    return f"DNS error: {error}"


def txt_records(res: dns.resolver.Resolver, name: str) -> tuple[list[str], str | None]:
    """(the TXT records at `name`, each record's strings joined; an error in words or None).
    A name that does not exist, or has no TXT, gives no records and no error."""
    try:
        answer = res.resolve(name, "TXT", raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return [], None
    except (dns.exception.DNSException, OSError) as error:
        return [], describe_error(error)
    return [b"".join(r.strings).decode("utf-8", "replace") for r in answer], None


def parse_tags(record: str) -> dict[str, str]:
    """`v=DKIM1; k=rsa; p=MII...` -> {"v": "DKIM1", "k": "rsa", "p": "MII..."}: names
    lower-cased, whitespace inside values removed (DKIM folds long keys), bad parts left out."""
    tags: dict[str, str] = {}
    for part in record.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if sep and name and name not in tags:
            tags[name] = "".join(value.split())
    return tags


# --- SPF ---------------------------------------------------------------------------------------

_SPF_RESOLVER: contextvars.ContextVar[dns.resolver.Resolver] = contextvars.ContextVar(
    "rollcall_spf_resolver")
_PYSPF_LOOKUP = spf.DNSLookup


def _lookup(name: str, qtype: str, strict: Any = True, timeout: float = 20) -> list[Any]:
    """pyspf's DNSLookup contract, through the resolver of the current check."""
    res = _SPF_RESOLVER.get(None)
    if res is None:  # someone else's pyspf call in this process: leave it as it was
        return list(_PYSPF_LOOKUP(name, qtype, strict, timeout))
    try:
        answer = res.resolve(name, qtype, lifetime=min(timeout, res.lifetime),
                             raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except (dns.exception.DNSException, OSError) as error:
        raise spf.TempError(describe_error(error)) from error
    found: list[Any] = []
    for r in answer:
        if qtype in ("A", "AAAA"):
            found.append(((name, qtype), r.address))
        elif qtype == "MX":
            found.append(((name, qtype), (r.preference, r.exchange)))
        elif qtype == "PTR":
            found.append(((name, qtype), r.target.to_text(True)))
        elif qtype in ("TXT", "SPF"):
            found.append(((name, qtype), r.strings))
    return found


def _use_resolver() -> None:
    if spf.DNSLookup is not _lookup:
        spf.DNSLookup = _lookup


def spf_result(res: dns.resolver.Resolver, domain: str, host: str, address: str) -> tuple[str, str]:
    """(pass|fail|softfail|neutral|none|permerror|temperror, pyspf's explanation)."""
    _use_resolver()
    token = _SPF_RESOLVER.set(res)
    try:
        query = spf.query(i=address, s=f"postmaster@{domain}", h=host,
                          timeout=res.lifetime, querytime=20)  # RFC 7208 4.6.4: 20 s in all
        result, _code, explanation = query.check()
    except Exception as error:  # pyspf raises on input it cannot parse: say so, never raise
        return "permerror", str(error)
    finally:
        _SPF_RESOLVER.reset(token)
    return str(result), str(explanation)


def check_spf(res: dns.resolver.Resolver, domain: str, host: str,
              addresses: Sequence[str]) -> dict[str, Any]:
    """{"record", "results": {address: result}, "words"} for the relay's public addresses."""
    records, error = txt_records(res, domain)
    spf_records = [r for r in records if r.lower() == "v=spf1" or r.lower().startswith("v=spf1 ")]
    record = " | ".join(spf_records) or None
    results: dict[str, str] = {}
    why: dict[str, str] = {}
    for address in addresses:
        results[address], why[address] = spf_result(res, domain, host, address)
    return {"record": record, "results": results,
            "words": spf_words(domain, record, error, results, why)}


def spf_words(domain: str, record: str | None, error: str | None, results: dict[str, str],
              why: dict[str, str]) -> str:
    """The SPF state in words, with what to change."""
    if error and not results:
        return f"Could not read SPF for {domain}: {error}"
    if not results:
        found = f"SPF for {domain}: {record}" if record else f"No SPF record for {domain}"
        return (f"{found}. Not checked against the relay: it has no public address "
                "(set ROLLCALL_RELAY_PUBLIC_IPS)")
    if record is None and set(results.values()) <= {"none"}:
        return (f"No SPF record for {domain}: publish one that allows the relay, e.g. "
                f"v=spf1 {' '.join(_mechanism(a) for a in results)} -all")
    allowed = [a for a, result in results.items() if result == "pass"]
    said = [f"allows {', '.join(allowed)}"] if allowed else []
    for address, result in results.items():
        if result == "permerror":
            said.append(f"is broken for {address} (permerror: {why[address]})")
        elif result == "temperror":
            said.append(f"could not be checked for {address} (temperror: {why[address]})")
        elif result != "pass":
            said.append(f"does not allow {address} ({result}): add {_mechanism(address)}")
    return f"SPF for {domain} " + "; ".join(said)


def _mechanism(address: str) -> str:
    return f"ip6:{address}" if ":" in address else f"ip4:{address}"


# --- DKIM --------------------------------------------------------------------------------------


def dkim_public_key(pem: bytes) -> tuple[str, str]:
    """(k=, p=) a DKIM record must publish for this PEM private key: RSA as base64 of the
    SubjectPublicKeyInfo DER (RFC 6376), Ed25519 as base64 of the raw key (RFC 8463)."""
    key = serialization.load_pem_private_key(pem, password=None)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        return "ed25519", base64.b64encode(raw).decode()
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("DKIM keys are RSA or Ed25519")
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    return "rsa", base64.b64encode(der).decode()


def dkim_keys_match(published: str, expected: str) -> bool:
    """Whether a record's p= is the expected key: the same base64 ignoring whitespace, or an
    RSA key with the same numbers (some publish PKCS#1 rather than SubjectPublicKeyInfo)."""
    published, expected = "".join(published.split()), "".join(expected.split())
    if published == expected:
        return True
    try:
        theirs = serialization.load_der_public_key(base64.b64decode(published))
        ours = serialization.load_der_public_key(base64.b64decode(expected))
    except (ValueError, binascii.Error, TypeError):
        return False
    if isinstance(theirs, rsa.RSAPublicKey) and isinstance(ours, rsa.RSAPublicKey):
        return theirs.public_numbers() == ours.public_numbers()
    return False


def check_dkim(res: dns.resolver.Resolver, domain: str, selector: str | None,
               key_file: str | None) -> dict[str, Any]:
    """{"selector", "name", "record", "matches", "expected", "words"}: whether the key at
    selector._domainkey.domain is the one Rollcall signs with."""
    out: dict[str, Any] = {"selector": selector, "name": None, "record": None, "matches": None,
                           "expected": None, "words": ""}
    if not selector:
        out["words"] = "Rollcall does not sign with DKIM (no ROLLCALL_DKIM_SELECTOR)"
        return out
    name = out["name"] = f"{selector}._domainkey.{domain}"
    expected: str | None = None
    problem = None
    if key_file:
        try:
            with open(key_file, "rb") as f:
                k, p = dkim_public_key(f.read())
            expected = p
            out["expected"] = f"v=DKIM1; k={k}; p={p}"
        except (OSError, ValueError, TypeError) as error:
            problem = f"cannot read the DKIM key file {key_file}: {error}"
    records, lookup_error = txt_records(res, name)
    keys = [r for r in records if "p" in parse_tags(r)]
    _dkim_words(out, name, keys, lookup_error, expected, problem)
    if problem and problem not in out["words"]:
        out["words"] += f"; {problem}"
    return out


def _dkim_words(out: dict[str, Any], name: str, keys: list[str], lookup_error: str | None,
                expected: str | None, problem: str | None) -> None:
    if lookup_error:
        out["words"] = f"Could not read the DKIM key at {name}: {lookup_error}"
        return
    if not keys:
        publish = f": publish {out['expected']}" if expected else ""
        out["words"] = f"No DKIM key at {name}{publish}"
        return
    out["record"] = keys[0]
    published = parse_tags(keys[0])["p"]
    if len(keys) > 1:
        if expected:
            out["matches"] = any(dkim_keys_match(parse_tags(k)["p"], expected) for k in keys)
        out["words"] = (f"{len(keys)} DKIM records at {name}: receivers may use any one; keep "
                        "only Rollcall's")
    elif not published:
        out["words"] = f"The DKIM key at {name} is revoked (empty p=)"
        out["matches"] = False if expected else None
    elif expected is None:
        out["words"] = (f"A DKIM key is published at {name}; not compared: "
                        + (problem or "no ROLLCALL_DKIM_KEY_FILE"))
    elif dkim_keys_match(published, expected):
        out["matches"] = True
        out["words"] = f"The DKIM key at {name} matches Rollcall's signing key"
    else:
        out["matches"] = False
        out["words"] = (f"The DKIM key at {name} is not Rollcall's signing key: signatures "
                        f"will fail; publish {out['expected']}")


# --- DMARC -------------------------------------------------------------------------------------

POLICIES = {"none": "monitoring only", "quarantine": "failing mail goes to junk",
            "reject": "failing mail is refused"}


def dmarc_words(domain: str, records: Sequence[str]) -> tuple[str | None, dict[str, str], str]:
    """(policy, tags, words) for the DMARC records found at _dmarc.domain."""
    where = f"_dmarc.{domain}"
    if not records:
        return None, {}, f"No DMARC record at {where}: receivers apply their own policy"
    if len(records) > 1:
        return None, {}, f"{len(records)} DMARC records at {where}: receivers ignore them all"
    tags = parse_tags(records[0])
    policy = tags.get("p", "").lower()
    if policy not in POLICIES:
        return None, tags, f"The DMARC record at {where} has no valid p= tag: receivers ignore it"
    said = [f"DMARC for {domain}: p={policy} ({POLICIES[policy]})"]
    if "pct" in tags and tags["pct"] != "100":
        said.append(f"applied to {tags['pct']}% of mail")
    if "sp" in tags:
        said.append(f"subdomains p={tags['sp']}")
    if "rua" in tags:
        said.append(f"reports to {tags['rua']}")
    if policy != "none":
        said.append("mail passes only when SPF allows the relay or a DKIM signature for "
                    f"{domain} verifies")
    return policy, tags, "; ".join(said)


def check_dmarc(res: dns.resolver.Resolver, domain: str) -> dict[str, Any]:
    """{"record", "policy", "tags", "words"} from the TXT at _dmarc.domain."""
    records, error = txt_records(res, f"_dmarc.{domain}")
    if error:
        return {"record": None, "policy": None, "tags": {},
                "words": f"Could not read DMARC for {domain}: {error}"}
    found = [r for r in records if _is_dmarc(r)]
    policy, tags, words = dmarc_words(domain, found)
    return {"record": " | ".join(found) or None, "policy": policy, "tags": tags, "words": words}


def _is_dmarc(record: str) -> bool:
    return "".join(record.split()).lower().startswith("v=dmarc1")

