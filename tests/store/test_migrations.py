"""Migrations: a database made at the first revision, with data, upgrades intact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from rollcall.store import open_store
from rollcall.store.access import Principal
from rollcall.store.db import alembic_config, make_engine, upgrade
from rollcall.store.models import Base

AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)


def _insert_first_revision_rows(url: str) -> None:
    """Rows as revision 0001 knew them, written with plain SQL (not today's models)."""
    engine, sqlite, at = _at_revision(url, "0001")
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
            _past_inserted_ids(conn, ("contacts", "lists", "audit_events", "memberships"))
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


def _insert_lists_at_0003(url: str) -> None:
    """Lists as revision 0003 knew them (no shares, owners unchecked), with plain SQL: one made
    by a person (its creation event names her, the owner column says otherwise), one made on
    the command line, one with no creation event."""
    engine, sqlite, at = _at_revision(url, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO lists (id, name, name_key, owner, expected, created_at) VALUES"
                " (1, 'Board', 'board', 'cli:isaiah', NULL, :at),"
                " (2, 'Old', 'old', 'cli:isaiah', NULL, :at),"
                " (3, 'Crew', 'crew', 'Alex@Contoso.com', NULL, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO audit_events (id, at, actor, action, list_names, all_lists,"
                " detail) VALUES"
                " (1, :at, 'Megan@Contoso.com', 'list.created', '[\"Board\"]', false, '{}'),"
                " (2, :at, 'cli:isaiah', 'list.created', '[\"Old\"]', false, '{}'),"
                " (3, :at, 'lee@contoso.com', 'member.added', '[\"Board\"]', false, '{}')"
            ),
            {"at": at},
        )
        conn.execute(text("INSERT INTO audit_event_lists (event_id, list_id) VALUES"
                          " (1, 1), (2, 2), (3, 1)"))
        if not sqlite:
            _past_inserted_ids(conn, ("lists", "audit_events"))
    engine.dispose()


def test_upgrading_gives_each_list_its_creator_as_owner(db_url: str, tmp_path: Path) -> None:
    _insert_lists_at_0003(db_url)
    store = open_store(db_url, str(tmp_path))
    try:
        owners = {info.name: info.owner for info in store.all_lists()}
        assert owners == {"Board": "megan@contoso.com", "Old": "cli:isaiah",
                          "Crew": "alex@contoso.com"}
        megan = Principal.person("megan@contoso.com")
        assert [i.name for i in store.all_lists(who=megan)] == ["Board"]
        assert [i.name for i in store.all_lists(who=Principal.person("alex@contoso.com"))] == [
            "Crew"]
        # Made on the command line: nobody's until an administrator hands it over.
        assert [i.name for i in store.all_lists(who=Principal.person("cli:isaiah"))] == []
        admin = Principal.person("isaiah@contoso.com", admin=True)
        store.hand_over("Old", "lee@contoso.com", "isaiah@contoso.com", who=admin)
        assert store.get_list("Old", who=Principal.person("lee@contoso.com")).owner == \
            "lee@contoso.com"
        store.share("Board", "person", "lee@contoso.com", "viewer", "megan@contoso.com",
                    who=megan)
        assert store.shares("Board", who=megan)[0].principal == "lee@contoso.com"
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


def _past_inserted_ids(conn: Any, tables: tuple[str, ...]) -> None:
    """PostgreSQL: move the tables' id sequences past the ids a test inserted explicitly."""
    for table in tables:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)"))


def _at_revision(url: str, revision: str) -> tuple[Any, bool, Any]:
    """An engine on a database migrated to `revision`, whether it is SQLite, and AT as that
    database's plain SQL takes it."""
    engine = make_engine(url)
    upgrade(engine, revision)
    sqlite = engine.dialect.name == "sqlite"
    return engine, sqlite, AT.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else AT
