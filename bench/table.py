"""The benchmarks' result table: a heading, then label, figure and note per row."""

from __future__ import annotations


def aim(ok: bool) -> str:
    return "met" if ok else "MISSED"


def requests_seen(snapshot: dict[str, int]) -> str:
    """The simulator's request counters in a few words: the sum, then per operation."""
    ops = ", ".join(f"{k} {v}" for k, v in sorted(snapshot.items()))
    return f"{sum(snapshot.values())} ({ops})"


def print_table(heading: str, rows: list[tuple[str, str, str]], rule: int = 40) -> None:
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    print()
    print(heading)
    print("-" * (width + vwidth + rule))
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>{vwidth}}  {c}")
    print("-" * (width + vwidth + rule))
