"""Count history: each count's total and address set, zlib-compressed, under a caller's key.

Each line is an address, then (after a tab) the list path that held it in that count, so that
the next count can say through which list people left; lines kept before paths were have none.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from rollcall.errors import BadRequest
from rollcall.store.models import SnapshotRow
from rollcall.store.queries import utcnow
from rollcall.store.records import Snapshot, SnapshotInfo

_TABLE = SnapshotRow.metadata.tables[SnapshotRow.__tablename__]
LONG_KEY = 512  # characters; a longer key (hundreds of entries) is kept as its digest


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def stored_key(key: str) -> str:
    """What is kept of a count's key: itself, or for a long one its digest. A count of 2,000
    pasted entries would otherwise store its whole text with every count."""
    return key if len(key) <= LONG_KEY else "sha256:" + key_hash(key)


def purge(s: Session, before: datetime) -> int:
    """Delete the counts taken before `before`; how many went."""
    result = s.execute(delete(SnapshotRow).where(SnapshotRow.at < before))
    return int(getattr(result, "rowcount", 0) or 0)


def pack(addresses: Iterable[str],
         holders: Mapping[str, str] | None = None) -> tuple[bytes, int]:
    """Sorted, de-duplicated, newline-joined and compressed, each address with its list path
    from `holders`; raises BadRequest on a line break or tab in an address."""
    unique = sorted({a.strip() for a in addresses} - {""})
    if any("\n" in a or "\r" in a or "\t" in a for a in unique):
        raise BadRequest("an address in a snapshot contains a line break", code="bad_address")
    holders = holders or {}
    lines = [a if not holders.get(a) else f"{a}\t{' '.join(holders[a].split())}"
             for a in unique]
    return zlib.compress("\n".join(lines).encode("utf-8"), 6), len(unique)


def unpack_lines(blob: bytes) -> dict[str, str]:
    """Address -> the list path that held it ('' where none was kept)."""
    text = zlib.decompress(blob).decode("utf-8")
    if not text:
        return {}
    out: dict[str, str] = {}
    for line in text.split("\n"):
        address, _, holder = line.partition("\t")
        out[address] = holder
    return out


def unpack(blob: bytes) -> frozenset[str]:
    return frozenset(unpack_lines(blob))


def save(s: Connection, key: str, total: int, blob: bytes, size: int) -> SnapshotInfo:
    """Insert one snapshot (on a bare connection: every send check keeps one)."""
    key = stored_key(key)
    at = utcnow()
    row_id = s.execute(insert(_TABLE).returning(_TABLE.c.id),
                       {"key": key, "key_hash": key_hash(key), "at": at, "total": total,
                        "size": size, "stored_bytes": len(blob), "addresses": blob}).scalar_one()
    return SnapshotInfo(row_id, key, at, total, size, len(blob))


def latest(s: Connection, key: str) -> Snapshot | None:
    """The newest snapshot for `key` with its addresses, or None."""
    key = stored_key(key)
    t = _TABLE.c
    # The hash finds the rows through the index; comparing the key too rules out collisions.
    query = (
        select(t.id, t.key, t.at, t.total, t.size, t.stored_bytes, t.addresses)
        .where(t.key_hash == key_hash(key), t.key == key)
        .order_by(t.id.desc())  # insertion order, whatever the clocks did
        .limit(1)
    )
    row = s.execute(query).first()
    if row is None:
        return None
    lines = unpack_lines(row.addresses)
    return Snapshot(row.id, row.key, row.at, row.total, row.size, row.stored_bytes,
                    frozenset(lines), {a: h for a, h in lines.items() if h})


def history(s: Session, key: str, limit: int) -> list[SnapshotInfo]:
    """Snapshots for `key`, newest first; the address blobs are not loaded."""
    key = stored_key(key)
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
        lines = unpack_lines(row.addresses)
        hits = {a for a in lines if a.lower() == key}
        if hits:
            holder = next((lines[a] for a in sorted(hits) if lines[a]), "")
            kept = {a: h for a, h in lines.items() if a not in hits}
            kept[alias] = holder
            row.addresses, row.size = pack(kept, kept)
            row.stored_bytes = len(row.addresses)
            s.flush()
        s.expunge(row)
