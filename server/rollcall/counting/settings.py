"""How counts behave: the configuration's `count` section."""

from __future__ import annotations

from dataclasses import dataclass

# Exchange's default throttling policy lets one user have 27 EWS requests in flight
# (EWSMaxConcurrency); staying under it leaves room for the sender's own Outlook.
MOST_IN_FLIGHT = 26


@dataclass(frozen=True, slots=True)
class Settings:
    """How counts behave (the configuration's `count` section, ROLLCALL_CONCURRENCY and the
    rest); the defaults suit an Exchange server under ordinary load."""

    mailbox: str | None = None  # whom a count acts as when the caller names nobody
    max_entries: int = 2000  # most To/Cc/Bcc entries one count may carry
    concurrency: int = 8  # directory calls in flight when a count starts
    max_concurrency: int = 24  # the most it grows to while the directory keeps up
    deadline_s: float = 20.0  # a count answers by then, complete or not
    cache_ttl_s: float = 900.0  # how long an expansion may be served from the cache
    max_nesting: int = 3  # lists deeper than this get a `nested_too_deep` finding
    internal_domains: tuple[str, ...] = ()  # empty: no `external` finding

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {self.concurrency}")
        if not self.concurrency <= self.max_concurrency <= MOST_IN_FLIGHT:
            raise ValueError(
                f"max_concurrency (ROLLCALL_MAX_CONCURRENCY) must be from concurrency "
                f"(ROLLCALL_CONCURRENCY, {self.concurrency}) to {MOST_IN_FLIGHT}, under "
                f"Exchange's default EWSMaxConcurrency of 27; not {self.max_concurrency}")
        if self.deadline_s <= 0:
            raise ValueError(f"deadline_s must be positive, not {self.deadline_s}")
        if self.cache_ttl_s < 0:
            raise ValueError(f"cache_ttl_s must not be negative, not {self.cache_ttl_s}")
        if self.max_nesting < 1:
            raise ValueError(f"max_nesting must be at least 1, not {self.max_nesting}")
