"""The HTTP side: HTTP/1.1 keep-alive, Basic and Bearer auth, impersonation, faults, counters.

Besides EWS: GET/DELETE /_simulator/counters (requests seen), and from this machine only
GET/PUT/DELETE /_simulator/faults (the faults in force; PUT a spec such as `busy=3,slow` from
faults.py to replace them, DELETE to switch them all off) so a demo can be disturbed while it runs,
and POST /_simulator/mailboxes/ADDRESS/inbox with a raw RFC 5322 message as the body (delivered
to that mailbox's Inbox; 201 with {"id": ItemId, "mailbox": address}) so another process, an SMTP
simulator say, can drop delivery status notifications into a mailbox.

Not Werkzeug: exchangelib reads `Connection: close` on an error answer as "server busy", so a
wrong password must come back on a connection that stays open (see shared notes, "Transport").
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, replace
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

from lxml import etree

from . import folder_ops, mail_ops, operations, soap
from .faults import DEFAULT_SLOW_MS, FaultSpecError, describe, parse_faults
from .mail_store import MailStore
from .oauth import REALM, BearerTrust, BearerVerifier, InvalidBearer, invalid_token
from .operations import Call, GroupMetrics, Handler, M, T
from .org import Faults, Mailbox, Organisation, item_id
from .search import NameIndex
from .soap import SOAP_NS, SoapFault

EWS_PATH = "/EWS/Exchange.asmx"
COUNTERS_PATH = "/_simulator/counters"
FAULTS_PATH = "/_simulator/faults"
MAILBOXES_PATH = "/_simulator/mailboxes/"  # + ADDRESS/inbox: POST a raw message to deliver it
POLL_INTERVAL_S = 0.05  # how soon serving notices `stop`

HANDLERS: dict[str, Handler] = {
    "ConvertId": operations.convert_id,
    "ResolveNames": operations.resolve_names,
    "ExpandDL": operations.expand_dl,
    "GetMailTips": operations.get_mail_tips,
    "GetFolder": folder_ops.get_folder,
    "FindFolder": folder_ops.find_folder,
    "CreateFolder": folder_ops.create_folder,
    "FindItem": mail_ops.find_item,
    "GetItem": mail_ops.get_item,
    "MoveItem": mail_ops.move_item,
}

# Called with (request body, response body, HTTP status) for every SOAP exchange; tests use it
# to validate everything that crossed the wire against Microsoft's schema.
Observer = Callable[[bytes, bytes, int], None]


class Unauthorized(Exception):
    """A request without valid credentials; `challenge` is its WWW-Authenticate value."""

    def __init__(self, challenge: str) -> None:
        super().__init__(challenge)
        self.challenge = challenge


class Simulator:
    """An EWS server for one organisation, started in a background thread."""

    def __init__(
        self,
        org: Organisation,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: tuple[Path, Path] | None = None,
        observer: Observer | None = None,
        bearer: BearerTrust | None = None,
    ) -> None:
        self.org = org
        self.bearer = BearerVerifier(bearer) if bearer else None
        # exchangelib picks Basic from this when guessing; OAuth clients are told their auth type.
        self.challenge = f"Bearer {REALM}, Basic {REALM}" if bearer else f"Basic {REALM}"
        self.faults: Faults = org.faults
        self.slow_ms = DEFAULT_SLOW_MS  # what `slow` in a fault spec means
        self.index = NameIndex(org)
        self.metrics = GroupMetrics(org)
        self.mail = MailStore(org)
        self.observer = observer
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._in_flight: Counter[str] = Counter()
        self._seq = 0
        self._random = random.Random(0)
        self._httpd = _Server((host, port), _Handler)
        self._httpd.sim = self
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"{self.scheme}://{host}:{port}{EWS_PATH}"

    def start(self) -> Simulator:
        self._thread = threading.Thread(
            target=self.serve_forever, name="ews-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        # socketserver looks for shutdown() every poll_interval (0.5 s by default): `stop`
        # would wait that long each time.
        self._httpd.serve_forever(poll_interval=POLL_INTERVAL_S)

    def stop(self) -> None:
        self._httpd.shutdown()
        self.close()

    def close(self) -> None:
        """Release the port (after `stop`, or instead of it when serving never began)."""
        self._httpd.server_close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def set_faults(self, **changes: object) -> None:
        """Change injected faults while serving (tests switch them per case)."""
        self.faults = replace(self.faults, **changes)  # type: ignore[arg-type]

    def apply_faults(self, spec: str) -> str:
        """Replace every fault with what a spec names (faults.py; "off" for none); returns the
        faults now in force, as a spec. Raises FaultSpecError (a ValueError) naming the item."""
        self.faults = replace(Faults(), **parse_faults(spec, self.slow_ms))  # type: ignore[arg-type]
        return describe(self.faults)

    def deliver(self, mailbox: str, raw: bytes, received_at: datetime | None = None) -> str:
        """Deliver a raw RFC 5322 message to a mailbox's Inbox (by primary, proxy or plus
        address); returns its EWS ItemId. KeyError when the address is nobody's mailbox.
        Safe from any thread while serving."""
        owner = self.mail.mailbox_for(mailbox)
        if owner is None:
            raise KeyError(mailbox)
        return item_id(owner, self.mail.deliver(owner, raw, received_at))

    def reset_counters(self) -> None:
        with self._lock:
            self.counters.clear()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    # -- request handling -------------------------------------------------------------------

    def _count(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1

    def authenticate(self, header: str | None) -> Mailbox:
        """The mailbox an Authorization header proves; raises Unauthorized with the challenge."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        if scheme.lower() == "bearer" and self.bearer is not None:
            try:
                found = self.org.find(self.bearer.mailbox(credentials.strip()))
            except InvalidBearer as e:
                raise Unauthorized(invalid_token(str(e))) from None
            # By primary or proxy address: a token's UPN may be either.
            mbx = self.org.mailboxes.get(found.address) if found is not None else None
            if mbx is None:
                raise Unauthorized(invalid_token("the token names no mailbox in this organisation"))
            self._count("_bearer")
            return mbx
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(credentials).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise Unauthorized(self.challenge) from None
            mbx = self.org.mailboxes.get(user.split("\\")[-1].lower())
            if mbx is not None and mbx.password == password:
                return mbx
        raise Unauthorized(self.challenge)

    def next_fault(self) -> str | None:
        """Which injected fault, if any, this request meets ("busy", "503", "drop")."""
        f = self.faults
        with self._lock:
            self._seq += 1
            n = self._seq
        for name, every in (
            ("drop", f.drop_every),
            ("503", f.http503_every),
            ("busy", f.busy_every),
        ):
            if every and n % every == 0:
                return name
        return None

    def delay(self) -> None:
        f = self.faults
        if f.latency_ms or f.jitter_ms:
            with self._lock:
                jitter = self._random.uniform(0, f.jitter_ms)
            time.sleep((f.latency_ms + jitter) / 1000)

    def enter(self, account: str) -> bool:
        """Admit a request under the per-account concurrency limit; False means throttle it."""
        limit = self.faults.max_concurrent
        with self._lock:
            if limit is not None and self._in_flight[account] >= limit:
                return False
            self._in_flight[account] += 1
            return True

    def leave(self, account: str) -> None:
        with self._lock:
            self._in_flight[account] -= 1

    def answer(self, caller: Mailbox, body: bytes) -> tuple[int, bytes]:
        """Status and SOAP envelope for one request body from an authenticated caller."""
        org = self.org
        try:
            root = etree.fromstring(body, parser=_PARSER)
            envelope_body = root.find(f"{{{SOAP_NS}}}Body")
            if envelope_body is None or len(envelope_body) == 0:
                raise SoapFault("ErrorSchemaValidation", "The request has no SOAP body.")
            element = envelope_body[0]
            operation = etree.QName(element).localname
            self._count(operation)
            handler = HANDLERS.get(operation) if element.tag == f"{M}{operation}" else None
            if handler is None:
                raise SoapFault(
                    "ErrorInvalidOperation",
                    f"The simulator does not implement the {operation} operation.",
                )
            acting = self._acting(caller, root.find(f"{{{SOAP_NS}}}Header"))
            call = Call(
                org=org, index=self.index, metrics=self.metrics, acting=acting, element=element,
                mail=self.mail,
            )
            return 200, soap.envelope(handler(call), org.build, org.version_name)
        except etree.XMLSyntaxError as e:
            self._count("_malformed")
            return 500, soap.fault(SoapFault("ErrorSchemaValidation", f"Malformed XML: {e}"))
        except SoapFault as f:
            return 500, soap.fault(f)
        except Exception as e:  # noqa: BLE001 - a bug here must still answer like a server
            self._count("_internal_error")
            return 500, soap.fault(SoapFault("ErrorInternalServerError", f"Internal error: {e!r}"))

    def _acting(self, caller: Mailbox, header: etree._Element | None) -> Mailbox:
        """The mailbox the request acts for: the caller, or whom it impersonates if allowed."""
        sid = None if header is None else header.find(f"{T}ExchangeImpersonation/{T}ConnectingSID")
        if sid is None or len(sid) == 0:
            return caller
        target = (sid[0].text or "").strip().lower()
        if not caller.can_impersonate:
            raise SoapFault(
                "ErrorImpersonateUserDenied",
                "The account does not have permission to impersonate the requested user.",
            )
        mbx = self.org.mailboxes.get(target)
        if mbx is None:
            raise SoapFault(
                "ErrorNonExistentMailbox",
                f"The SMTP address has no mailbox associated with it: {target}",
            )
        return mbx


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    sim: Simulator


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in one write, and no Nagle delay on top (notes: ~40 ms each).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass

    def _send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        content_type: str = "text/xml; charset=utf-8",
    ) -> None:
        lines = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Server: Microsoft-IIS/10.0",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path == COUNTERS_PATH:
            self._json(200, self.server.sim.snapshot())
        elif self.path == FAULTS_PATH and self._local():
            self._faults(None)
        else:
            self._send(404, b"")

    def do_DELETE(self) -> None:  # noqa: N802
        if self.path == COUNTERS_PATH:
            self.server.sim.reset_counters()
            self._send(204, b"")
        elif self.path == FAULTS_PATH and self._local():
            self._faults("off")
        else:
            self._send(404, b"")

    def do_PUT(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == FAULTS_PATH and self._local():
            self._faults(body.decode("utf-8", "replace"))
        else:
            self._send(404, b"")

    def _local(self) -> bool:
        """Faults are switched from this machine only (a simulator may listen more widely)."""
        host = str(self.client_address[0]).removeprefix("::ffff:")
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _faults(self, spec: str | None) -> None:
        sim = self.server.sim
        try:
            now = describe(sim.faults) if spec is None else sim.apply_faults(spec)
        except FaultSpecError as e:
            self._json(400, {"error": str(e)})
            return
        self._json(200, {"faults": now, "settings": asdict(sim.faults)})

    def _json(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode(), content_type="application/json")

    def _deliver(self, path: str, body: bytes) -> None:
        """POST /_simulator/mailboxes/ADDRESS/inbox: the body, a raw message, into that Inbox."""
        address = unquote(path[len(MAILBOXES_PATH):].removesuffix("/inbox"))
        if not body:
            self._json(400, {"error": "the body must be a raw RFC 5322 message"})
            return
        try:
            new_id = self.server.sim.deliver(address, body)
        except KeyError:
            self._json(404, {"error": f"no mailbox has the address {address!r}"})
            return
        owner = self.server.sim.mail.mailbox_for(address)
        self._json(201, {"id": new_id, "mailbox": owner})

    def do_POST(self) -> None:  # noqa: N802
        sim = self.server.sim
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = self.path.split("?")[0]
        if path.startswith(MAILBOXES_PATH) and path.endswith("/inbox") and self._local():
            self._deliver(path, body)
            return
        if path.lower() != EWS_PATH.lower():
            self._send(404, b"")
            return
        try:
            caller = sim.authenticate(self.headers.get("Authorization"))
        except Unauthorized as e:
            sim._count("_unauthorized")
            self._send(401, b"", {"WWW-Authenticate": e.challenge})
            return
        fault = sim.next_fault()
        if fault == "drop":
            sim._count("_dropped")
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "503":
            sim._count("_http503")
            self._send(503, b"", {"Retry-After": str(sim.faults.retry_after_s)})
            return
        if fault == "busy" or not sim.enter(caller.address):
            sim._count("_busy")
            busy = SoapFault(
                "ErrorServerBusy",
                "The server cannot service this request right now. Try again later.",
                back_off_ms=sim.faults.back_off_ms,
            )
            self._reply(sim, body, 500, soap.fault(busy))
            return
        try:
            sim.delay()  # inside the admitted window: a slow answer holds its concurrency slot
            status, answer = sim.answer(caller, body)
        finally:
            sim.leave(caller.address)
        self._reply(sim, body, status, answer)

    def _reply(self, sim: Simulator, request: bytes, status: int, answer: bytes) -> None:
        if sim.observer is not None:
            sim.observer(request, answer, status)
        self._send(status, answer)
