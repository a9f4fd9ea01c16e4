"""Rollcall's own lists, contacts, audit trail and count snapshots, in SQLite or PostgreSQL.

Folder rule: SQLAlchemy models, Alembic migrations and repositories live here and nowhere else.
Everything public returns Rollcall's own frozen dataclasses (`records`), never ORM objects, and
every public `ListStore` method is one transaction. Nothing connects at import time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rollcall.lazy import lazy_exports

if TYPE_CHECKING:
    from rollcall.store.db import open_store
    from rollcall.store.errors import (
        AlreadyExists,
        ContactDeleted,
        ContactNotFound,
        ImportRejected,
        InvalidAddress,
        ListNotFound,
        MemberNotFound,
        NothingToRestore,
    )
    from rollcall.store.records import (
        AuditInfo,
        ImportReport,
        LineProblem,
        ListInfo,
        ListMembers,
        MemberInfo,
        RemovalInfo,
        Snapshot,
        SnapshotInfo,
    )
    from rollcall.store.repository import LIST_PREFIX, ListStore

# Loaded on first use (PEP 562): reading the configuration imports this package's settings, and
# must not pay for what the rest of it imports.
_EXPORTS = {
    "AlreadyExists": "rollcall.store.errors",
    "AuditInfo": "rollcall.store.records",
    "ContactDeleted": "rollcall.store.errors",
    "ContactNotFound": "rollcall.store.errors",
    "ImportRejected": "rollcall.store.errors",
    "ImportReport": "rollcall.store.records",
    "InvalidAddress": "rollcall.store.errors",
    "LIST_PREFIX": "rollcall.store.repository",
    "LineProblem": "rollcall.store.records",
    "ListInfo": "rollcall.store.records",
    "ListMembers": "rollcall.store.records",
    "ListNotFound": "rollcall.store.errors",
    "ListStore": "rollcall.store.repository",
    "MemberInfo": "rollcall.store.records",
    "MemberNotFound": "rollcall.store.errors",
    "NothingToRestore": "rollcall.store.errors",
    "RemovalInfo": "rollcall.store.records",
    "Snapshot": "rollcall.store.records",
    "SnapshotInfo": "rollcall.store.records",
    "open_store": "rollcall.store.db",
}

__getattr__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "LIST_PREFIX",
    "AlreadyExists",
    "AuditInfo",
    "ContactDeleted",
    "ContactNotFound",
    "ImportRejected",
    "ImportReport",
    "InvalidAddress",
    "LineProblem",
    "ListInfo",
    "ListMembers",
    "ListNotFound",
    "ListStore",
    "MemberInfo",
    "MemberNotFound",
    "NothingToRestore",
    "RemovalInfo",
    "Snapshot",
    "SnapshotInfo",
    "open_store",
]
