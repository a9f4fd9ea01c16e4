"""How the HTTP side behaves (the configuration's `server` section)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSettings:
    public_url: str | None = None  # the origin the pane is served from; None: the request's
    frame_ancestors: tuple[str, ...] = ()  # who may frame the pane; () means Outlook's hosts
    addin_dir: str | None = None  # the pane's files; None: addin/ in the checkout
    rate_limit_per_minute: int = 60  # count/validate/warm-up per caller a minute; 0 is off
    rate_limit_burst: int = 20  # requests a caller may make at once before the limit
