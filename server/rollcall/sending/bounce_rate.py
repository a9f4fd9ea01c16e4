"""When a send's bounce rate says something is wrong with the sending side: pure.

The rate is (refused for good at the relay + bounced) over the copies attempted; policy and
hard bounces both count, since a sending-side problem (a blacklisted relay, missing SPF) shows
as either. Below the warning it is list hygiene; past the stop figure, once enough copies were
tried for the figure to mean something, the send pauses itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .model import State, bounce_rate
from .settings import SendSettings

PAUSED_BY = "rollcall"  # who a self-paused send names; its sender may resume it


@dataclass(frozen=True, slots=True)
class BounceLimits:
    warn_percent: float = 10.0
    stop_percent: float = 20.0
    min_sample: int = 50


@dataclass(frozen=True, slots=True)
class BounceVerdict:
    level: str  # ok | warning | stop
    rate: float | None
    words: str | None


def limits(settings: SendSettings) -> BounceLimits:
    return BounceLimits(settings.bounce_warn_percent, settings.bounce_stop_percent,
                        settings.bounce_min_sample)


def judge(counts: Mapping[str, int], limits: BounceLimits) -> BounceVerdict:
    """What a send's counts say about its bounce rate."""
    rate = bounce_rate(counts)
    if rate is None:
        return BounceVerdict("ok", None, None)
    attempted = sum(counts.get(s.value, 0) for s in (State.SENT, State.FAILED, State.BOUNCED))
    shown = f"{rate:.0%}"
    if attempted >= limits.min_sample and rate * 100 > limits.stop_percent:
        return BounceVerdict("stop", rate, (
            f"bounce rate {shown} is over {limits.stop_percent:g}%: check the relay's "
            "reputation (blacklists) and the list"))
    if rate * 100 >= limits.warn_percent:
        sample = "" if attempted >= limits.min_sample else (
            f" (of the first {attempted} tried; the send pauses itself over "
            f"{limits.stop_percent:g}% once {limits.min_sample} are)")
        return BounceVerdict("warning", rate, (
            f"bounce rate {shown} is at or over {limits.warn_percent:g}%{sample}: below "
            f"{limits.stop_percent:g}% it is usually the list (bad addresses), above it the "
            "sending side"))
    return BounceVerdict("ok", rate, None)
