"""Count history: snapshots keep each count's total and address set, compressed."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from rollcall.errors import BadRequest
from rollcall.store import ListStore


def test_no_snapshot_yet_is_none(store: ListStore) -> None:
    assert store.previous_snapshot("list:A") is None
    assert store.history("list:A") == []


def test_previous_snapshot_is_the_latest_for_that_key(store: ListStore) -> None:
    store.save_snapshot("list:A", 2, ["ann@fabrikam.com", "bob@fabrikam.com"])
    store.save_snapshot("other", 1, ["zed@fabrikam.com"])
    second = store.save_snapshot("list:A", 1, ["ann@fabrikam.com", "ann@fabrikam.com", ""])
    latest = store.previous_snapshot("list:A")
    assert latest is not None
    assert (latest.id, latest.total, latest.size, latest.addresses) == (
        second.id, 1, 1, frozenset({"ann@fabrikam.com"}),
    )
    assert latest.at == second.at and latest.at.tzinfo is not None


def test_history_is_newest_first_and_limited(store: ListStore) -> None:
    saved = [store.save_snapshot("k", n, [f"u{n}@contoso.com"]) for n in range(5)]
    history = store.history("k", limit=3)
    assert [h.total for h in history] == [4, 3, 2]
    assert history[0] == saved[-1]
    assert [h.at for h in history] == sorted((h.at for h in history), reverse=True)


def test_long_keys_are_kept_apart(store: ListStore) -> None:
    base = "list:A|" + "x" * 5000
    store.save_snapshot(base + "1", 1, ["a@contoso.com"])
    store.save_snapshot(base + "2", 2, ["b@contoso.com"])
    first = store.previous_snapshot(base + "1")
    assert first is not None and first.addresses == {"a@contoso.com"}


def test_an_empty_count_round_trips(store: ListStore) -> None:
    store.save_snapshot("empty", 0, [])
    snapshot = store.previous_snapshot("empty")
    assert snapshot is not None and (snapshot.total, snapshot.size, snapshot.addresses) == (
        0, 0, frozenset(),
    )


def test_an_address_with_a_line_break_is_refused(store: ListStore) -> None:
    with pytest.raises(BadRequest):
        store.save_snapshot("k", 1, ["a@contoso.com\nb@contoso.com"])


def test_100k_addresses_compress_and_round_trip(store: ListStore) -> None:
    addresses = {f"user{n:06d}.{n % 97}@contoso.com" for n in range(100_000)}
    info = store.save_snapshot("allstaff@contoso.com", 100_000, addresses)
    raw = sum(len(a) + 1 for a in addresses)
    assert info.size == 100_000 and info.stored_bytes < raw / 4
    snapshot = store.previous_snapshot("allstaff@contoso.com")
    assert snapshot is not None and snapshot.addresses == addresses
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT length(addresses) FROM snapshots")).scalar()
    assert stored == info.stored_bytes


def test_a_long_key_is_kept_as_its_digest(store) -> None:
    key = "\n".join(f"person{i}@contoso.com" for i in range(2000))  # 2,000 pasted entries
    info = store.save_snapshot(key, 1, ["a@contoso.com"])
    assert info.key.startswith("sha256:") and len(info.key) < 100
    assert store.previous_snapshot(key).addresses == frozenset({"a@contoso.com"})


def test_counts_older_than_the_retention_are_purged(store) -> None:
    from datetime import UTC, datetime, timedelta

    store.save_snapshot("k", 1, ["a@contoso.com"])
    assert store.purge_snapshots(datetime.now(UTC) - timedelta(days=90)) == 0
    assert store.purge_snapshots(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert store.previous_snapshot("k") is None
