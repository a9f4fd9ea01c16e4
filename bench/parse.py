"""Measurements that need no engine: the simulator's time per answer and the client's parse time.

- `server_answer_time`: `Simulator.answer` (no HTTP) for one ExpandDL of a 2,000-member list,
  with the request exactly as exchangelib sends it, captured on the wire.
- `fetch_and_parse`: every ExpandDL answer of an organisation fetched with plain `requests`
  (untimed), each parsed with lxml and read into Rollcall's entries by Rollcall's own
  `read_expansion` (timed): the client work no EWS client can avoid, the lower bound's parse term.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from xml.sax.saxutils import escape

import requests
from exchangelib.protocol import close_connections
from exchangelib.util import to_xml
from lxml import etree
from requests.utils import iter_slices

from ews_simulator import Simulator, load
from ews_simulator.generate import generate
from rollcall.core.model import Entry, Kind
from rollcall.directory.ews.parse import M, read_expansion

from .baseline import baseline_account

_ENVELOPE = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" '
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">'
    '<s:Header><t:RequestServerVersion Version="Exchange2016"/></s:Header>'
    "<s:Body><m:ExpandDL><m:Mailbox><t:EmailAddress>{}</t:EmailAddress>"
    "<t:RoutingType>SMTP</t:RoutingType><t:MailboxType>PublicDL</t:MailboxType>"
    "</m:Mailbox></m:ExpandDL></s:Body></s:Envelope>"
)  # the bytes exchangelib 5.6.0 sends for protocol.expand_dl (compare server_answer_time)


@dataclass(slots=True)
class AnswerTime:
    members: int
    response_bytes: int
    server_ms: float  # Simulator.answer per call
    iterations: int
    lxml_ms: float  # lxml parse + Rollcall's read_expansion of that answer
    exchangelib_stream_ms: float  # exchangelib's to_xml over Response.iter_content() (1-byte)
    exchangelib_bytes_ms: float  # exchangelib's to_xml given the bytes


def _per_call_ms(fn: object, min_s: float = 1.0, min_n: int = 20) -> tuple[float, int]:
    assert callable(fn)
    fn()  # warm up
    n, started = 0, time.perf_counter()
    while n < min_n or time.perf_counter() - started < min_s:
        fn()
        n += 1
    return (time.perf_counter() - started) / n * 1000, n


def server_answer_time(members: int = 2000, seed: int = 1) -> AnswerTime:
    """Server time of one ExpandDL of a `members`-strong list, and the client's parse of it."""
    doc = generate(members, 1, 1, 1, seed)  # depth 1: all@ holds every person directly
    root = doc["lists"][0]["address"]
    user, password = doc["mailboxes"][0]["address"], doc["mailboxes"][0]["password"]
    wire: list[bytes] = []
    sim = Simulator(load(doc), observer=lambda req, resp, status: wire.append(req)).start()
    try:
        close_connections()
        account = baseline_account(sim.url, user, password)
        got = account.protocol.expand_dl(root)
        assert len(got) == members, f"expected {members} members, exchangelib saw {len(got)}"
        close_connections()
    finally:
        sim.stop()
    request = next(r for r in wire if b"<m:ExpandDL>" in r)
    assert request == _ENVELOPE.format(root).encode(), "exchangelib's ExpandDL request changed"
    caller = sim.org.mailboxes[user]
    status, body = sim.answer(caller, request)
    assert status == 200
    server_ms, n = _per_call_ms(lambda: sim.answer(caller, request))
    entry = Entry("All", root, Kind.PUBLIC_DL)
    lxml_ms, _ = _per_call_ms(lambda: _read(body, entry), min_s=0.3)
    stream_ms, _ = _per_call_ms(lambda: to_xml(iter_slices(body, 1)), min_s=0.5, min_n=5)
    bytes_ms, _ = _per_call_ms(lambda: to_xml(body), min_s=0.3)
    return AnswerTime(members, len(body), server_ms, n, lxml_ms, stream_ms, bytes_ms)


def _read(body: bytes, entry: Entry) -> tuple[Entry, ...]:
    return read_expansion(_message(etree.fromstring(body)), entry).members


def _message(root: etree._Element) -> etree._Element:
    return next(root.iter(f"{M}ExpandDLResponseMessage"))


@dataclass(slots=True)
class ParseTime:
    lists: int
    member_entries: int
    response_bytes: int
    total: int
    parse_s: float  # lxml + read_expansion over all answers, one thread
    lxml_s: float  # of which lxml's parse alone
    fetch_s: float  # the untimed-by-the-bound fetching, for information


def fetch_and_parse(url: str, user: str, password: str, root: str) -> ParseTime:
    """Walk the organisation from `root` with raw ExpandDL requests; time only the parsing."""
    session = requests.Session()
    session.auth = (user, password)
    session.headers["Content-Type"] = "text/xml; charset=utf-8"
    queue, seen = deque([root.lower()]), {root.lower()}
    unique: set[str] = set()
    entries = size = 0
    parse_s = lxml_s = 0.0
    started = time.perf_counter()
    while queue:
        address = queue.popleft()
        answer = session.post(url, data=_ENVELOPE.format(escape(address)).encode())
        answer.raise_for_status()
        body = answer.content
        size += len(body)
        t0 = time.perf_counter()
        tree = etree.fromstring(body)
        t1 = time.perf_counter()
        members = read_expansion(_message(tree), Entry(address, address, Kind.PUBLIC_DL)).members
        t2 = time.perf_counter()
        lxml_s += t1 - t0
        parse_s += t2 - t0
        entries += len(members)
        for member in members:
            key = (member.address or "").lower()
            if member.is_list:
                if key not in seen:
                    seen.add(key)
                    queue.append(key)
            elif key:
                unique.add(key)
    fetch_s = time.perf_counter() - started - parse_s
    session.close()
    return ParseTime(len(seen), entries, size, len(unique), parse_s, lxml_s, fetch_s)
