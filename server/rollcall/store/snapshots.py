"""Count history: each count's total and address set, zlib-compressed, under a caller's key."""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.errors import BadRequest
from rollcall.store.models import SnapshotRow
from rollcall.store.queries import utcnow
from rollcall.store.records import Snapshot, SnapshotInfo


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def pack(addresses: Iterable[str]) -> tuple[bytes, int]:
    """Sorted, de-duplicated, newline-joined and compressed; raises BadRequest on a newline."""
    unique = sorted({a.strip() for a in addresses} - {""})
    if any("\n" in a or "\r" in a for a in unique):
        raise BadRequest("an address in a snapshot contains a line break", code="bad_address")
    return zlib.compress("\n".join(unique).encode("utf-8"), 6), len(unique)


def unpack(blob: bytes) -> frozenset[str]:
    text = zlib.decompress(blob).decode("utf-8")
    return frozenset(text.split("\n")) if text else frozenset()


def _info(row: SnapshotRow) -> SnapshotInfo:
    return SnapshotInfo(row.id, row.key, row.at, row.total, row.size, row.stored_bytes)


def save(s: Session, key: str, total: int, blob: bytes, size: int) -> SnapshotInfo:
    """Insert one snapshot."""
    row = SnapshotRow(
        key=key,
        key_hash=key_hash(key),
        at=utcnow(),
        total=total,
        size=size,
        stored_bytes=len(blob),
        addresses=blob,
    )
    s.add(row)
    s.flush()
    return _info(row)


def latest(s: Session, key: str) -> Snapshot | None:
    """The newest snapshot for `key` with its addresses, or None."""
    # The hash finds the rows through the index; comparing the key too rules out collisions.
    query = (
        select(SnapshotRow)
        .where(SnapshotRow.key_hash == key_hash(key), SnapshotRow.key == key)
        .order_by(SnapshotRow.id.desc())  # insertion order, whatever the clocks did
        .limit(1)
    )
    row = s.scalars(query).first()
    if row is None:
        return None
    return Snapshot(
        row.id, row.key, row.at, row.total, row.size, row.stored_bytes, unpack(row.addresses)
    )


def history(s: Session, key: str, limit: int) -> list[SnapshotInfo]:
    """Snapshots for `key`, newest first; the address blobs are not loaded."""
    query = (
        select(
            SnapshotRow.id,
            SnapshotRow.key,
            SnapshotRow.at,
            SnapshotRow.total,
            SnapshotRow.size,
            SnapshotRow.stored_bytes,
        )
        .where(SnapshotRow.key_hash == key_hash(key), SnapshotRow.key == key)
        .order_by(SnapshotRow.id.desc())  # insertion order, whatever the clocks did
        .limit(max(limit, 0))
    )
    return [SnapshotInfo(*row) for row in s.execute(query)]


def replace_address(s: Session, key: str, alias: str) -> None:
    """Rewrite every snapshot holding the address `key` (case-insensitively) with `alias`."""
    ids = s.scalars(select(SnapshotRow.id)).all()
    for snapshot_id in ids:  # one blob in memory at a time: snapshots can be large
        row = s.get(SnapshotRow, snapshot_id, with_for_update=True)
        if row is None:
            continue
        addresses = unpack(row.addresses)
        hits = {a for a in addresses if a.lower() == key}
        if hits:
            row.addresses, row.size = pack((addresses - hits) | {alias})
            row.stored_bytes = len(row.addresses)
            s.flush()
        s.expunge(row)
