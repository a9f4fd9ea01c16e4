"""The sender's hourly window as the policy reads it: people reached in the last hour and when
each send drops out. The rows themselves are kept by the store (store/send_checks.py), so the
window survives restarts and every process sees the same one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rollcall.core.policy import HourlyUsage

WINDOW_S = 3600.0  # the per-sender limit is per hour, sliding


def usage(earlier: tuple[Any, ...], now: datetime, window_s: float = WINDOW_S) -> HourlyUsage:
    """A sender's window as the policy reads it: the total, and when each send drops out."""
    leaving = tuple(((s.at + timedelta(seconds=window_s) - now).total_seconds(), s.recipients)
                    for s in earlier)
    return HourlyUsage(sum(s.recipients for s in earlier), leaving)
