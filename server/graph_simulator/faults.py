"""Injected misbehaviour for the Graph simulator, and fault specs as people type them.

A spec is comma-separated items (spaces work too):

    latency=MS        every request MS milliseconds late
    throttle=N        every Nth Graph request: 429 TooManyRequests with Retry-After
    retry_after=S     the Retry-After of those 429s (and of the 503s); default 1
    http503=N         every Nth Graph request: 503 with Retry-After
    batch_throttle=N  every Nth item inside a $batch: a 429 item with Retry-After
    slow_page=MS      extra delay on a request that carries $skiptoken (a later page)
    expire            tokens issued before the moment it is switched on are refused as expired
    deny=P+P          permissions treated as not granted (e.g. deny=User.Read.All+Mail.Read)
    off               nothing
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True, slots=True)
class GraphFaults:
    """What the simulator does wrong on purpose; all off by default."""

    latency: float = 0.0  # milliseconds, every request
    throttle: int | None = None  # every Nth Graph request answered 429
    retry_after: int = 1  # seconds, on 429s and 503s
    http503: int | None = None  # every Nth Graph request answered 503
    batch_throttle: int | None = None  # every Nth $batch item answered 429
    slow_page: float = 0.0  # milliseconds more for a request carrying $skiptoken
    expire: bool = False  # tokens issued before it was switched on are expired
    deny: tuple[str, ...] = ()  # permissions treated as not granted

    def __post_init__(self) -> None:
        # `deny` may be given as "A+B" (a spec's way) as well as a sequence.
        deny: Any = self.deny
        if isinstance(deny, str):
            deny = [p for p in deny.split("+") if p.strip()]
        object.__setattr__(self, "deny", tuple(str(p).strip() for p in deny))

    def with_changes(self, **changes: Any) -> GraphFaults:
        """A copy with some settings changed; TypeError naming an unknown one."""
        unknown = set(changes) - {f.name for f in fields(GraphFaults)}
        if unknown:
            raise TypeError(f"unknown fault setting(s) {sorted(unknown)}; known: {_known()}")
        return replace(self, **changes)


class FaultSpecError(ValueError):
    """A fault spec that does not parse; the message names the item and what is known."""


_COUNTS = ("throttle", "http503", "batch_throttle")  # every Nth: 1 or more
_MILLISECONDS = ("latency", "slow_page")


def _known() -> str:
    return ", ".join(["off", *(f.name for f in fields(GraphFaults))])


def parse_faults(spec: str) -> GraphFaults:
    """The faults a spec names, everything else off; FaultSpecError naming a bad item."""
    changes: dict[str, Any] = {}
    for item in spec.replace(" ", ",").split(","):
        item = item.strip()
        if not item or item.lower() in ("off", "none"):
            continue
        word, has_value, text = item.partition("=")
        name = word.strip().lower().lstrip("-").replace("-", "_")
        text = text.strip()
        if name == "expire":
            if has_value and text.lower() not in ("1", "0", "true", "false", "on", "off"):
                raise FaultSpecError(f"{item!r}: expire takes no value (or true/false)")
            changes[name] = not has_value or text.lower() in ("1", "true", "on")
            continue
        if name == "deny":
            if not text:
                raise FaultSpecError(f"{item!r}: name permissions, like deny=Mail.Read+Mail.Send")
            changes[name] = tuple(p for p in text.split("+") if p)
            continue
        if name not in {f.name for f in fields(GraphFaults)}:
            raise FaultSpecError(f"{item!r}: unknown fault; known: {_known()}")
        if not has_value:
            raise FaultSpecError(f"{item!r}: {name} needs a value, like {name}=3")
        try:
            value: float = float(text) if name in _MILLISECONDS else int(text)
        except ValueError:
            raise FaultSpecError(f"{item!r}: {text!r} is not a number") from None
        least = 1 if name in _COUNTS else 0
        if value < least:
            raise FaultSpecError(f"{item!r}: must be {least} or more")
        changes[name] = value
    return GraphFaults(**changes)


def describe(faults: GraphFaults) -> str:
    """The faults switched on, as a spec parse_faults reads back ("off" when none)."""
    off = GraphFaults()
    on = []
    for f in fields(GraphFaults):
        value = getattr(faults, f.name)
        if value == getattr(off, f.name):
            continue
        if f.name == "expire":
            on.append("expire")
        elif f.name == "deny":
            on.append("deny=" + "+".join(value))
        else:
            on.append(f"{f.name}={value:g}")
    return ",".join(on) or "off"
