"""Requests to Microsoft Graph and Exchange's admin API: O365's Connection carries them; paging
(`@odata.nextLink`), `$batch` and the figures a count reports are Rollcall's.

O365's Connection is used with its own retries and delays off (`request_retries=0`,
`requests_delay=0`): its urllib3 retry waits out every Retry-After however long, where a count
must answer by its deadline, so the engine decides (counting/engine.py). Its session is told not
to read REQUESTS_CA_BUNDLE from the environment (which would beat `verify`), so
ROLLCALL_GRAPH_CA_FILE wins. Tokens come from `tokens.py`, per request: one connection serves
every caller, each with their own token.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from rollcall.core.model import DirectoryError

from .errors import graph_error, retry_after, unreachable
from .settings import GraphSettings
from .tokens import TokenSource

log = logging.getLogger(__name__)
# O365 logs every 4xx answer as an error, an empty search's 404 and a 429 included; Rollcall
# logs what each one means (counting/service.py), so O365's lines would only mislead.
logging.getLogger("O365.connection").setLevel(logging.CRITICAL)

BATCH_MAX = 20  # Graph's limit on requests in one $batch
# A throttled request (or $batch item, alone) is asked again after its Retry-After if that is
# this short; a longer wait goes back to the count engine, which knows its deadline (and
# slows the whole count down).
ITEM_RETRY_MAX_S = 2.0
ITEM_RETRIES = 3
MAX_PAGES = 10_000  # a nextLink chain this long is a server bug, not a list


@dataclass(slots=True)
class Figures:
    """What one count cost in Graph: HTTP requests and resource units (x-ms-resource-unit)."""

    requests: int = 0
    resource_units: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, headers: Mapping[str, str], requests_made: int = 1) -> None:
        units = _units(headers)
        with self._lock:
            self.requests += requests_made
            self.resource_units += units


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: a request's or a `$batch` item's."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GraphTransport:
    """One O365 Connection (pool of `connections`) shared by every count; thread-safe."""

    def __init__(self, settings: GraphSettings, connections: int = 8) -> None:
        from O365.connection import Connection  # loaded only when Graph is used
        from O365.utils.token import MemoryTokenBackend

        self.settings = settings
        self.root = settings.url.rstrip("/")
        connection = Connection(
            (settings.client_id or "", settings.client_secret or ""),
            auth_flow_type="credentials", tenant_id=settings.tenant_id or "rollcall",
            token_backend=MemoryTokenBackend(), request_retries=0, requests_delay=0,
            raise_http_errors=False, timeout=settings.timeout_s,  # type: ignore[arg-type]
            verify_ssl=settings.ca_file or True)  # type: ignore[arg-type]
        session = connection.get_naive_session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would beat ROLLCALL_GRAPH_CA_FILE
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=max(connections, 1))
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        connection.naive_session = session
        self.connection = connection

    def call(self, method: str, url: str, token: TokenSource, what: str, figures: Figures, *,
             body: Any = None, headers: Mapping[str, str] | None = None) -> Answer:
        """One request; connection failures raised as DirectoryError, HTTP errors returned.
        A 401 (a token revoked, expired early, or from before a restart) is asked once more
        with a new token."""
        if not url.startswith("https://") and not url.startswith("http://"):
            url = f"{self.root}{url}"
        answer = self._send(method, url, token(False), what, figures, body, headers)
        if answer.status == 401:
            answer = self._send(method, url, token(True), what, figures, body, headers)
        for _ in range(ITEM_RETRIES):
            wait = retry_after(answer.headers)
            if answer.status not in (429, 503) or wait is None or wait > ITEM_RETRY_MAX_S:
                break
            time.sleep(wait)
            answer = self._send(method, url, token(False), what, figures, body, headers)
        return answer

    def _send(self, method: str, url: str, token: str, what: str, figures: Figures,
              body: Any, headers: Mapping[str, str] | None) -> Answer:
        sent = {"Authorization": f"Bearer {token}", **(headers or {})}
        kwargs: dict[str, Any] = {"headers": sent}
        if body is not None:
            kwargs["data"] = body  # O365 writes it as JSON
        try:
            response = self.connection.naive_request(url, method, **kwargs)
        except requests.RequestException as e:
            raise unreachable(what, e) from None
        figures.add(response.headers)
        return Answer(response.status_code, _json(response), response.headers)

    def get_all(self, url: str, token: TokenSource, what: str, figures: Figures,
                headers: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following `@odata.nextLink` to the end."""
        for _ in range(MAX_PAGES):
            answer = self.call("GET", url, token, what, figures, headers=headers)
            if not answer.ok:
                raise graph_error(answer.status, answer.body, answer.headers, what)
            yield from answer.body.get("value", ())
            next_link = answer.body.get("@odata.nextLink")
            if not next_link:
                return
            url = next_link
        raise DirectoryError("failed", f"Microsoft 365 kept paging {what}")

    def batch(self, items: Sequence[tuple[str, str]], token: TokenSource, figures: Figures,
              what: str, version: str = "v1.0",
              headers: Mapping[str, str] | None = None) -> dict[str, Answer]:
        """GETs of relative URLs (id, url) in one `$batch` (up to 20): answers by id, in any
        order as Graph gives them; a failed item is an Answer with its own status. Items
        Graph throttled are asked again on their own after a short Retry-After (Graph does
        not retry inside a batch), so the answers already given are not asked for twice."""
        answers = self._batch_once(items, token, figures, what, version, headers)
        for _ in range(ITEM_RETRIES):
            again = [(i, u) for i, u in items if answers[i].status == 429]
            waits = [retry_after(answers[i].headers) or 0.0 for i, _ in again]
            if not again or max(waits) > ITEM_RETRY_MAX_S:
                break
            time.sleep(max(waits))
            answers.update(self._batch_once(again, token, figures, what, version, headers))
        return answers

    def _batch_once(self, items: Sequence[tuple[str, str]], token: TokenSource,
                    figures: Figures, what: str, version: str,
                    headers: Mapping[str, str] | None) -> dict[str, Answer]:
        if len(items) > BATCH_MAX:
            raise ValueError(f"a $batch holds at most {BATCH_MAX} requests")
        requests_ = [{"id": i, "method": "GET", "url": u, **({"headers": dict(headers)}
                                                              if headers else {})}
                     for i, u in items]
        answer = self.call("POST", f"{self.root}/{version}/$batch", token, what, figures,
                           body={"requests": requests_})
        if not answer.ok:
            raise graph_error(answer.status, answer.body, answer.headers, what)
        answers: dict[str, Answer] = {}
        for item in answer.body.get("responses", ()):
            item_headers = item.get("headers") or {}
            answers[str(item.get("id"))] = Answer(int(item.get("status", 500)),
                                                  item.get("body"), item_headers)
            figures.add(item_headers, requests_made=0)
        missing = [i for i, _ in items if i not in answers]
        if missing:
            raise DirectoryError("failed", f"Microsoft 365 left parts of {what} unanswered",
                                 detail=f"$batch ids {','.join(missing)}")
        return answers


def first_failure(answers: Mapping[str, Answer], what: str) -> DirectoryError | None:
    """The error to raise for a batch with failed items: a throttled item first (the engine
    waits the longest Retry-After and asks again), else the first failure."""
    failed = [a for a in answers.values() if not a.ok]
    throttled = [a for a in failed if a.status in (429, 503)]
    if throttled:
        worst = max(throttled, key=lambda a: retry_after(a.headers) or 0.0)
        return graph_error(worst.status, worst.body, worst.headers, what)
    return graph_error(failed[0].status, failed[0].body, failed[0].headers, what) if failed \
        else None


def _json(response: requests.Response) -> Any:
    if not response.content:
        return {}
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:200]}


def _units(headers: Mapping[str, str]) -> int:
    for name, value in headers.items():
        if name.lower() == "x-ms-resource-unit":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def quoted(value: str) -> str:
    """A string literal for OData's $filter: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"



