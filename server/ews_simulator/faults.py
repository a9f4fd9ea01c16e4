"""Fault specs as people type them: `drop`, `busy=3`, `503`, `slow`, `latency_ms=800`, ...

A spec is comma-separated items, each a short name or one of Faults' own settings:

    drop[=N]    every Nth request (default every one): the connection closes without an answer
    busy[=N]    every Nth request: ErrorServerBusy (BackOffMilliseconds from back_off_ms)
    503[=N]     every Nth request: HTTP 503 (Retry-After from retry_after_s)
    slow[=MS]   every answer MS milliseconds late (default: the server's `slow_ms`, which the
                demo sets past a count's deadline)
    off         nothing (all faults off)
    latency_ms=, jitter_ms=, max_concurrent=, busy_every=, back_off_ms=, http503_every=,
    retry_after_s=, drop_every=   as in the organisation file's `faults` (dashes also work)
"""

from __future__ import annotations

from dataclasses import fields

from .org import Faults

DEFAULT_SLOW_MS = 25_000.0  # past Rollcall's default count deadline (20 s), within its timeout
SHORT = {"drop": "drop_every", "busy": "busy_every", "503": "http503_every", "slow": "latency_ms"}
_TYPES = {f.name: float if f.name.endswith("_ms") and f.name != "back_off_ms" else int
          for f in fields(Faults)}


class FaultSpecError(ValueError):
    """A fault spec that does not parse; the message names the item and what is known."""


def parse_faults(spec: str, slow_ms: float = DEFAULT_SLOW_MS) -> dict[str, float | int]:
    """The Faults settings a spec names (only those; `off` or "" names none)."""
    changes: dict[str, float | int] = {}
    for item in spec.replace(" ", ",").split(","):
        item = item.strip()
        if not item or item.lower() in ("off", "none"):
            continue
        word, has_value, text = item.partition("=")
        word = word.strip().lower().lstrip("-").replace("-", "_")
        field = SHORT.get(word, word)
        if field not in _TYPES:
            known = ", ".join([*SHORT, "off", *_TYPES])
            raise FaultSpecError(f"{item!r}: unknown fault; known: {known}")
        if not has_value and word not in SHORT:
            raise FaultSpecError(f"{item!r}: {field} needs a value, like {field}=3")
        default = slow_ms if word == "slow" else 1
        try:
            value = _TYPES[field](text.strip()) if has_value else _TYPES[field](default)
        except ValueError:
            raise FaultSpecError(f"{item!r}: {text!r} is not a number") from None
        least = 1 if field.endswith("_every") or field == "max_concurrent" else 0
        if value < least:
            raise FaultSpecError(f"{item!r}: must be {least} or more")
        changes[field] = value
    return changes


def describe(faults: Faults) -> str:
    """The faults switched on, as a spec parse_faults reads back ("off" when none)."""
    off = Faults()
    on = [f"{f.name}={getattr(faults, f.name):g}" for f in fields(Faults)
          if getattr(faults, f.name) != getattr(off, f.name)]
    return ",".join(on) or "off"
