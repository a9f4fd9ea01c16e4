"""The benchmarks' result table: a heading, then label, figure and note per row."""

from __future__ import annotations


def print_table(heading: str, rows: list[tuple[str, str, str]], rule: int = 40) -> None:
    width = max(len(a) for a, _, _ in rows)
    vwidth = max(len(b) for _, b, _ in rows)
    print()
    print(heading)
    print("-" * (width + vwidth + rule))
    for a, b, c in rows:
        print(f"{a:<{width}}  {b:>{vwidth}}  {c}")
    print("-" * (width + vwidth + rule))
