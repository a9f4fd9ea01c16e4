"""Counting a message's recipients: the concurrent fetch through a Directory port, then a report.

Public surface: `Counter(directory, settings, cache, clock).count(CountRequest) -> dict`,
`Settings`, `ExpansionCache` (keep one across counts) and `retry_delay` (the back-off rule).
"""

from .cache import ExpansionCache
from .engine import Counter, Settings, retry_delay

__all__ = ["Counter", "ExpansionCache", "Settings", "retry_delay"]
