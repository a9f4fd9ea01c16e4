"""The load test's client: Debian's wrk, one process per route, started together.

wrk keeps one latency histogram per process, so each route gets its own wrk (one thread, its
share of the connections) and its own exact p50/p95/p99; they start within milliseconds of each
other and run for the same time, which makes the set one mixed load on the server. The bodies
are the demo organisation's lists and people; the tokens are the development issuer's, minted
beforehand for many senders, so no request asks the issuer anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib import request as urlrequest
from urllib.error import HTTPError

LUA = Path(__file__).with_name("load_wrk.lua")
WRK = "/usr/bin/wrk"
PATHS = {"validate": "/api/validate", "warmup": "/api/validate/warmup", "count": "/api/count"}
# Who a simulated sender writes to: one to four entries of the demo organisation each.
RECIPIENT_SETS = (
    ("allstaff@contoso.com",),
    ("managers@contoso.com", "leadership@contoso.com"),
    ("team-product-web@contoso.com", "dept-sales@contoso.com", "alex@contoso.com",
     "project-phoenix@contoso.com"),
    ("div-engineering@contoso.com", "town-hall@contoso.com"),
    ("dept-finance@contoso.com", "dept-hr@contoso.com", "megan@contoso.com",
     "team-it-servicedesk@contoso.com"),
    ("partners@contoso.com", "team-success-support@contoso.com"),
)


@dataclass(frozen=True, slots=True)
class RouteResult:
    route: str
    connections: int
    requests: int
    seconds: float
    socket_errors: dict[str, int]
    statuses: dict[str, int]
    latency_ms: dict[str, float]

    @property
    def ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("2"))

    @property
    def non_2xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if not s.startswith("2"))

    @property
    def socket_error_count(self) -> int:
        return sum(v for k, v in self.socket_errors.items() if k != "status")


def recipients(entries: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"displayName": e.split("@")[0], "emailAddress": e} for e in entries]


def bodies(route: str) -> list[str]:
    """The JSON bodies a route's requests carry, one a line."""
    out = []
    for k, entries in enumerate(RECIPIENT_SETS):
        if route == "validate":
            # Two messages per set: a send check is keyed by the add-in's message id.
            out += [json.dumps({"recipients": recipients(entries), "subject": f"Load {k}",
                                "message_id": f"load-{k}-{m}"}) for m in range(2)]
        else:
            out.append(json.dumps({"recipients": recipients(entries)}))
    return out


def write_inputs(folder: Path, tokens: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tokens.txt").write_text("\n".join(tokens) + "\n")
    for route in PATHS:
        (folder / f"{route}.txt").write_text("\n".join(bodies(route)) + "\n")


def available() -> bool:
    return Path(WRK).exists() or shutil.which("wrk") is not None


def run(url: str, folder: Path, split: dict[str, tuple[int, int]], seconds: int,
        during: Callable[[], Any] | None = None) -> dict[str, RouteResult]:
    """One wrk per route in `split` (route -> (connections, requests a second; 0 flat out)),
    together for `seconds`; `during` runs meanwhile in this thread (the fault run's kills)."""
    wrk = WRK if Path(WRK).exists() else shutil.which("wrk") or WRK
    procs = {}
    for route, (conns, rate) in split.items():
        procs[route] = subprocess.Popen(
            [wrk, "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "30s", "-s", str(LUA),
             url, "--", PATHS[route], str(folder / "tokens.txt"), str(folder / f"{route}.txt"),
             str(rate)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        if during is not None:
            during()
        outputs = {route: p.communicate(timeout=seconds + 60)[0] for route, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
    return {route: _parse(route, split[route][0], text) for route, text in outputs.items()}


def _parse(route: str, connections: int, output: str) -> RouteResult:
    for line in output.splitlines():
        if line.startswith("ROLLCALL_WRK "):
            d = json.loads(line.removeprefix("ROLLCALL_WRK "))
            return RouteResult(route, connections, d["requests"], d["duration_us"] / 1e6,
                               d["errors"], d["statuses"],
                               {k: v / 1000 for k, v in d["latency_us"].items()})
    raise RuntimeError(f"wrk for {route} printed no result:\n{output}")


def post(url: str, token: str, body: str, timeout_s: float = 30) -> tuple[int, Any]:
    """One request with `token`; (status, JSON answer)."""
    req = urlrequest.Request(url, data=body.encode(), method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urlrequest.urlopen(req, timeout=timeout_s) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def get(url: str, token: str, timeout_s: float = 30) -> Any:
    req = urlrequest.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urlrequest.urlopen(req, timeout=timeout_s) as answer:
        return json.loads(answer.read())


def warm(base: str, tokens: list[str], threads: int = 16) -> tuple[int, int]:
    """Every sender counts every recipient set once (lists and their resolutions cached);
    (requests, how many did not answer 200)."""
    jobs = [(t, b) for t in tokens for b in bodies("count")]

    def one(job: tuple[str, str]) -> int:
        try:
            return post(base + PATHS["count"], *job, timeout_s=60)[0]
        except OSError:  # a timeout or a refused connection: said as a failure, not raised
            return 0

    with ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(one, jobs))
    return len(codes), sum(1 for c in codes if c != 200)
