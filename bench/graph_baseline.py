"""The Graph baseline: what a careful script does with msal and requests, one request at a time.

Client credentials from msal (its OpenID discovery and token calls over the same session), the
root list found by `/groups?$filter=mail eq '...'`, then every list's
`/groups/{id}/members?$select=id,mail&$top=999` walked one request at a time, following
`@odata.nextLink`, with a visited set of lists (loops and lists reached twice cost nothing) and
a set of unique addresses. A 429 or 503 waits its Retry-After. The session does not read
REQUESTS_CA_BUNDLE from the environment (trust_env off), so the simulator's CA is the one used.

Also here: the parse term of Graph's lower bound, Rollcall's own reading of every members page
(json + parse.entry_of), timed over the pages fetched raw beforehand.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

GROUP = "#microsoft.graph.group"
PAGE = 999
TRIES = 5
READS = 3  # times the parse term is measured; the fastest is kept


@dataclass(slots=True)
class GraphBaseline:
    total: int
    lists: int
    member_entries: int
    requests: int  # HTTP requests of the walk (token excluded)
    resource_units: int  # x-ms-resource-unit summed
    seconds: float
    group_ids: list[str] = field(default_factory=list)  # every list walked, root first


def session_for(ca_file: str) -> requests.Session:
    http = requests.Session()
    http.trust_env = False  # REQUESTS_CA_BUNDLE would beat `verify` otherwise
    http.verify = ca_file
    return http


def app_token(sim: Any, http: requests.Session) -> str:
    """A Graph token for the app (client credentials) from the simulator's authority."""
    import msal

    app = msal.ConfidentialClientApplication(
        sim.client_id, client_credential=sim.client_secret, oidc_authority=sim.authority,
        http_client=http)
    answer = app.acquire_token_for_client(scopes=[f"{sim.url}/.default"])
    if "access_token" not in answer:
        raise RuntimeError(f"no token: {answer.get('error')}: {answer.get('error_description')}")
    return str(answer["access_token"])


class _Graph:
    """GETs with a bearer, Retry-After honoured, requests and resource units added up."""

    def __init__(self, http: requests.Session, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}"}
        self.requests = 0
        self.units = 0

    def get(self, url: str, params: dict[str, str] | None = None) -> requests.Response:
        for _ in range(TRIES):
            response = self.http.get(url, params=params, headers=self.headers, timeout=30)
            self.requests += 1
            self.units += int(response.headers.get("x-ms-resource-unit") or 0)
            if response.status_code in (429, 503) and response.headers.get("Retry-After"):
                time.sleep(float(response.headers["Retry-After"]))
                continue
            response.raise_for_status()
            return response
        raise RuntimeError(f"{url}: still throttled after {TRIES} tries")


def count_unique(sim: Any, http: requests.Session, token: str, root: str,
                 progress: Callable[[int], None] | None = None) -> GraphBaseline:
    """Unique mail addresses under the list `root`; raises on any Graph error."""
    graph = _Graph(http, token)
    started = time.perf_counter()
    found = graph.get(f"{sim.url}/v1.0/groups",
                      {"$filter": f"mail eq '{root}'", "$select": "id,mail"}).json()["value"]
    if len(found) != 1:
        raise RuntimeError(f"{root}: {len(found)} groups have this mail")
    visited: set[str] = {found[0]["id"]}
    order = [found[0]["id"]]
    stack = [found[0]["id"]]
    unique: set[str] = set()
    entries = 0
    while stack:
        group = stack.pop()
        url: str | None = f"{sim.url}/v1.0/groups/{group}/members"
        params: dict[str, str] | None = {"$select": "id,mail", "$top": str(PAGE)}
        while url:
            body = graph.get(url, params).json()
            for member in body["value"]:
                entries += 1
                if member.get("@odata.type") == GROUP:
                    if member["id"] not in visited:
                        visited.add(member["id"])
                        order.append(member["id"])
                        stack.append(member["id"])
                elif member.get("mail"):
                    unique.add(member["mail"].lower())
            url, params = body.get("@odata.nextLink"), None  # the link carries the query
        if progress is not None:
            progress(len(order) - len(stack))
    return GraphBaseline(len(unique), len(visited), entries, graph.requests, graph.units,
                         time.perf_counter() - started, order)


@dataclass(slots=True)
class GraphParse:
    pages: int
    member_entries: int
    response_bytes: int
    json_s: float  # json.loads alone
    parse_s: float  # json.loads + Rollcall's reading of every member (parse.entry_of)
    fetch_s: float  # fetching them raw (not counted)


def fetch_and_parse(sim: Any, http: requests.Session, token: str,
                    group_ids: list[str]) -> GraphParse:
    """Every list's members pages as Rollcall asks for them (its $select), fetched raw, then
    read on one thread as Rollcall's adapter reads them (the fastest of READS): the bound's
    parse term."""
    from rollcall.directory.graph.parse import SELECT, entry_of, is_limited

    graph = _Graph(http, token)
    started = time.perf_counter()
    bodies: list[bytes] = []
    for group in group_ids:
        url: str | None = f"{sim.url}/v1.0/groups/{group}/members"
        params: dict[str, str] | None = {"$select": SELECT, "$top": str(PAGE)}
        while url:
            content = graph.get(url, params).content
            bodies.append(content)
            url, params = json.loads(content).get("@odata.nextLink"), None
    fetch_s = time.perf_counter() - started
    json_s = parse_s = float("inf")
    entries = 0
    for _ in range(READS):  # the fastest of a few: other work on the machine only adds time
        started = time.perf_counter()
        for content in bodies:
            json.loads(content)
        json_s = min(json_s, time.perf_counter() - started)
        started = time.perf_counter()
        entries = 0
        for content in bodies:
            for obj in json.loads(content).get("value", ()):
                entries += 1
                is_limited(obj)
                entry_of(obj)
        parse_s = min(parse_s, time.perf_counter() - started)
    return GraphParse(len(bodies), entries, sum(map(len, bodies)), json_s, parse_s, fetch_s)
