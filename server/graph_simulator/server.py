"""The Graph simulator: one HTTPS server for the OpenID endpoints, Graph (/v1.0, /beta), the
Exchange Online admin API (/adminapi) and its own control routes (control.py); faults and
counters are applied here, in front of the routes."""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from ews_simulator.org import Organisation
from ews_simulator.tls import self_signed

from . import adminapi, batch, control, identity
from .assertions import AssertionTrust
from .directory import Directory
from .exchange import Exchange
from .faults import GraphFaults, describe, parse_faults
from .routes import VERSIONS, Context, kind_of, resource_units, route
from .tokens import EXCHANGE, GRAPH, BadToken, Caller, TokenService
from .transport import serve_https
from .wire import GraphError, Request, Response, error_response

CONTROL = "_simulator"
_HOST = re.compile(r"[A-Za-z0-9.\-]+:[0-9]+|\[[0-9A-Fa-f:.]+\]:[0-9]+")
CHALLENGE = ('Bearer realm="", authorization_uri="{authority}/oauth2/authorize", '
             'client_id="00000003-0000-0000-c000-000000000000"')


class GraphSimulator:
    """Microsoft Graph, Entra ID's token endpoint and Exchange's admin API for one organisation,
    served over HTTPS from a background thread."""

    def __init__(
        self, org: Organisation, *, host: str = "127.0.0.1", port: int = 0,
        cert_dir: Path | None = None, tenant: str = "contoso-tenant",
        client_id: str = "rollcall-graph", client_secret: str = "graph-secret",
        assertion_issuer: str | None = None, assertion_jwks: str | None = None,
        assertion_audiences: tuple[str, ...] | list[str] = (),
        faults: GraphFaults | None = None,
    ) -> None:
        if bool(assertion_issuer) != bool(assertion_jwks):
            raise ValueError("assertion_issuer and assertion_jwks go together: on-behalf-of "
                             "needs the issuer to trust and where its keys are published")
        self.org = org
        self.tenant = tenant
        self.client_id = client_id
        self.client_secret = client_secret
        self.directory = Directory(org)
        self.exchange = Exchange(org)
        self._own_cert_dir = cert_dir is None
        self.cert_dir = Path(tempfile.mkdtemp(prefix="graph-sim-")) if cert_dir is None \
            else Path(cert_dir)
        cert, key = self_signed(self.cert_dir, host)
        self.ca_file = str(cert.resolve())
        try:
            self._server = serve_https(host, port, cert, key, self._http)
        except OSError:
            self._drop_cert_dir()
            raise
        bound_host, bound_port = self._server.server_address[:2]
        bound = bound_host.decode() if isinstance(bound_host, bytes) else str(bound_host)
        self.url = f"https://{'[' + bound + ']' if ':' in bound else bound}:{bound_port}"
        self.authority = f"{self.url}/{tenant}/v2.0"
        # The same server by the other name its certificate covers: Exchange's resource must
        # differ from Graph's, as outlook.office365.com differs from graph.microsoft.com.
        self.exchange_url = f"https://localhost:{bound_port}"
        trust = AssertionTrust(assertion_issuer, assertion_jwks, tuple(
            assertion_audiences)) if assertion_issuer and assertion_jwks else None
        self.tokens = TokenService(self.directory, self.url, tenant, client_id, client_secret,
                                   trust, self.exchange_url)
        self.counters: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._graph_seq = 0
        self._item_seq = 0
        self._expired_up_to = 0
        self.faults = GraphFaults()
        self._set(faults or GraphFaults())
        self._thread: threading.Thread | None = None

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> GraphSimulator:
        self._thread = threading.Thread(target=self.serve_forever, name="graph-simulator",
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.05)  # `stop` need not wait half a second

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() would wait forever for a loop never run
            self._server.shutdown()
            self._thread = None
        self.close()

    def close(self) -> None:
        """Release the port and a temporary certificate folder (after `stop`, or instead)."""
        self._server.server_close()
        self._drop_cert_dir()

    def _drop_cert_dir(self) -> None:
        if self._own_cert_dir:
            shutil.rmtree(self.cert_dir, ignore_errors=True)

    def __enter__(self) -> GraphSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- faults and counters --------------------------------------------------------------------

    def set_faults(self, **changes: Any) -> None:
        """Change some faults while serving (TypeError naming an unknown setting)."""
        self._set(self.faults.with_changes(**changes), bool(changes.get("expire")))

    def apply_faults(self, spec: str) -> str:
        """Replace every fault with what a spec names ("off" for none); the faults now in force
        as a spec. FaultSpecError (a ValueError) names a bad item."""
        faults = parse_faults(spec)
        self._set(faults, faults.expire)
        return describe(self.faults)

    def _set(self, faults: GraphFaults, expire_now: bool = False) -> None:
        """Put faults in force; `expire_now` moves expire's moment to now (it stays where it
        was when other faults change)."""
        with self._lock:
            self.faults = faults
            self._graph_seq = self._item_seq = 0  # "every Nth" counts from now
            if not faults.expire:
                self._expired_up_to = 0
            elif expire_now:
                self._expired_up_to = self.tokens.last_serial

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counters)

    def reset_counters(self) -> None:
        with self._lock:
            self.counters.clear()

    def _count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    def _next(self, attr: str) -> int:
        with self._lock:
            value = getattr(self, attr) + 1
            setattr(self, attr, value)
            return value

    # -- requests -------------------------------------------------------------------------------

    def _http(self, request: Request, client_host: str) -> Response:
        """Answer one request that came over HTTP."""
        faults = self.faults
        if faults.latency:
            time.sleep(faults.latency / 1000)
        segments = request.segments
        try:
            if segments[:1] == [CONTROL]:
                response = control.answer(self, request, segments[1:], client_host)
            elif segments[:1] and segments[0] in VERSIONS:
                response = self._graph(request, segments[0], segments[1:])
            elif segments[:2] == ["adminapi", "v2.0"]:
                response = self._admin(request, segments[2:])
            elif segments[:1] and segments[0].lower() in (self.tenant.lower(),
                                                          self.org.domain.lower()):
                self._count("token" if segments[-1:] == ["token"] else "openid")
                response = identity.answer(self.tokens, request, segments[1:], faults.deny)
            else:
                response = Response(404, b"", "text/plain")
        except GraphError as e:
            response = error_response(e, request)
        response.headers.setdefault("request-id", request.request_id)
        response.headers.setdefault("client-request-id", request.client_request_id)
        return response

    def _caller_or_401(self, request: Request, kind: str) -> Caller:
        try:
            return self.tokens.verify(request.headers.get("authorization"), kind,
                                      self.faults.deny, self._expired_up_to)
        except BadToken as e:
            self._count("_unauthorized")
            raise GraphError(401, "InvalidAuthenticationToken", str(e), {
                "WWW-Authenticate": CHALLENGE.format(authority=self.authority)}) from None

    def _graph(self, request: Request, version: str, path: list[str]) -> Response:
        kind = kind_of(path)
        try:
            return self._graph_answer(request, version, path, kind)
        except GraphError as e:
            # Refused before any route ran (401, 429, 503): no x-ms-resource-unit, and nothing
            # added to `resource_units`, so the counter is the sum of the headers sent.
            return error_response(e, request)

    def _graph_answer(self, request: Request, version: str, path: list[str],
                      kind: str) -> Response:
        caller = self._caller_or_401(request, GRAPH)
        self._count(kind)
        n = self._next("_graph_seq")
        faults = self.faults
        retry = {"Retry-After": str(faults.retry_after)}
        if faults.http503 and n % faults.http503 == 0:
            self._count("_http503")
            raise GraphError(503, "ServiceNotAvailable", "The service is temporarily "
                             "unavailable. Try again later.", retry)
        if faults.throttle and n % faults.throttle == 0:
            self._count("_throttled")
            raise GraphError(429, "TooManyRequests", "Too many requests.", retry)
        if kind == "batch":
            if path != ["$batch"] or request.method != "POST":
                raise GraphError(400, "BadRequest", "$batch takes POST /$batch.")
            answer = batch.run(request, version, lambda r: self._item(r, caller, version))
            # The batch itself costs what any other request does; its items are charged (and
            # carry their headers) on their own.
            units = resource_units(kind, request)
            self._count("resource_units", units)
            answer.headers["x-ms-resource-unit"] = str(units)
            return answer
        return self._serve(request, caller, version, path, kind)

    def _item(self, request: Request, caller: Caller, version: str) -> Response:
        """One $batch item: counted and charged like a request of its own."""
        path = request.segments[1:]
        kind = kind_of(path)
        self._count("batch_items")
        self._count(kind)
        faults = self.faults
        if kind == "batch":
            return error_response(GraphError(400, "BadRequest", "A batch cannot hold a batch."),
                                  request)
        n = self._next("_item_seq")
        if faults.batch_throttle and n % faults.batch_throttle == 0:
            self._count("_throttled")
            err = GraphError(429, "TooManyRequests", "Too many requests.",
                             {"Retry-After": str(faults.retry_after)})
            return error_response(err, request)
        return self._serve(request, caller, version, path, kind)

    def _serve(self, request: Request, caller: Caller, version: str, path: list[str],
               kind: str) -> Response:
        if self.faults.slow_page and request.param("skiptoken"):
            time.sleep(self.faults.slow_page / 1000)
        units = resource_units(kind, request)
        self._count("resource_units", units)
        ctx = Context(self.directory, self.exchange, request, caller, self._base(request),
                      version, path)
        try:
            response = route(ctx)
        except GraphError as e:
            response = error_response(e, request)
        response.headers["x-ms-resource-unit"] = str(units)
        return response

    def _admin(self, request: Request, path: list[str]) -> Response:
        if len(path) != 2 or path[0].lower() not in (self.tenant.lower(),
                                                     self.org.domain.lower()):
            raise GraphError(404, "NotFound", "No such admin API endpoint.")
        caller = self._caller_or_401(request, EXCHANGE)
        self._count("adminapi")
        return adminapi.answer(self.exchange, request, caller, self._base(request), path[0],
                               path[1])

    def _base(self, request: Request) -> str:
        """Links point back at the name the client used (127.0.0.1 or localhost)."""
        host = request.headers.get("host", "")
        return f"https://{host}" if _HOST.fullmatch(host) else self.url
