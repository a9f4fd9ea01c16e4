"""Migrations: a database made at the first revision, with data, upgrades intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from rollcall.store import open_store
from rollcall.store.db import alembic_config, make_engine, upgrade
from rollcall.store.models import Base

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def _insert_first_revision_rows(url: str) -> None:
    """Rows as revision 0001 knew them, written with plain SQL (not today's models)."""
    engine = make_engine(url)
    upgrade(engine, "0001")
    sqlite = engine.dialect.name == "sqlite"
    at = AT.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else AT
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO contacts (id, email, email_key, name, attributes, opted_out,"
                " tracking_purged, created_at) VALUES"
                " (1, 'Ann@fabrikam.com', 'ann@fabrikam.com', 'Ann', :attrs, false, false, :at),"
                " (2, 'bob@fabrikam.com', 'bob@fabrikam.com', 'Bob', '{}', true, false, :at)"
            ),
            {"attrs": json.dumps({"dept": "Sales"}), "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO lists (id, name, name_key, owner, expected, created_at)"
                " VALUES (1, 'Old List', 'old list', 'megan@contoso.com', 3, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, actor, action, contact_id, contact_email,"
                " list_names, all_lists, detail) VALUES"
                " (1, :at, 'cli:isaiah', 'contact.removed_from_list', 2, 'bob@fabrikam.com',"
                " '[\"Old List\"]', false, '{}')"
            ),
            {"at": at},
        )
        conn.execute(text("INSERT INTO audit_event_lists (event_id, list_id) VALUES (1, 1)"))
        conn.execute(
            text(
                "INSERT INTO memberships (id, list_id, contact_id, exchange_address, exchange_key,"
                " added_at, added_by, removed_at, removed_by, removal_event_id) VALUES"
                " (1, 1, 1, NULL, NULL, :at, 'megan@contoso.com', NULL, NULL, NULL),"
                " (2, 1, NULL, 'DL@contoso.com', 'dl@contoso.com', :at, 'megan@contoso.com',"
                "  NULL, NULL, NULL),"
                " (3, 1, 2, NULL, NULL, :at, 'megan@contoso.com', :at, 'cli:isaiah', 1)"
            ),
            {"at": at},
        )
        if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
            for table in ("contacts", "lists", "audit_events", "memberships"):
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)")
                )
    engine.dispose()


def test_upgrade_from_the_first_revision_keeps_the_data(db_url: str, tmp_path: Path) -> None:
    _insert_first_revision_rows(db_url)
    store = open_store(db_url, str(tmp_path))
    try:
        info = store.get_list("list:old list")
        assert (info.name, info.owner, info.expected, info.created_at) == (
            "Old List", "megan@contoso.com", 3, AT,
        )
        members = store.members("Old List")
        assert [(m.kind, m.address, m.name, m.opted_out) for m in members.active] == [
            ("contact", "Ann@fabrikam.com", "Ann", False),
            ("exchange", "DL@contoso.com", "", False),
        ]
        (removal,) = members.removed
        assert (removal.address, removal.removed_by, removal.removed_at, removal.tracking) == (
            "bob@fabrikam.com", "cli:isaiah", AT, "kept",
        )
        (event,) = store.audit(email="bob@fabrikam.com")
        assert (event.tracking, event.lists, event.at) == ("kept", ("Old List",), AT)
        assert store.export_csv("Old List").splitlines()[1] == "Ann@fabrikam.com,Ann,false,Sales"
        # The new revision's parts work on the old data.
        store.save_snapshot("list:Old List", 2, ["ann@fabrikam.com"])
        assert store.history("list:Old List")[0].total == 2
        store.add_contact("Old List", "carl@fabrikam.com", "cli:megan")
        store.restore_contact("bob@fabrikam.com", "cli:megan")
        assert len(store.members("Old List").active) == 4
    finally:
        store.close()


def test_the_models_match_the_migrations(db_url: str, tmp_path: Path) -> None:
    store = open_store(db_url, str(tmp_path))
    try:
        with store.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == _head()
    finally:
        store.close()


def test_opening_twice_is_a_no_op_and_the_head_is_recorded(db_url: str, tmp_path: Path) -> None:
    open_store(db_url, str(tmp_path)).close()
    store = open_store(db_url, str(tmp_path))
    try:
        tables = set(inspect(store.engine).get_table_names())
        assert {"contacts", "lists", "memberships", "audit_events", "snapshots"} <= tables
        with store.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == _head()
    finally:
        store.close()


def test_default_is_a_sqlite_file_in_the_instance_folder(tmp_path: Path) -> None:
    instance = tmp_path / "not" / "yet" / "there"
    store = open_store(None, str(instance))
    try:
        assert (instance / "rollcall.db").exists()
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        store.close()


def _head() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
