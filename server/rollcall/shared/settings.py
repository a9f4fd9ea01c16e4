"""The configuration's `shared` section: where the processes meet (Redis), and for how long a
resolved name is reused."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SharedSettings:
    redis_url: str | None = None  # redis://host:6379/0 (rediss:// for TLS); None: in-process
    resolve_ttl_s: float = 120.0  # a name or address resolved for a mailbox is reused this long
