"""A local DNS server for tests: dnslib's DNSServer on 127.0.0.1, UDP and TCP on one free port,
answering from a dict and recording every question it was asked.

    records = {
        "relay.example.test": {"A": ["81.2.69.160"], "AAAA": ["2a02:898::10"]},
        "example.test": {"TXT": ["v=spf1 ip4:81.2.69.160 -all"], "MX": ["10 mx.example.test"]},
        "160.69.2.81.bl.example": {"A": ["127.0.0.2"], "TXT": ["Listed: see bl.example"]},
        "*.dead.example": "SERVFAIL",   # an rcode for every name under dead.example
        "*.slow.example": "DROP",       # never answered: the client times out
    }
    with LocalDnsServer(records) as dns:
        res = rollcall.sending.dns_checks.resolver(dns.address)

A name that is absent answers NXDOMAIN; a name present without the asked type answers NOERROR
with no answer. A TXT value is one record: a str (cut into 255-byte strings, as DNS requires) or
a list of str (the record's strings as given). A key "*.zone" matches every name under zone that
has no entry of its own, as a DNS wildcard does.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSError, DNSRecord
from dnslib.server import DNSServer

Records = Mapping[str, "Mapping[str, Sequence[str | Sequence[str]]] | str"]
TTL = 60
RCODES = {"NXDOMAIN": RCODE.NXDOMAIN, "SERVFAIL": RCODE.SERVFAIL, "REFUSED": RCODE.REFUSED}


class _Quiet:
    """dnslib's DNSLogger prints every packet; the tests want silence."""

    def __getattr__(self, name: str) -> Any:
        return lambda *args: None


class _Resolver:
    def __init__(self, records: Records, asked: list[tuple[str, str]]) -> None:
        self.records = {_norm(name): value for name, value in records.items()}
        self.asked = asked
        self.lock = threading.Lock()

    def find(self, name: str) -> Mapping[str, Sequence[str | Sequence[str]]] | str | None:
        if name in self.records:
            return self.records[name]
        labels = name.split(".")
        for i in range(1, len(labels)):
            wildcard = "*." + ".".join(labels[i:])
            if wildcard in self.records:
                return self.records[wildcard]
        return None

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        name = _norm(str(request.q.qname))
        qtype = QTYPE[request.q.qtype]
        with self.lock:
            self.asked.append((name, qtype))
        reply = request.reply()
        entry = self.find(name)
        if entry is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif isinstance(entry, str):
            if entry == "DROP":
                raise DNSError("dropped on purpose")  # dnslib logs it and sends nothing
            reply.header.rcode = RCODES[entry]
        else:
            for value in entry.get(qtype, ()):
                reply.add_answer(RR(request.q.qname, QTYPE.reverse[qtype], ttl=TTL,
                                    rdata=_rdata(qtype, value)))
        return reply


def _norm(name: str) -> str:
    return name.rstrip(".").lower()


def _rdata(qtype: str, value: str | Sequence[str]) -> Any:
    if qtype == "TXT":
        if isinstance(value, str):
            raw = value.encode()
            return TXT([raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""])
        return TXT([part.encode() for part in value])
    assert isinstance(value, str), f"{qtype} takes a str, not {value!r}"
    if qtype == "A":
        return A(value)
    if qtype == "AAAA":
        return AAAA(value)
    if qtype == "MX":
        preference, exchange = value.split()
        return MX(exchange, int(preference))
    if qtype == "CNAME":
        return CNAME(value)
    raise ValueError(f"the test DNS server does not serve {qtype} records")


class LocalDnsServer:
    """The records on 127.0.0.1:`port`, over UDP and TCP, until stop()."""

    def __init__(self, records: Records) -> None:
        self.asked: list[tuple[str, str]] = []  # (name, type) of every question, in order
        self._resolver = _Resolver(records, self.asked)
        self._servers: list[DNSServer] = []
        self.port = 0

    @property
    def address(self) -> str:
        """host:port, the form ROLLCALL_DNS_SERVER takes."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> LocalDnsServer:
        for _ in range(20):  # the free UDP port may be taken for TCP: pick again
            udp = DNSServer(self._resolver, address="127.0.0.1", port=0, logger=_Quiet())
            port = udp.server.server_address[1]
            try:
                tcp = DNSServer(self._resolver, address="127.0.0.1", port=port, tcp=True,
                                logger=_Quiet())
            except OSError:
                udp.server.server_close()
                continue
            self._servers = [udp, tcp]
            self.port = port
            for server in self._servers:
                # dnslib's start_thread polls for shutdown every 0.5 s: stop() would wait that.
                threading.Thread(target=server.server.serve_forever, kwargs={"poll_interval": 0.02},
                                 daemon=True).start()
            return self
        raise OSError("no port free for both UDP and TCP on 127.0.0.1")

    def stop(self) -> None:
        for server in self._servers:
            server.server.shutdown()
            server.server.server_close()
        self._servers = []

    def names_asked(self) -> list[str]:
        return [name for name, _ in self.asked]

    def __enter__(self) -> LocalDnsServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


def silent_udp_port() -> tuple[socket.socket, str]:
    """A bound UDP socket that reads nothing and answers nothing (a DNS server that is down
    behind a firewall), and its host:port; close the socket when done."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"127.0.0.1:{sock.getsockname()[1]}"
