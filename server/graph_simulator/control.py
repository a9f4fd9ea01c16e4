"""The simulator's own routes under /_simulator: counters (GET, DELETE) from anywhere, faults
(GET, PUT a spec, DELETE) from this machine only, so a demo can be disturbed while it runs."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict
from typing import Protocol

from .faults import GraphFaults, describe
from .wire import JSON, Request, Response, json_response


class Controlled(Protocol):
    faults: GraphFaults

    def snapshot(self) -> dict[str, int]: ...
    def reset_counters(self) -> None: ...
    def apply_faults(self, spec: str) -> str: ...


def answer(sim: Controlled, request: Request, path: list[str], client_host: str) -> Response:
    """`path` follows /_simulator; 404 for anything else (and for faults from elsewhere)."""
    if path == ["counters"] and request.method == "GET":
        return json_response(sim.snapshot(), content_type=JSON)
    if path == ["counters"] and request.method == "DELETE":
        sim.reset_counters()
        return Response(204)
    if path != ["faults"] or not _loopback(client_host):
        return Response(404, b"", "text/plain")
    try:
        if request.method == "PUT":
            sim.apply_faults(request.body.decode("utf-8", "replace"))
        elif request.method == "DELETE":
            sim.apply_faults("off")
        elif request.method != "GET":
            return Response(405, b"", "text/plain")
    except ValueError as e:
        return json_response({"error": str(e)}, 400, JSON)
    settings = asdict(sim.faults)
    settings["deny"] = list(sim.faults.deny)
    return json_response({"faults": describe(sim.faults), "settings": settings},
                         content_type=JSON)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.removeprefix("::ffff:")).is_loopback
    except ValueError:
        return False
