"""Small helpers shared by the counting tests."""

from __future__ import annotations

from typing import Any

from rollcall.core.model import CountRequest, Entry, Recipient
from rollcall.counting import Counter, ExpansionCache, Settings

from .fakes import FakeDirectory


def recipient(item: Entry | str) -> Recipient:
    if isinstance(item, str):
        return Recipient(item)
    return Recipient(item.name, item.address)


def count(
    directory: FakeDirectory,
    *recipients: Entry | str,
    settings: Settings | None = None,
    cache: ExpansionCache | None = None,
    expected: int | None = None,
    refresh: bool = False,
) -> dict[str, Any]:
    counter = Counter(directory, settings or Settings(), cache)
    request = CountRequest([recipient(r) for r in recipients], expected=expected, refresh=refresh)
    return counter.count(request).to_json()  # the report as the contract spells it


def codes(report: dict[str, Any]) -> list[str]:
    return [finding["code"] for finding in report["findings"]]


def the(report: dict[str, Any], code: str) -> dict[str, Any]:
    """The one finding with `code` (fails the test if there is not exactly one)."""
    found = [finding for finding in report["findings"] if finding["code"] == code]
    assert len(found) == 1, f"expected one {code!r} finding, got {report['findings']}"
    return found[0]


def node(report: dict[str, Any], *names: str) -> dict[str, Any]:
    """The tree node reached by following list names from the roots."""
    level = report["tree"]
    current: dict[str, Any] = {}
    for name in names:
        matches = [n for n in level if n["name"] == name]
        assert matches, f"no node {name!r} among {[n['name'] for n in level]}"
        current = matches[0]
        level = current["children"]
    return current


def assert_identity(report: dict[str, Any]) -> None:
    assert report["entries"] == (
        report["total"] + report["duplicates"] + report["undeliverable"]
        + report["not_looked_up"]
    ), report
